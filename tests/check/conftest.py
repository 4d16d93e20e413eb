"""Fixtures of the check tests: recorded server states, a live cluster per flavor, and the tool's real
command line."""

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

from mysql_cluster.flavors import Flavor, get_flavor  # noqa: E402
from tests.support.pods import DEFAULT_PASSWORDS, Pod, test_cnf  # noqa: E402
from tests.support.pods import Cluster as Pods  # noqa: E402

CHECK = REPO / "scripts" / "check.py"
DATA = Path(__file__).parent / "data"
PASSWORD = DEFAULT_PASSWORDS.root  # hostile (quotes, `$HOME`, backslashes) and easy to find in any output
SECRETS = DEFAULT_PASSWORDS.all()

MARIADB_10_11 = ("mariadb", "10.11")
LIVE_FLAVORS = {
    "mariadb-10.11": MARIADB_10_11,
    "mysql-9.7": ("mysql", "9.7"),
    "mariadb-11.8": ("mariadb", "11.8"),
}
_chosen = os.environ.get("MYSQL_CLUSTER_CHECK_FLAVORS", "mariadb-10.11,mysql-9.7")
if not set(_chosen.split(",")) <= LIVE_FLAVORS.keys():
    raise ValueError(
        f"MYSQL_CLUSTER_CHECK_FLAVORS={_chosen!r}: a comma-separated list of {', '.join(LIVE_FLAVORS)}"
    )
CHECK_FLAVORS = tuple(
    LIVE_FLAVORS[name] for name in sorted(set(_chosen.split(",")), key=list(LIVE_FLAVORS).index)
)
"""The flavors of the live cluster: MariaDB 10.11 from this host and MySQL 9.7 inside its image's root
filesystem (tests/support/rootfs.py); MYSQL_CLUSTER_CHECK_FLAVORS=mariadb-10.11,mysql-9.7,mariadb-11.8 adds
MariaDB 11.8 (about 25 s more here; it reads like 10.11, and its recorded states are in data/).
One cluster per flavor for the whole session: the tests that use it run grouped by flavor, so one cluster
runs at a time. MariaDB 10.11 comes first (index 0): tests that need a live server but no particular flavor
(test_discovery.py) pin `live_cluster` to it and share its cluster."""


def check_cnf(flavor: Flavor) -> str:
    """The harness's small test configuration, with MySQL's performance_schema ON as in production (the
    server's default): the check reads the errors of MySQL's applier workers from it."""
    if flavor.name == "mysql":
        return test_cnf(flavor).replace("performance_schema = OFF", "performance_schema = ON")
    return test_cnf(flavor)


def flavor_id(param: tuple[str, str]) -> str:
    """Test id of a (name, version) parameter, e.g. mysql-9.7."""
    return "-".join(param)


on_mariadb_10_11 = pytest.mark.parametrize("live_cluster", [MARIADB_10_11], indirect=True, ids=flavor_id)
"""For tests of the tool's own plumbing (kubectl, stack outputs), the same on every flavor: they share the
MariaDB 10.11 cluster (the same parameter index and value as in CHECK_FLAVORS: pytest runs them in its
group)."""


def recorded(name: str) -> list[RawState]:
    """Server states recorded from real servers (data/record.sh and record_states.py say how)."""
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
    """The shared harness's pods (tests/support/pods.py: the real container scripts, real servers), seen
    the way the check sees them: pod names, `--endpoint` addresses, SQL as root, and a way back to healthy."""

    def __init__(self, pods: Pods) -> None:
        self.harness = pods
        self.diverged: set[int] = set()
        """Ordinals of replicas holding a transaction the primary lacks (`mark_diverged`)."""

    @property
    def flavor(self) -> Flavor:
        """The flavor its servers run: statements that differ between flavors come from here."""
        return self.harness.flavor

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

    def mark_diverged(self, name: str) -> None:
        """A replica about to hold a transaction the primary lacks (an errant write). No statement of either
        flavor undoes that; what the check advises does: it is cloned again, on a new volume. Only when
        another test wants the cluster (`reclone_diverged`): pytest runs the errant test last of its flavor,
        so most runs never pay for the clone."""
        self.diverged.add(self.pod(name).ordinal)

    def reclone_diverged(self) -> None:
        """Clones every diverged replica again (new volume, its init containers clone it, then it starts)."""
        for ordinal in sorted(self.diverged):
            self.harness.replace_pod(ordinal).start()
        self.diverged.clear()

    def heal(self) -> None:
        """Undoes what a scenario did: stopped pods, identities, read-only flags, replication threads.
        Diverged replicas are left to `reclone_diverged` (on MariaDB their replication stops at the next
        event from the primary: gtid_strict_mode refuses its sequence number)."""
        for pod in self.harness.pods:
            if pod.ordinal in self.diverged:
                continue
            if pod.server is None or pod.server.poll() is not None:
                pod.stop()
                pod.start(wait=False)
                pod.wait_alive()
            pod.sql(f"SET GLOBAL server_id = {self.harness.server_id_offset + pod.ordinal}")
            # Replicas: read_only, and on MySQL super_read_only (which implies it); the primary: neither.
            pod.sql(self.flavor.enforce_read_only if pod.ordinal else "SET GLOBAL read_only = OFF")
            if pod.ordinal:
                pod.sql(self.flavor.start_replica)
        for pod in self.harness.replicas:
            if pod.ordinal not in self.diverged:
                pod.wait_ready()


@pytest.fixture(scope="session", params=CHECK_FLAVORS, ids=flavor_id)
def live_cluster(request: pytest.FixtureRequest) -> Iterator[LiveCluster]:
    """A primary and two replicas of each flavor of CHECK_FLAVORS, started once for the session."""
    flavor = get_flavor(*request.param)
    with Pods(flavor, name="mysql", custom_cnf=check_cnf(flavor)) as pods:
        pods.start()
        pods.add_replica()
        pods.add_replica()
        yield LiveCluster(pods)


@pytest.fixture
def cluster(live_cluster: LiveCluster) -> Iterator[LiveCluster]:
    """The live cluster, healthy at the start of the test and healed after it."""
    live_cluster.reclone_diverged()
    yield live_cluster
    live_cluster.heal()


def endpoint_flags(cluster: LiveCluster) -> list[str]:
    return [f"--endpoint={pod}={address}" for pod, address in cluster.endpoints.items()]
