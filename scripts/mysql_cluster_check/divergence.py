"""Replicas whose data is not a prefix of the primary's history, as far as the GTID sets tell: errant
transactions (an origin the primary's history lacks), and a replica the primary can no longer serve (the
receiver's SOURCE_PURGED_ERRNO: 1236, MySQL 13114), which its sidecar clones again only when every
transaction it holds is on the primary (mysql_cluster/scripts/reclone.sh) and otherwise leaves to a person.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import gtid
from .model import Check, Failure, PodState
from .project import flavors


def gtid_origins(flavor: str, history: str) -> set[str]:
    """Where the transactions of a GTID history came from (gtid.origins)."""
    return gtid.origins(flavor, history)


def divergence_failures(pods: Sequence[PodState]) -> list[Failure]:
    """The errant and stale replicas among the reachable `pods`, compared with the primary among them."""
    primary = next((p for p in pods if p.role == "primary"), None)
    if primary is None or primary.flavor is None:
        return []
    return (
        _errant_failures(primary, pods) + _diverged_failures(primary, pods) + _stale_failures(primary, pods)
    )


def _errant_failures(primary: PodState, pods: Sequence[PodState]) -> list[Failure]:
    """Replicas holding transactions whose origin the primary's history lacks: written on the replica (by
    root@localhost, or while it was writable), they would spread to any pod cloned from it. Compared by
    origin, not by position, so a replica that applied a newer transaction than the primary's reading is
    not mistaken for one (the pods are read one after the other)."""
    assert primary.flavor is not None
    variable = flavors.get_flavor(primary.flavor).gtid_history_variable
    if variable not in primary.gtid_variables:
        return []
    known = gtid_origins(primary.flavor, primary.gtid_variables[variable])
    failures = []
    for pod in pods:
        if pod.role != "replica" or variable not in pod.gtid_variables:
            continue
        extra = sorted(gtid_origins(primary.flavor, pod.gtid_variables[variable]) - known)
        if extra:
            observed = f"{variable} has origins the primary lacks: {', '.join(extra)}"
            expected = "only transactions replicated from the primary (re-clone this replica)"
            failures.append(Failure(pod.name, Check.ERRANT, observed, expected))
    return failures


def _diverged_failures(primary: PodState, pods: Sequence[PodState]) -> list[Failure]:
    """Replicas holding transactions of an origin the primary's history knows, beyond what the primary holds
    of it: the primary was re-seeded or restored without them (MariaDB numbers by domain and server id, so a
    primary that wrote on under the same identity would even hand out those numbers again for other rows;
    issue 15). Replication carries on from the primary's new origin and never tells. The primary's own,
    current origin is left out: it writes under it while the pods are read one after the other, so a replica
    may have applied more of it than the primary's reading showed. An origin the primary lacks altogether is
    `_errant_failures`'."""
    assert primary.flavor is not None
    variable = flavors.get_flavor(primary.flavor).gtid_history_variable
    history = primary.gtid_variables.get(variable)
    if history is None:
        return []
    known = gtid_origins(primary.flavor, history) - {origin for origin in [_own_origin(primary)] if origin}
    failures = []
    for pod in pods:
        if pod.role != "replica" or variable not in pod.gtid_variables:
            continue
        try:
            lacking = gtid.missing(primary.flavor, pod.gtid_variables[variable], history)
        except ValueError:
            continue
        items = [item for item in lacking.split(",") if item and _origin(primary.flavor, item) in known]
        if primary.flavor == "mariadb" and primary.gtid_domain_id is None:  # an older reading: be safe
            items = [item for item in items if item.split("-")[1] != str(primary.server_id)]
        if items:
            observed = f"{variable} holds transactions the primary lacks: {','.join(items)}"
            expected = "a prefix of the primary's history"
            detail = (
                "the primary lost them (re-seeded or restored without them): this replica holds rows the "
                "primary does not, and replicates on as if it did not; a person must decide which copy to "
                'keep (README, "A replica ahead of its primary")'
            )
            failures.append(Failure(pod.name, Check.DIVERGED, observed, expected, detail))
    return failures


def _own_origin(pod: PodState) -> str | None:
    """The origin a pod writes under now: MySQL its server_uuid, MariaDB its domain and server id."""
    if pod.flavor == "mariadb":
        if pod.gtid_domain_id is None or pod.server_id is None:
            return None
        return f"{pod.gtid_domain_id}-{pod.server_id}"
    return pod.server_uuid.lower() if pod.server_uuid else None


def _origin(flavor: str, item: str) -> str:
    return next(iter(gtid.origins(flavor, item)))


def _stale_failures(primary: PodState, pods: Sequence[PodState]) -> list[Failure]:
    """Replicas whose receiver stopped on the purged-binlog error, with what their sidecar does about it:
    clone it again (every transaction of it is on the primary), or refuse and wait for a person."""
    assert primary.flavor is not None
    flavor = flavors.get_flavor(primary.flavor)
    history = primary.gtid_variables.get(flavor.gtid_history_variable)
    failures = []
    for pod in pods:
        replication = pod.replication
        if pod.role != "replica" or replication is None:
            continue
        if str(replication.last_io_errno) != flavor.source_purged_errno:
            continue
        observed = f"IO error {replication.last_io_errno}: the primary cannot serve its position"
        held = ",".join(
            pod.gtid_variables.get(variable, "")
            for variable in (flavor.gtid_executed_variable, flavor.gtid_history_variable)
        )
        try:
            lacking = None if history is None else gtid.missing(flavor.name, held, history)
        except ValueError:
            lacking = None
        if lacking is None:
            detail = "its GTID set could not be compared with the primary's: see its backup container's log"
        elif lacking:
            observed += f", and it holds transactions the primary lacks: {lacking}"
            detail = (
                "ahead of the primary or diverged from it: its sidecar refuses to clone it again and keeps "
                "it out of the Services; a person must decide (its backup container's log gives both GTID "
                "sets and the commands)"
            )
        else:
            detail = (
                "every transaction of it is on the primary: its sidecar clones it again, unless .stale-data "
                "already holds a copy or its volume cannot hold both (its backup container's log says which)"
            )
        expected = "replicating from the primary"
        failures.append(Failure(pod.name, Check.STALE, observed, expected, detail))
    return failures
