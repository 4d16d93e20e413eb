"""The tool's real command line against a live cluster of real servers, one per flavor of
conftest.CHECK_FLAVORS (MariaDB 10.11 and MySQL 9.7; MariaDB 11.8 on demand): one scenario per test.

Every run goes through `run_check`, which also asserts that the root password appears nowhere in the output.
Statements that differ between flavors (replication threads, read-only flags) come from the flavor.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
from mysql_cluster_check import Address, Cluster, Options, Password, check_cluster, render_table

from tests.support.pods import Pod, wait_until

from .conftest import CHECK, PASSWORD, SECRETS, LiveCluster, endpoint_flags, run_check

pytestmark = pytest.mark.check

FAST = ("--canary-timeout", "3", "--connect-timeout", "3")

GTID_SETS = {
    "mariadb": re.compile(r"\d+-\d+-\d+(,\d+-\d+-\d+)*"),  # domain-server_id-seq, one per domain
    "mysql": re.compile(r"[0-9a-f-]{36}(:\d+(-\d+)?)+(,[0-9a-f-]{36}(:\d+(-\d+)?)+)*"),  # uuid:1-N
}


def gtid_heads(flavor: str, gtid_set: str) -> dict[str, int]:
    """The newest sequence number of each origin of a GTID set, as the check shows it: MariaDB's
    `domain-server_id-seq,...` and MySQL's `uuid:1-N:M-K,...` (the end of its last interval)."""
    assert GTID_SETS[flavor].fullmatch(gtid_set), gtid_set
    heads = {}
    for item in gtid_set.split(","):
        if flavor == "mariadb":
            origin, _, seq = item.rpartition("-")
        else:
            origin, _, intervals = item.partition(":")
            seq = intervals.rpartition("-")[2].rpartition(":")[2]
        heads[origin] = int(seq)
    return heads


def test_healthy_cluster_exits_0_and_measures_the_canary_delay(cluster: LiveCluster) -> None:
    run = run_check(*endpoint_flags(cluster), "--json")
    assert run.code == 0, run.stdout
    report = run.json
    assert (report["healthy"], report["exit_code"], report["failures"]) == (True, 0, [])
    primary, *replicas = report["pods"]
    assert (primary["role"], primary["read_only"], primary["canary"]["status"]) == (
        "primary",
        False,
        "written",
    )
    assert [pod["server_id"] for pod in report["pods"]] == [100, 101, 102]
    for pod in replicas:
        assert (pod["replication"]["io_running"], pod["replication"]["sql_running"]) == (True, True)
        assert pod["replication"]["source"] == cluster.endpoints["mysql-0"]
        assert pod["canary"]["status"] == "seen"
        assert 0 < pod["canary"]["delay_seconds"] < 3
        # Probed before the canary, the pods are read one after the other while the primary writes its
        # heartbeat every second: the same history (MariaDB domain and server, MySQL source UUID), at most
        # a few heartbeats apart.
        replica_heads = gtid_heads(cluster.flavor.name, pod["gtid_position"])
        primary_heads = gtid_heads(cluster.flavor.name, primary["gtid_position"])
        assert replica_heads.keys() == primary_heads.keys(), (pod["gtid_position"], primary["gtid_position"])
        for origin, seq in primary_heads.items():
            assert abs(replica_heads[origin] - seq) <= 5, (pod["gtid_position"], primary["gtid_position"])

    table = run_check(*endpoint_flags(cluster))
    assert table.code == 0
    lines = table.stdout.splitlines()
    assert (lines[0].split()[4], lines[0].split()[11]) == ("SERVER_UUID", "GTID")
    rows = [line.split() for line in lines[1:4]]
    assert [row[0] for row in rows] == ["mysql-0", "mysql-1", "mysql-2"]
    assert all(row[10].endswith("s") for row in rows[1:]), lines  # CANARY: the measured delay
    # SERVER_UUID: MySQL's, one per pod; MariaDB has none.
    uuids = [pod["server_uuid"] for pod in report["pods"]]
    assert [row[4] for row in rows] == [uuid or "-" for uuid in uuids]
    assert len(set(uuids)) == (3 if cluster.flavor.server_uuid_variable else 1)
    # GTID: each pod's own set, of its flavor's form, all from the primary's origins.
    origins = gtid_heads(cluster.flavor.name, primary["gtid_position"]).keys()
    assert [gtid_heads(cluster.flavor.name, row[11]).keys() for row in rows] == [origins] * 3, lines
    assert lines[4].startswith("HEALTHY: mysql-0 is the only writable pod, 2 replicas replicating from it")
    assert "\033[" not in table.stdout  # not a terminal: no colour


def test_canary_row_is_removed_after_the_run(cluster: LiveCluster) -> None:
    assert run_check(*endpoint_flags(cluster)).code == 0
    assert cluster.sql("mysql-0", "SELECT COUNT(*) FROM mysql_cluster_check.canary") == [(0,)]


@pytest.mark.parametrize(
    ("thread", "check"), [("SQL_THREAD", "replication_sql_thread"), ("IO_THREAD", "replication_io_thread")]
)
def test_stopped_replication_thread_exits_1_naming_pod_and_thread(
    cluster: LiveCluster, thread: str, check: str
) -> None:
    cluster.sql("mysql-1", f"{cluster.flavor.stop_replica} {thread}")
    run = run_check(*endpoint_flags(cluster), *FAST, "--json")
    assert run.code == 1
    assert run.failures() == {("mysql-1", check)}
    [failure] = run.json["failures"]
    assert (failure["observed"], failure["expected"]) == ("No", "Yes")
    canary = {pod["name"]: pod["canary"]["status"] for pod in run.json["pods"]}
    assert canary == {"mysql-0": "written", "mysql-1": "skipped", "mysql-2": "seen"}

    table = run_check(*endpoint_flags(cluster), *FAST)
    assert table.code == 1
    assert f"FAIL mysql-1 {check}: observed No, expected Yes" in table.stdout
    assert table.stdout.splitlines()[-1] == "UNHEALTHY: 1 failed check"


def test_applier_error_names_its_cause(cluster: LiveCluster) -> None:
    """A row the replica already has stops its SQL thread on a duplicate key: the check shows why. MySQL's
    multi-threaded applier (4 workers by default) puts only "Coordinator stopped because there were error(s)
    in the worker(s)" into Last_SQL_Error; the cause is the failed worker's, in performance_schema."""
    conflict = 7000000 + time.time_ns() % 1000000
    replica = cluster.pod("mysql-1")
    on_replica = conflict_row(cluster, replica, conflict)
    try:
        on_replica("INSERT")
        cluster.sql("mysql-0", f"INSERT INTO app.conflict VALUES ({conflict})")
        wait_until(lambda: replica.replica_status()[cluster.flavor.last_sql_errno_column], 30)
        run = run_check(*endpoint_flags(cluster), "--no-canary", "--json")
        assert run.code == 1
        [failure] = run.json["failures"]
        assert (failure["pod"], failure["check"], failure["observed"]) == (
            "mysql-1",
            "replication_sql_thread",
            "No",
        )
        assert failure["detail"].startswith("last SQL error 1062: "), failure["detail"]
        assert f"Duplicate entry '{conflict}' for key" in failure["detail"], failure["detail"]
    finally:
        on_replica("DELETE")  # then heal() starts the SQL thread again, which applies the primary's row


def conflict_row(cluster: LiveCluster, pod: Pod, key: int) -> Callable[[str], None]:
    """Writes or deletes row `key` of app.conflict on `pod` without binary-logging it (no GTID: nothing
    errant), as root@localhost; on MySQL with super_read_only lifted for the statement."""
    cluster.sql("mysql-0", "CREATE DATABASE IF NOT EXISTS app")
    cluster.sql("mysql-0", "CREATE TABLE IF NOT EXISTS app.conflict (id INT PRIMARY KEY)")
    wait_until(
        lambda: pod.sql("SHOW TABLES FROM app LIKE 'conflict'"), 30, what="app.conflict on the replica"
    )

    def run(verb: str) -> None:
        statement = {"INSERT": "INSERT INTO {} VALUES ({})", "DELETE": "DELETE FROM {} WHERE id = {}"}[verb]
        with contextlib.closing(pod.connect()) as conn, conn.cursor() as cursor:
            lift = "super_read_only" in cluster.flavor.read_only_variables
            if lift:
                cursor.execute("SET GLOBAL super_read_only = OFF")
            try:
                cursor.execute("SET SESSION sql_log_bin = 0")
                cursor.execute(statement.format("app.conflict", key))
            finally:
                if lift:
                    cursor.execute(cluster.flavor.enforce_read_only)

    return run


def test_duplicate_server_id_exits_1_naming_both_pods(cluster: LiveCluster) -> None:
    cluster.sql("mysql-1", "SET GLOBAL server_id = 100")
    run = run_check(*endpoint_flags(cluster), "--canary-timeout", "1", "--json")
    assert run.code == 1
    duplicates = {(f["pod"], f["observed"]) for f in run.json["failures"] if f["check"] == "server_id_unique"}
    assert duplicates == {
        ("mysql-0", "server_id=100, shared with mysql-1"),
        ("mysql-1", "server_id=100, shared with mysql-0"),
    }
    # A replica ignores events carrying its own server_id: the canary never arrives there.
    assert ("mysql-1", "canary") in run.failures()
    table = run_check(*endpoint_flags(cluster), "--no-canary").stdout
    assert (
        "FAIL mysql-0 server_id_unique: observed server_id=100, shared with mysql-1, expected unique" in table
    )
    assert (
        "FAIL mysql-1 server_id_unique: observed server_id=100, shared with mysql-0, expected unique" in table
    )


def test_writable_replica_exits_1(cluster: LiveCluster) -> None:
    cluster.sql("mysql-2", "SET GLOBAL read_only = 0")
    run = run_check(*endpoint_flags(cluster), *FAST, "--json")
    assert run.code == 1
    assert run.failures() == {("mysql-2", "writable")}
    assert (
        "FAIL mysql-2 writable: observed read_only=OFF" in run_check(*endpoint_flags(cluster), *FAST).stdout
    )


def test_replica_without_super_read_only_exits_1(cluster: LiveCluster) -> None:
    """MySQL: read_only binds ordinary accounts only; super_read_only binds root too. MariaDB has no such flag
    (its replicas' root@'%' lacks READ_ONLY ADMIN instead)."""
    if "super_read_only" not in cluster.flavor.read_only_variables:
        pytest.skip(f"{cluster.flavor.name} has no super_read_only")
    cluster.sql("mysql-2", "SET GLOBAL super_read_only = OFF")  # read_only stays ON
    run = run_check(*endpoint_flags(cluster), *FAST, "--json")
    assert run.code == 1
    assert run.failures() == {("mysql-2", "super_read_only")}
    [replica] = [pod for pod in run.json["pods"] if pod["name"] == "mysql-2"]
    assert (replica["read_only"], replica["super_read_only"]) == (True, False)
    table = run_check(*endpoint_flags(cluster), *FAST).stdout.splitlines()
    assert [line.split()[5] for line in table[1:4]] == ["OFF", "SUPER", "ON"]  # READ_ONLY
    assert "FAIL mysql-2 super_read_only: observed super_read_only=OFF, expected super_read_only=ON" in table


def test_unreachable_pod_exits_2(cluster: LiveCluster) -> None:
    cluster.pod("mysql-2").stop()
    run = run_check(*endpoint_flags(cluster), *FAST, "--json")
    assert run.code == 2
    assert ("mysql-2", "reachable") in run.failures()
    [down] = [pod for pod in run.json["pods"] if pod["name"] == "mysql-2"]
    assert (down["reachable"], down["canary"]["status"]) == (False, "skipped")
    assert "Can't connect" in down["error"]
    table = run_check(*endpoint_flags(cluster), *FAST)
    assert table.code == 2
    assert table.stdout.splitlines()[-1].startswith("UNREACHABLE:")


def test_wrong_password_exits_2_without_printing_it(cluster: LiveCluster) -> None:
    wrong = "Wr0ng-pw-8Kd"
    run = run_check(*endpoint_flags(cluster), *FAST, env={"MYSQL_ROOT_PASSWORD": wrong})
    assert run.code == 2
    assert "Access denied" in run.stdout
    assert wrong not in run.stdout + run.stderr


def test_no_password_is_a_misconfiguration(cluster: LiveCluster) -> None:
    run = run_check(*endpoint_flags(cluster), "--json", env={"MYSQL_ROOT_PASSWORD": ""})
    assert run.code == 2
    assert run.json["error"].startswith("no root password: set MYSQL_ROOT_PASSWORD")
    assert run.json["pods"] == []


def test_wait_returns_once_the_cluster_heals(cluster: LiveCluster) -> None:
    cluster.sql("mysql-2", f"{cluster.flavor.stop_replica} SQL_THREAD")
    env = {"MYSQL_ROOT_PASSWORD": PASSWORD, "PATH": "/usr/bin:/bin"}
    waiting = subprocess.Popen(
        [sys.executable, str(CHECK), *endpoint_flags(cluster), *FAST, "--wait", "30", "--interval", "0.3"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    time.sleep(1.5)
    cluster.sql("mysql-2", f"{cluster.flavor.start_replica} SQL_THREAD")
    stdout, stderr = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, stdout + stderr
    assert "[check] attempt 1 " in stderr
    assert "mysql-2 replication_sql_thread=No" in stderr
    assert stdout.splitlines()[-1].startswith("HEALTHY")
    assert not [secret for secret in SECRETS if secret in stdout + stderr]


def test_wait_gives_up_with_the_last_verdict(cluster: LiveCluster) -> None:
    cluster.sql("mysql-1", f"{cluster.flavor.stop_replica} IO_THREAD")
    start = time.monotonic()
    # A budget several attempts long even when one attempt takes a second (a loaded machine: with 1.5 s, one
    # attempt was all that fitted and the test failed); what is asserted is giving up, not a duration.
    run = run_check(*endpoint_flags(cluster), *FAST, "--wait", "6", "--interval", "0.3")
    assert run.code == 1
    assert time.monotonic() - start < 60
    assert run.stderr.count("[check] attempt") >= 2
    assert "FAIL mysql-1 replication_io_thread" in run.stdout


def test_python_api_reports_the_same_as_the_command_line(cluster: LiveCluster) -> None:
    endpoints = {pod: Address.parse(address) for pod, address in cluster.endpoints.items()}
    described = Cluster(
        pods=tuple(cluster.pods), primary_sources=(endpoints["mysql-0"],), flavor=cluster.flavor.name
    )
    cluster.sql("mysql-2", f"{cluster.flavor.stop_replica} SQL_THREAD")
    report = check_cluster(described, endpoints, Password(PASSWORD), Options(canary_timeout=3))
    assert [(f.pod, f.check) for f in report.failures] == [("mysql-2", "replication_sql_thread")]
    assert report.canary["mysql-1"].status == "seen"
    assert "FAIL mysql-2 replication_sql_thread" in render_table(report)
    assert PASSWORD not in repr(report) + render_table(report)
