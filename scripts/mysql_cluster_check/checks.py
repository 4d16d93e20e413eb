"""The cluster-wide verdict: pod states and canary results in, failed checks out. No I/O here.

A healthy cluster has its StatefulSet fully rolled out (when it can be read); every pod reachable; exactly
one writable pod, ordinal 0; unique server ids and uuids; every replica replicating from the primary with
both threads running and lag under the threshold, holding no transaction the primary lacks (divergence.py);
and the canary row written on the primary seen on every replica in time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .divergence import divergence_failures, gtid_origins
from .model import CanaryResult, Check, Cluster, Failure, PodState, Replication, Rollout

__all__ = [
    "evaluate",
    "evaluate_canary",
    "evaluate_rollout",
    "gtid_origins",
    "rollout_complete",
    "rollout_state",
]

ON_DELETE = "OnDelete"


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
    failures.extend(divergence_failures(reachable))
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


def rollout_state(statefulset: Mapping[str, Any]) -> Rollout:
    """The rollout fields of a StatefulSet object, as `kubectl get statefulset -o json` prints it.

    The API server leaves out zero counts and unset revisions (`omitempty`: a new StatefulSet has no
    `readyReplicas`, a fresh update no `updatedReplicas`), defaults `spec.replicas` to 1 and the strategy to
    RollingUpdate.
    """
    metadata, spec, status = (_section(statefulset, key) for key in ("metadata", "spec", "status"))
    strategy = _section(spec, "updateStrategy")
    observed = status.get("observedGeneration")
    return Rollout(
        statefulset=_name(metadata, "name") or "",
        strategy=_name(strategy, "type") or "RollingUpdate",
        generation=_count(metadata, "generation"),
        observed_generation=observed if isinstance(observed, int) else None,
        replicas=_count(spec, "replicas", default=1),
        status_replicas=_count(status, "replicas"),
        updated=_count(status, "updatedReplicas"),
        ready=_count(status, "readyReplicas"),
        current_revision=_name(status, "currentRevision"),
        update_revision=_name(status, "updateRevision"),
        partition=_count(_section(strategy, "rollingUpdate"), "partition"),
    )


def rollout_complete(rollout: Rollout, expected_replicas: int) -> bool:
    """The controller has acted on the latest spec, which wants `expected_replicas` pods, and every one of
    them runs the latest pod template and is ready."""
    pods = rollout.replicas
    settled = rollout.observed_generation == rollout.generation and pods == expected_replicas
    counts = rollout.status_replicas == rollout.updated == rollout.ready == pods
    if rollout.strategy == ON_DELETE:
        # OnDelete: a pod moves to the new revision only when someone deletes it, and the controller never
        # advances currentRevision (it does so only at the end of a RollingUpdate), so the revisions stay
        # apart for good. Every pod updated and ready is the whole rollout.
        return settled and counts
    # RollingUpdate: currentRevision becomes updateRevision once every pod is updated and ready. With a
    # partition the pods below it keep the old revision: a staged rollout, unfinished until partition is 0.
    return settled and counts and rollout.current_revision == rollout.update_revision


def evaluate_rollout(rollout: Rollout, expected_replicas: int) -> list[Failure]:
    """A StatefulSet still rolling out (or scaled away from `expected_replicas`): the pods may be old ones."""
    if rollout_complete(rollout, expected_replicas):
        return []
    if rollout.strategy == ON_DELETE:
        expected = f"{expected_replicas} pods updated and ready"
        detail = "updateStrategy OnDelete: a pod is updated only when it is deleted"
    else:
        expected = f"a finished rollout of {expected_replicas} pods"
        detail = (
            f"partition {rollout.partition}: ordinals below it are not updated" if rollout.partition else ""
        )
    return [
        Failure(
            None,
            Check.ROLLOUT,
            _rollout_observed(rollout, expected_replicas),
            expected,
            detail,
            statefulset=rollout.statefulset,
        )
    ]


def _rollout_observed(rollout: Rollout, expected_replicas: int) -> str:
    parts = []
    if rollout.observed_generation != rollout.generation:
        at = "" if rollout.observed_generation is None else f" (it is at {rollout.observed_generation})"
        parts.append(f"generation {rollout.generation} not yet seen by the controller{at}")
    if rollout.replicas != expected_replicas:
        parts.append(f"spec.replicas {rollout.replicas}")
    if rollout.status_replicas != rollout.replicas:
        exist = "1 pod exists" if rollout.status_replicas == 1 else f"{rollout.status_replicas} pods exist"
        parts.append(exist)
    parts.append(
        f"{rollout.updated}/{rollout.replicas} pods updated, {rollout.ready}/{rollout.replicas} ready"
    )
    if rollout.current_revision != rollout.update_revision:
        parts.append(f"revision {rollout.current_revision or '-'} -> {rollout.update_revision or '-'}")
    return ", ".join(parts)


def _section(obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, Mapping) else {}


def _name(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) and value else None


def _count(obj: Mapping[str, Any], key: str, default: int = 0) -> int:
    value = obj.get(key, default)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


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
