"""One check run: judge the rollout, connect to every pod, ask it, judge the cluster, send the canary. The
Python API."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

import pymysql

from . import probe
from .canary import run_canary
from .checks import evaluate, evaluate_canary, evaluate_rollout
from .model import Address, CanaryResult, Cluster, Password, PodState, Report, Role, Rollout

Connection: TypeAlias = "pymysql.Connection[Any]"


@dataclass(frozen=True)
class Options:
    """How to talk to the servers and how long to wait for the canary (None: no canary)."""

    user: str = "root"
    connect_timeout: float = 5.0
    canary_timeout: float | None = 30.0


def check_cluster(
    cluster: Cluster,
    endpoints: Mapping[str, Address | str],
    password: Password,
    options: Options | None = None,
    rollout: Rollout | None = None,
) -> Report:
    """Checks every pod of `cluster`, reached at `endpoints` (pod name -> address, or why there is none), and
    the rollout of its StatefulSet as read this round (None: not read, the `rollout` check is skipped)."""
    options = options or Options()
    connections: dict[str, Connection] = {}
    try:
        pods = []
        for ordinal, name in enumerate(cluster.pods):
            endpoint = endpoints.get(name, "no endpoint for this pod")
            state, conn = _probe_pod(name, ordinal, endpoint, password, options)
            pods.append(state)
            if conn is not None:
                connections[name] = conn
        failures = [] if rollout is None else evaluate_rollout(rollout, len(cluster.pods))
        failures += evaluate(cluster, pods)
        canary: dict[str, CanaryResult] = {}
        if options.canary_timeout is not None:
            canary = _canary(cluster, pods, connections, options.canary_timeout)
            failures += evaluate_canary(canary)
        return Report(cluster, tuple(pods), canary, tuple(failures), options.canary_timeout, rollout=rollout)
    finally:
        for conn in connections.values():
            with contextlib.suppress(Exception):
                conn.close()


def _probe_pod(
    name: str, ordinal: int, endpoint: Address | str, password: Password, options: Options
) -> tuple[PodState, Connection | None]:
    role: Role = "primary" if ordinal == 0 else "replica"
    if isinstance(endpoint, str):
        return PodState(name, ordinal, role, None, error=_redact(endpoint, password)), None
    conn = None
    try:
        conn = probe.connect(endpoint, options.user, password, options.connect_timeout)
        return probe.interpret(name, ordinal, str(endpoint), probe.collect(conn)), conn
    except (pymysql.MySQLError, OSError) as error:
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
        return PodState(
            name, ordinal, role, str(endpoint), error=_redact(probe.describe(error), password)
        ), None


def _canary(
    cluster: Cluster, pods: list[PodState], connections: Mapping[str, Connection], timeout: float
) -> dict[str, CanaryResult]:
    primary = connections.get(cluster.primary)
    if primary is None:
        return {pod.name: CanaryResult("skipped", detail="primary unreachable") for pod in pods}
    eligible: dict[str, Connection] = {}
    skipped: dict[str, CanaryResult] = {}
    for pod in pods[1:]:
        if pod.name in connections and pod.replication is not None and pod.replication.running:
            eligible[pod.name] = connections[pod.name]
        else:
            reason = "unreachable" if not pod.reachable else "replication not running"
            skipped[pod.name] = CanaryResult("skipped", detail=reason)
    results = run_canary((cluster.primary, primary), eligible, timeout) | skipped
    return {pod.name: results[pod.name] for pod in pods}


def _redact(text: str, password: Password) -> str:
    secret = password.reveal()
    return text.replace(secret, "***") if secret else text
