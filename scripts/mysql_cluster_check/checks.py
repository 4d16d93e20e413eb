"""The cluster-wide verdict: pod states and canary results in, failed checks out. No I/O here.

A healthy cluster has every pod reachable; exactly one writable pod, ordinal 0; unique server ids and
uuids; every replica replicating from the primary with both threads running and lag under the threshold;
and the canary row written on the primary seen on every replica in time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from .model import CanaryResult, Check, Cluster, Failure, PodState, Replication


def evaluate(cluster: Cluster, pods: Sequence[PodState]) -> list[Failure]:
    """Every failed status check, pod by pod in ordinal order, then the uniqueness checks."""
    failures: list[Failure] = []
    for pod in pods:
        failures.extend(_pod_failures(cluster, pod))
    reachable = [pod for pod in pods if pod.reachable]
    failures.extend(
        _duplicates(Check.SERVER_ID_UNIQUE, "server_id", ((p.name, p.server_id) for p in reachable))
    )
    failures.extend(
        _duplicates(Check.SERVER_UUID_UNIQUE, "server_uuid", ((p.name, p.server_uuid) for p in reachable))
    )
    return failures


def evaluate_canary(canary: Mapping[str, CanaryResult]) -> list[Failure]:
    """A canary that could not be written, or that did not reach a replica in time."""
    failures = []
    for pod, result in canary.items():
        if result.status == "failed":
            failures.append(Failure(pod, Check.CANARY, result.detail, "the canary row written and read"))
        elif result.status == "timeout":
            failures.append(Failure(pod, Check.CANARY, result.detail, "the canary row replicated in time"))
    return failures


def _pod_failures(cluster: Cluster, pod: PodState) -> list[Failure]:
    if not pod.reachable:
        return [Failure(pod.name, Check.REACHABLE, str(pod.error), f"a server answering on {pod.endpoint}")]
    failures = _flavor_failures(cluster, pod) + _read_only_failures(pod)
    if pod.role == "primary":
        failures += _primary_replication_failures(pod)
    else:
        failures += _replica_replication_failures(cluster, pod)
    return failures


def _flavor_failures(cluster: Cluster, pod: PodState) -> list[Failure]:
    expected = " ".join(part for part in (cluster.flavor, cluster.version) if part)
    flavor_differs = cluster.flavor is not None and pod.flavor != cluster.flavor
    version = pod.version or ""
    version_differs = cluster.version is not None and not version.startswith(cluster.version + ".")
    if not (flavor_differs or version_differs):
        return []
    return [Failure(pod.name, Check.FLAVOR, f"{pod.flavor} {pod.version}", expected)]


def _read_only_failures(pod: PodState) -> list[Failure]:
    writable = pod.read_only is False
    if pod.role == "primary" and not writable:
        return [Failure(pod.name, Check.WRITABLE, "read_only=ON", "read_only=OFF on the primary (ordinal 0)")]
    if pod.role == "replica" and writable:
        return [
            Failure(pod.name, Check.WRITABLE, "read_only=OFF", "read_only=ON: only ordinal 0 is writable")
        ]
    if pod.role == "replica" and pod.super_read_only is False:
        return [Failure(pod.name, Check.SUPER_READ_ONLY, "super_read_only=OFF", "super_read_only=ON")]
    return []


def _primary_replication_failures(pod: PodState) -> list[Failure]:
    replication = pod.replication
    if replication is None or (replication.io_running == "No" and replication.sql_running == "No"):
        return []
    observed = f"IO {replication.io_running}, SQL {replication.sql_running} from {replication.source}"
    return [Failure(pod.name, Check.PRIMARY_NOT_REPLICATING, observed, "no replication on the primary")]


def _replica_replication_failures(cluster: Cluster, pod: PodState) -> list[Failure]:
    replication = pod.replication
    primary = cluster.primary
    if replication is None:
        return [Failure(pod.name, Check.REPLICATION_CONFIGURED, "none", f"replicating from {primary}")]
    failures = _thread_failures(pod.name, replication) + _source_failures(cluster, pod.name, replication)
    if replication.running:
        failures += _lag_failures(cluster, pod.name, replication)
    return failures


def _thread_failures(pod: str, replication: Replication) -> list[Failure]:
    failures = []
    if replication.io_running != "Yes":
        detail = _last_error("IO", replication.last_io_errno, replication.last_io_error)
        failures.append(Failure(pod, Check.IO_THREAD, replication.io_running, "Yes", detail))
    if replication.sql_running != "Yes":
        detail = _last_error("SQL", replication.last_sql_errno, replication.last_sql_error)
        failures.append(Failure(pod, Check.SQL_THREAD, replication.sql_running, "Yes", detail))
    return failures


def _last_error(thread: str, errno: int, error: str) -> str:
    return f"last {thread} error {errno}: {error}" if errno or error else f"no {thread} error recorded"


def _source_failures(cluster: Cluster, pod: str, replication: Replication) -> list[Failure]:
    if not cluster.primary_sources or replication.source in cluster.primary_sources:
        return []
    source = replication.source
    observed = "none" if source is None else str(source)
    named = None if source is None else cluster.pod_at(source)
    if named:
        observed += f" ({named})"
    expected = f"{cluster.primary} at {cluster.primary_sources[0]}"
    return [Failure(pod, Check.SOURCE, observed, expected)]


def _lag_failures(cluster: Cluster, pod: str, replication: Replication) -> list[Failure]:
    limit = f"<= {cluster.max_lag_seconds}s"
    if replication.lag_seconds is None:
        return [Failure(pod, Check.LAG, "unknown (NULL)", limit)]
    if replication.lag_seconds > cluster.max_lag_seconds:
        return [Failure(pod, Check.LAG, f"{replication.lag_seconds}s", limit)]
    return []


def _duplicates(check: str, label: str, values: Iterable[tuple[str, object]]) -> list[Failure]:
    holders: dict[object, list[str]] = defaultdict(list)
    for pod, value in values:
        if value is not None:
            holders[value].append(pod)
    failures = []
    for value, pods in holders.items():
        for pod in pods if len(pods) > 1 else ():
            others = ", ".join(other for other in pods if other != pod)
            failures.append(Failure(pod, check, f"{label}={value}, shared with {others}", "unique"))
    return failures
