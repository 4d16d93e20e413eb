"""Errant transactions (issue 7, defect 5): a transaction written on a replica rather than replicated from
the primary is reported by the check, naming the replica and the foreign origin; against the live cluster of
every flavor (conftest.CHECK_FLAVORS)."""

from __future__ import annotations

import contextlib
import dataclasses

import pytest
from mysql_cluster_check import Check
from mysql_cluster_check.checks import evaluate, gtid_origins
from mysql_cluster_check.model import PodState

from tests.support.pods import Pod, wait_until

from .conftest import LiveCluster, endpoint_flags, recorded_cluster, recorded_pods, run_check

pytestmark = pytest.mark.check


def test_a_write_on_a_replica_is_reported_as_errant(cluster: LiveCluster) -> None:
    primary, replica = cluster.pod("mysql-0"), cluster.pod("mysql-1")
    primary.sql("CREATE DATABASE IF NOT EXISTS app")
    primary.sql("CREATE TABLE IF NOT EXISTS app.t (id INT PRIMARY KEY)")
    wait_until(lambda: bool(replica.sql("SHOW TABLES FROM app")), 30, what="the table on the replica")
    assert run_check(*endpoint_flags(cluster), "--no-canary").code == 0
    cluster.mark_diverged("mysql-1")  # cloned again before the next test of this cluster, if any
    write_as_root_at_localhost(cluster, replica, "INSERT INTO app.t VALUES (42)")
    # The replica's own origin: MySQL its server_uuid, MariaDB its domain and server_id.
    uuid = cluster.flavor.server_uuid_variable
    own = f"LOWER(@@GLOBAL.{uuid})" if uuid else "CONCAT(@@GLOBAL.gtid_domain_id, '-', @@GLOBAL.server_id)"
    [(origin,)] = replica.sql(f"SELECT {own}")
    result = run_check(*endpoint_flags(cluster), "--no-canary", "--json")
    assert result.code == 1
    [failure] = [f for f in result.json["failures"] if f["check"] == Check.ERRANT]
    assert failure["pod"] == "mysql-1"
    variable = cluster.flavor.gtid_history_variable
    assert failure["observed"] == f"{variable} has origins the primary lacks: {origin}"


def write_as_root_at_localhost(cluster: LiveCluster, pod: Pod, statement: str) -> None:
    """One binary-logged write on a read-only replica, as root@localhost over the pod's socket: MariaDB's
    root@localhost keeps READ_ONLY ADMIN and writes through read_only; on MySQL it first lifts
    super_read_only (it holds SYSTEM_VARIABLES_ADMIN; read_only stays ON and its CONNECTION_ADMIN writes
    through that), and the flavor's read-only statement restores it."""
    with contextlib.closing(pod.connect()) as conn, conn.cursor() as cursor:
        if "super_read_only" in cluster.flavor.read_only_variables:
            cursor.execute("SET GLOBAL super_read_only = OFF")
        try:
            cursor.execute(statement)
        finally:
            cursor.execute(cluster.flavor.enforce_read_only)


def test_origins_of_both_flavors() -> None:
    assert gtid_origins("mariadb", "0-100-57,0-101-3,1-100-2") == {"0-100", "0-101", "1-100"}
    mysql = "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5,\n4e11fa47-71ca-11e1-9e33-c80aa9429562:tag:1-2"
    assert gtid_origins("mysql", mysql) == {
        "3e11fa47-71ca-11e1-9e33-c80aa9429562",
        "4e11fa47-71ca-11e1-9e33-c80aa9429562",
    }


def test_replica_behind_or_ahead_of_the_primarys_reading_is_not_errant() -> None:
    primary, replica = recorded_pods("mariadb-10.11-healthy")
    behind = dataclasses.replace(replica, gtid_variables={"gtid_binlog_state": "0-100-5"})
    ahead = dataclasses.replace(replica, gtid_variables={"gtid_binlog_state": "0-100-900"})
    primary = dataclasses.replace(primary, gtid_variables={"gtid_binlog_state": "0-100-57"})
    for state in (behind, ahead):
        assert [f for f in evaluate(recorded_cluster(), [primary, state]) if f.check == Check.ERRANT] == []


def diverged(primary: PodState, replica: PodState) -> list[tuple[str | None, str]]:
    return [
        (f.pod, f.observed)
        for f in evaluate(recorded_cluster(), [primary, replica])
        if f.check == Check.DIVERGED
    ]


def test_a_mariadb_replica_beyond_a_re_seeded_primarys_old_numbers_is_reported() -> None:
    """Issue 15, defect 1 (A), as the check sees it: the primary re-seeded from a replica that had applied
    0-100-15 of the 0-100-21 it received, writing on in domain 1; the other replica holds 0-100-21. Same
    origin, so not errant, and replication runs: before, nothing was reported."""
    primary, replica = recorded_pods("mariadb-10.11-healthy")
    primary = dataclasses.replace(
        primary, server_id=100, gtid_domain_id=1, gtid_variables={"gtid_binlog_state": "0-100-15,1-100-40"}
    )
    ahead = dataclasses.replace(replica, gtid_variables={"gtid_binlog_state": "0-100-21,1-100-38"})
    assert diverged(primary, ahead) == [
        ("mysql-1", "gtid_binlog_state holds transactions the primary lacks: 0-100-21")
    ]
    # Behind on the old numbers, or ahead of the primary's reading on its current origin: nothing to report.
    for fine in ("0-100-15,1-100-41", "0-100-9"):
        assert (
            diverged(primary, dataclasses.replace(replica, gtid_variables={"gtid_binlog_state": fine})) == []
        )
    # A reading without the domain (older recordings): the primary's server id is left out, never a guess.
    unknown = dataclasses.replace(primary, gtid_domain_id=None)
    assert diverged(unknown, ahead) == []


def test_a_mysql_replica_holding_more_of_the_lost_primarys_transactions_is_reported() -> None:
    """The MySQL side: the re-seeded primary has a new server_uuid and the old one's transactions up to 25;
    a replica holds them up to 31. The primary's own, current origin is never compared (a race)."""
    primary, replica = recorded_pods("mysql-9.7-healthy")
    old, new = "3e11fa47-71ca-11e1-9e33-c80aa9429562", "4e11fa47-71ca-11e1-9e33-c80aa9429562"
    primary = dataclasses.replace(
        primary, server_uuid=new, gtid_variables={"gtid_executed": f"{old}:1-25,{new}:1-7"}
    )
    ahead = dataclasses.replace(replica, gtid_variables={"gtid_executed": f"{old}:1-31,{new}:1-5"})
    assert diverged(primary, ahead) == [
        ("mysql-1", f"gtid_executed holds transactions the primary lacks: {old}:26-31")
    ]
    racing = dataclasses.replace(replica, gtid_variables={"gtid_executed": f"{old}:1-25,{new}:1-9"})
    assert diverged(primary, racing) == []
