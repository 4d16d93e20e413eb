"""Fixtures of the check tests: recorded server states, a live cluster, and the tool's real command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "scripts")]  # the tool's package, as scripts/check.py puts it there

from mysql_cluster_check import Address, Cluster, PodState  # noqa: E402
from mysql_cluster_check.probe import RawState, interpret  # noqa: E402

from tests.support.pods import DEFAULT_PASSWORDS, Pod  # noqa: E402
from tests.support.pods import Cluster as Pods  # noqa: E402

CHECK = REPO / "scripts" / "check.py"
DATA = Path(__file__).parent / "data"
PASSWORD = DEFAULT_PASSWORDS.root  # hostile (quotes, `$HOME`, backslashes) and easy to find in any output
SECRETS = DEFAULT_PASSWORDS.all()


def recorded(name: str) -> list[RawState]:
    """Server states recorded from real mariadbd processes (data/record.sh says how)."""
    states: list[RawState] = json.loads((DATA / f"{name}.json").read_text())
    return states


def recorded_pods(name: str) -> list[PodState]:
    """The recorded servers as pods `mysql-0`, `mysql-1`, ... (ordinal = position in the file)."""
    return [interpret(f"mysql-{i}", i, f"127.0.0.1:{33061 + i}", raw) for i, raw in enumerate(recorded(name))]


def recorded_cluster(pods: int = 2, **overrides: Any) -> Cluster:
    """The cluster the recordings came from: the primary listened on 127.0.0.1:33061."""
    settings: dict[str, Any] = {
        "pods": tuple(f"mysql-{i}" for i in range(pods)),
        "primary_sources": (Address("127.0.0.1", 33061),),
        "pod_addresses": tuple((Address("127.0.0.1", 33061 + i), f"mysql-{i}") for i in range(pods)),
    }
    return Cluster(**(settings | overrides))


@dataclass(frozen=True)
class Run:
    """One run of scripts/check.py."""

    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.stdout)
        return parsed

    def failures(self) -> set[tuple[str, str]]:
        """(pod, check) of every failure in a --json run."""
        return {(f["pod"], f["check"]) for f in self.json["failures"]}


def run_check(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Run:
    """Runs the real command line; asserts that no password of the cluster appears in its output."""
    environ = {k: v for k, v in os.environ.items() if k not in {"MYSQL_ROOT_PASSWORD", "NO_COLOR"}}
    environ |= {"MYSQL_ROOT_PASSWORD": PASSWORD} | (env or {})
    result = subprocess.run(
        [sys.executable, str(CHECK), *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=timeout,
        check=False,
    )
    for secret in SECRETS:
        assert secret not in result.stdout
        assert secret not in result.stderr
    return Run(result.returncode, result.stdout, result.stderr)


class LiveCluster:
    """The shared harness's pods (tests/support/pods.py: the real container scripts, real mariadbd), seen
    the way the check sees them: pod names, `--endpoint` addresses, SQL as root, and a way back to healthy."""

    def __init__(self, pods: Pods) -> None:
        self.harness = pods

    @property
    def pods(self) -> list[str]:
        return [pod.name for pod in self.harness.pods]

    @property
    def endpoints(self) -> dict[str, str]:
        return {pod.name: f"{pod.address[0]}:{pod.address[1]}" for pod in self.harness.pods}

    def pod(self, name: str) -> Pod:
        return next(pod for pod in self.harness.pods if pod.name == name)

    def sql(self, pod: str, statement: str) -> list[tuple[Any, ...]]:
        return self.pod(pod).sql(statement)

    def heal(self) -> None:
        """Undoes what a scenario did: stopped pods, identities, read-only flags, replication threads."""
        for pod in self.harness.pods:
            if pod.server is None or pod.server.poll() is not None:
                pod.stop()
                pod.start(wait=False)
                pod.wait_alive()
            pod.sql(f"SET GLOBAL server_id = {self.harness.server_id_offset + pod.ordinal}")
            pod.sql(f"SET GLOBAL read_only = {'ON' if pod.ordinal else 'OFF'}")
            if pod.ordinal:
                pod.sql(self.harness.flavor.start_replica)
        for pod in self.harness.replicas:
            pod.wait_ready()


@pytest.fixture(scope="session")
def live_cluster() -> Iterator[LiveCluster]:
    """A primary and two replicas, started once for the session."""
    with Pods(name="mysql") as pods:
        pods.start()
        pods.add_replica()
        pods.add_replica()
        yield LiveCluster(pods)


@pytest.fixture
def cluster(live_cluster: LiveCluster) -> Iterator[LiveCluster]:
    """The live cluster, healthy at the start of the test and healed after it."""
    yield live_cluster
    live_cluster.heal()


def endpoint_flags(cluster: LiveCluster) -> list[str]:
    return [f"--endpoint={pod}={address}" for pod, address in cluster.endpoints.items()]
