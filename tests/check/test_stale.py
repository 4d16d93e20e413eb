"""A replica whose primary can no longer serve its position (issue 15, defect 3): the check reports it with
what its sidecar does about it, cloning it again when every transaction it holds is on the primary, else
refusing and leaving the decision to a person (mysql_cluster/scripts/reclone.sh decides the same way).
From recorded states (data/), given the GTID sets and the receiver's error of each case."""

from __future__ import annotations

import dataclasses

import pytest
from mysql_cluster_check import Check, Failure, PodState
from mysql_cluster_check.checks import evaluate
from mysql_cluster_check.gtid import missing

from .conftest import recorded_cluster, recorded_pods

pytestmark = pytest.mark.check

PRIMARY_UUID = "f7479b30-ec28-11f1-afbe-02fc00000001"  # mysql-9.7-healthy's primary
REPLICA_UUID = "fee48b2f-ec28-11f1-b076-02fc00000001"
MARIADB_PURGED = (
    "Got fatal error 1236 from master when reading data from binary log: 'Could not find GTID state "
    "requested by slave in any binlog files. Probably the slave state is too old and required binlog files "
    "have been purged.'"
)


def stale_failures(
    recording: str, primary_gtids: dict[str, str], replica_gtids: dict[str, str]
) -> list[Failure]:
    """The stale_replica failures of a recording whose replica stopped on the flavor's purged-binlog error."""
    primary, replica = recorded_pods(recording)
    errno = 1236 if recording.startswith("mariadb") else 13114
    assert replica.replication is not None
    stopped = dataclasses.replace(
        replica.replication, io_running="No", last_io_errno=errno, last_io_error=MARIADB_PURGED
    )
    pods: list[PodState] = [
        dataclasses.replace(primary, gtid_variables=primary_gtids),
        dataclasses.replace(replica, gtid_variables=replica_gtids, replication=stopped),
    ]
    return [f for f in evaluate(recorded_cluster(), pods) if f.check == Check.STALE]


def test_a_stale_replica_within_the_primarys_history_is_cloned_again() -> None:
    [failure] = stale_failures(
        "mariadb-10.11-healthy",
        {"gtid_binlog_state": "0-100-57", "gtid_current_pos": "0-100-57"},
        {"gtid_binlog_state": "0-100-40", "gtid_current_pos": "0-100-40"},
    )
    assert (failure.pod, failure.observed) == (
        "mysql-1",
        "IO error 1236: the primary cannot serve its position",
    )
    assert "its sidecar clones it again, unless .stale-data already holds a copy" in failure.detail


@pytest.mark.parametrize(
    ("replica", "lacking"),
    [
        ("0-100-40,0-101-41", "0-101-41"),  # written on the replica (its own server id)
        ("0-100-60", "0-100-60"),  # ahead: the primary was restored from an older copy
    ],
    ids=["errant", "ahead"],
)
def test_a_stale_mariadb_replica_holding_what_the_primary_lacks_is_left_to_a_person(
    replica: str, lacking: str
) -> None:
    [failure] = stale_failures(
        "mariadb-10.11-healthy",
        {"gtid_binlog_state": "0-100-57", "gtid_current_pos": "0-100-57"},
        {"gtid_binlog_state": replica, "gtid_current_pos": replica.rsplit(",", 1)[-1]},
    )
    assert failure.observed.endswith(f"and it holds transactions the primary lacks: {lacking}")
    assert "its sidecar refuses to clone it again" in failure.detail
    assert "a person must decide" in failure.detail


def test_a_stale_mysql_replica_with_an_errant_transaction_is_left_to_a_person() -> None:
    [failure] = stale_failures(
        "mysql-9.7-healthy",
        {"gtid_executed": f"{PRIMARY_UUID}:1-20", "gtid_purged": f"{PRIMARY_UUID}:1-18"},
        {"gtid_executed": f"{PRIMARY_UUID}:1-14,\n{REPLICA_UUID}:1", "gtid_purged": ""},
    )
    assert failure.observed == (
        f"IO error 13114: the primary cannot serve its position, and it holds transactions the primary "
        f"lacks: {REPLICA_UUID}:1"
    )


def test_other_receiver_errors_are_no_stale_replica() -> None:
    primary, replica = recorded_pods("mariadb-10.11-wrong-source-io-error")
    assert [f for f in evaluate(recorded_cluster(), [primary, replica]) if f.check == Check.STALE] == []


def test_missing_gtids_of_both_flavors() -> None:
    assert missing("mysql", "a:1-10:12,b:1", "A:1-5:7-20") == "a:6,b:1"
    assert missing("mysql", "a:1-3:tag:1-2", "a:1-3,a:tag:2") == "a:tag:1"
    assert missing("mysql", "a:1-5,\na:3-9", "a:1-9") == ""
    assert missing("mariadb", "0-100-5,0-100-5,1-100-2", "0-100-9,1-101-3") == "1-100-2"
    with pytest.raises(ValueError, match="not a MariaDB GTID"):
        missing("mariadb", "0-100", "0-100-9")
