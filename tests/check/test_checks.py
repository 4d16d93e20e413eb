"""The verdict from recorded server states: each failure names the pod, the check and what was observed.

The states in data/ were recorded from real servers: MariaDB 10.11 (data/record.sh), MariaDB 11.8 and MySQL
9.7 (record_states.py); the tests that hold for every flavor run on each (RECORDINGS). A duplicate
server_uuid is a constructed state (a MySQL recording given one pod's uuid twice), marked so.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from mysql_cluster_check import Address, CanaryResult, Check, ExitCode, PodState, Report
from mysql_cluster_check.checks import evaluate, evaluate_canary
from mysql_cluster_check.probe import detect_flavor

from .conftest import recorded_cluster, recorded_pods

pytestmark = pytest.mark.check

RECORDINGS = ("mariadb-10.11", "mariadb-11.8", "mysql-9.7")
each_recording = pytest.mark.parametrize("flavor", RECORDINGS)


def failures_of(name: str, **cluster: Any) -> list[tuple[str, str, str]]:
    return [(f.pod, f.check, f.observed) for f in evaluate(recorded_cluster(**cluster), recorded_pods(name))]


@each_recording
def test_healthy_recording_passes_every_check(flavor: str) -> None:
    assert failures_of(f"{flavor}-healthy") == []


def test_healthy_recording_reads_identity_gtid_and_replication() -> None:
    primary, replica = recorded_pods("mariadb-10.11-healthy")
    assert (primary.role, primary.server_id, primary.read_only, primary.replication) == (
        "primary",
        100,
        False,
        None,
    )
    assert (primary.flavor, primary.server_uuid, primary.super_read_only) == ("mariadb", None, None)
    assert primary.gtid_position == primary.gtid_variables["gtid_current_pos"] != ""
    assert (replica.role, replica.server_id, replica.read_only) == ("replica", 101, True)
    assert replica.replication is not None
    assert replica.replication.running
    assert replica.replication.source == Address("127.0.0.1", 33061)
    assert (replica.replication.source_server_id, replica.replication.lag_seconds) == (100, 0)
    assert replica.gtid_position == primary.gtid_position


def test_mysql_healthy_recording_reads_uuids_super_read_only_and_gtid_sets() -> None:
    primary, replica = recorded_pods("mysql-9.7-healthy")
    assert (primary.flavor, primary.super_read_only, replica.read_only, replica.super_read_only) == (
        "mysql",
        False,
        True,
        True,
    )
    assert primary.server_uuid
    assert replica.server_uuid
    assert primary.server_uuid != replica.server_uuid
    # gtid_executed: the primary's transactions, uuid:1-N, on both; the replica's purged part came by clone.
    assert primary.gtid_position == replica.gtid_position == primary.gtid_variables["gtid_executed"]
    assert primary.gtid_position.startswith(f"{primary.server_uuid}:1-")
    assert replica.gtid_variables["gtid_purged"].startswith(f"{primary.server_uuid}:1-")
    assert replica.replication is not None
    assert (replica.replication.source, replica.replication.source_server_id) == (
        Address("127.0.0.1", 33061),
        100,
    )


@each_recording
def test_stopped_sql_thread_names_the_replica_and_the_thread(flavor: str) -> None:
    assert failures_of(f"{flavor}-sql-thread-stopped") == [("mysql-1", Check.SQL_THREAD, "No")]


@each_recording
def test_stopped_io_thread_names_the_replica_and_the_thread(flavor: str) -> None:
    assert failures_of(f"{flavor}-io-thread-stopped") == [("mysql-1", Check.IO_THREAD, "No")]


def test_sql_error_is_reported_with_the_servers_last_sql_error() -> None:
    [failure] = evaluate(recorded_cluster(), recorded_pods("mariadb-10.11-sql-error"))
    assert (failure.pod, failure.check, failure.observed) == ("mysql-1", Check.SQL_THREAD, "No")
    assert failure.detail.startswith(
        "last SQL error 1062: Error 'Duplicate entry '5029474' for key 'PRIMARY''"
    )


def test_mysql_applier_error_is_the_failed_workers() -> None:
    # MySQL's Last_SQL_Error says only "Coordinator stopped because there were error(s) in the worker(s)";
    # the worker's error, read from performance_schema, names the transaction, the table and the key.
    [failure] = evaluate(recorded_cluster(), recorded_pods("mysql-9.7-sql-error"))
    assert (failure.pod, failure.check, failure.observed) == ("mysql-1", Check.SQL_THREAD, "No")
    assert failure.detail.startswith("last SQL error 1062: Worker 1 failed executing transaction ")
    assert "Could not execute Write_rows event on table app.t; Duplicate entry '" in failure.detail
    assert "Coordinator stopped" not in failure.detail


@pytest.mark.parametrize(
    ("flavor", "refused"),
    [
        ("mariadb-10.11", "Connection refused"),
        ("mysql-9.7", "Can't connect to MySQL server on '127.0.0.1:33069'"),
    ],
)
def test_replica_pointed_elsewhere_fails_on_its_source_and_io_thread(flavor: str, refused: str) -> None:
    failures = evaluate(recorded_cluster(), recorded_pods(f"{flavor}-wrong-source-io-error"))
    assert [(f.pod, f.check, f.observed) for f in failures] == [
        ("mysql-1", Check.IO_THREAD, "Connecting"),
        ("mysql-1", Check.SOURCE, "127.0.0.1:33069"),
    ]
    assert failures[0].detail.startswith("last IO error 2003: ")
    assert refused in failures[0].detail
    assert failures[1].expected == "mysql-0 at 127.0.0.1:33061"


@each_recording
def test_source_check_compares_the_port_as_well_as_the_host(flavor: str) -> None:
    # The recorded replica replicates from 127.0.0.1:33061; the same host on another port is another server.
    cluster = {"primary_sources": (Address("127.0.0.1", 3306),), "pod_addresses": ()}
    assert failures_of(f"{flavor}-healthy", **cluster) == [("mysql-1", Check.SOURCE, "127.0.0.1:33061")]


@each_recording
def test_a_source_that_is_another_pod_is_named(flavor: str) -> None:
    cluster = recorded_cluster(pods=3, pod_addresses=((Address("127.0.0.1", 33069), "mysql-2"),))
    failures = evaluate(cluster, recorded_pods(f"{flavor}-wrong-source-io-error"))
    assert [f.observed for f in failures if f.check == Check.SOURCE] == ["127.0.0.1:33069 (mysql-2)"]


@each_recording
def test_writable_replica_fails_as_a_second_writable_pod(flavor: str) -> None:
    # On MySQL, read_only = OFF takes super_read_only with it: one failure, not two.
    assert failures_of(f"{flavor}-writable-replica") == [("mysql-1", Check.WRITABLE, "read_only=OFF")]


def test_mysql_replica_without_super_read_only_fails() -> None:
    assert failures_of("mysql-9.7-super-read-only-off") == [
        ("mysql-1", Check.SUPER_READ_ONLY, "super_read_only=OFF")
    ]


@each_recording
def test_read_only_primary_fails(flavor: str) -> None:
    assert failures_of(f"{flavor}-read-only-primary") == [("mysql-0", Check.WRITABLE, "read_only=ON")]


@each_recording
def test_duplicate_server_id_names_both_pods(flavor: str) -> None:
    assert failures_of(f"{flavor}-duplicate-server-id") == [
        ("mysql-0", Check.SERVER_ID_UNIQUE, "server_id=100, shared with mysql-1"),
        ("mysql-1", Check.SERVER_ID_UNIQUE, "server_id=100, shared with mysql-0"),
    ]


@each_recording
def test_lag_is_judged_against_the_threshold(flavor: str) -> None:
    # Recorded with a replication delay of an hour some seconds after a write (6 or 7 s).
    replication = recorded_pods(f"{flavor}-lagging")[1].replication
    assert replication is not None
    lag = replication.lag_seconds
    assert lag is not None
    assert lag >= 5
    assert failures_of(f"{flavor}-lagging", max_lag_seconds=60) == []
    assert failures_of(f"{flavor}-lagging", max_lag_seconds=lag) == []
    assert failures_of(f"{flavor}-lagging", max_lag_seconds=lag - 1) == [("mysql-1", Check.LAG, f"{lag}s")]


@each_recording
def test_replica_without_replication_fails_as_not_configured(flavor: str) -> None:
    assert failures_of(f"{flavor}-replication-not-configured") == [
        ("mysql-1", Check.REPLICATION_CONFIGURED, "none")
    ]


def test_primary_that_replicates_from_somewhere_fails() -> None:
    # The replica's recording in the primary's place: ordinal 0 with running replication threads.
    replica_state = recorded_pods("mariadb-10.11-healthy")[1]
    primary = dataclasses.replace(replica_state, name="mysql-0", ordinal=0, role="primary", read_only=False)
    failures = evaluate(recorded_cluster(pods=1), [primary])
    assert [(f.pod, f.check) for f in failures] == [("mysql-0", Check.PRIMARY_NOT_REPLICATING)]


@pytest.mark.parametrize(
    ("flavor", "version", "failed"),
    [
        ("mariadb", "10.11", False),
        ("mariadb", None, False),
        ("mariadb", "11.4", True),
        ("mysql", "8.4", True),
    ],
)
def test_flavor_and_version_are_compared_with_the_configured_ones(
    flavor: str, version: str | None, failed: bool
) -> None:
    failures = failures_of("mariadb-10.11-healthy", flavor=flavor, version=version)
    assert bool(failures) == failed
    assert all(check == Check.FLAVOR for _, check, _ in failures)


def test_unreachable_pod_fails_reachable_and_makes_exit_code_2() -> None:
    pods = recorded_pods("mariadb-10.11-healthy")
    down = PodState("mysql-1", 1, "replica", "127.0.0.1:1", error="2003 Can't connect to MySQL server")
    failures = evaluate(recorded_cluster(), [pods[0], down])
    assert [(f.pod, f.check, f.observed) for f in failures] == [
        ("mysql-1", Check.REACHABLE, "2003 Can't connect to MySQL server")
    ]
    report = Report(recorded_cluster(), (pods[0], down), {}, tuple(failures))
    assert report.exit_code == ExitCode.UNREACHABLE


def test_exit_codes() -> None:
    pods = tuple(recorded_pods("mariadb-10.11-sql-thread-stopped"))
    cluster = recorded_cluster()
    assert Report(cluster, pods, {}, ()).exit_code == ExitCode.HEALTHY
    assert Report(cluster, pods, {}, tuple(evaluate(cluster, pods))).exit_code == ExitCode.UNHEALTHY
    assert Report(cluster, (), {}, (), error="no password").exit_code == ExitCode.UNREACHABLE


def test_canary_timeouts_and_write_errors_fail_but_skips_do_not() -> None:
    canary = {
        "mysql-0": CanaryResult("failed", detail="write failed: 1290 read-only"),
        "mysql-1": CanaryResult("timeout", detail="not seen after 3s"),
        "mysql-2": CanaryResult("skipped", detail="replication not running"),
        "mysql-3": CanaryResult("seen", delay_seconds=0.01),
    }
    assert [(f.pod, f.check, f.observed) for f in evaluate_canary(canary)] == [
        ("mysql-0", Check.CANARY, "write failed: 1290 read-only"),
        ("mysql-1", Check.CANARY, "not seen after 3s"),
    ]


# Constructed: a replica whose auto.cnf was copied from the primary (a CLONE plugin clone gets its own).
def test_duplicate_server_uuid_names_both_pods_constructed() -> None:
    primary, replica = recorded_pods("mysql-9.7-healthy")
    pods = [primary, dataclasses.replace(replica, server_uuid=primary.server_uuid)]
    assert [(f.pod, f.check) for f in evaluate(recorded_cluster(), pods)] == [
        ("mysql-0", Check.SERVER_UUID_UNIQUE),
        ("mysql-1", Check.SERVER_UUID_UNIQUE),
    ]


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("10.11.19-MariaDB-0+deb12u1-log", ("mariadb", "10.11")),  # this machine's mariadbd
        ("5.5.5-10.11.6-MariaDB", ("mariadb", "10.11")),  # the old handshake prefix
        ("11.4.5-MariaDB-ubu2404", ("mariadb", "11.4")),
        ("11.8.2-MariaDB", ("mariadb", "11.8")),
        ("12.0.2-MariaDB", ("mariadb", "11.8")),  # newer than supported: the newest supported SQL
        ("10.6.21-MariaDB", ("mariadb", "10.11")),  # older than supported: the oldest supported SQL
        ("8.4.6", ("mysql", "8.4")),
        ("8.0.43", ("mysql", "8.4")),  # retired: the oldest supported SQL (SHOW REPLICA STATUS is 8.0.22+)
        ("9.4.0", ("mysql", "8.4")),
        ("9.7.4-2", ("mysql", "9.7")),
    ],
)
def test_flavor_is_detected_from_the_version_string(version: str, expected: tuple[str, str]) -> None:
    assert detect_flavor(version) == expected
