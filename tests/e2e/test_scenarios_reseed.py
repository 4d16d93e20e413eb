"""The primary re-seeded on the real cluster never throws away the newest copy (issue 15, defects 1 and 2):
(i) every pod restarted at once with the primary's data/ gone from its claim: nothing is initialised, nothing
is set aside, pod 0 waits for the replicas and is re-seeded from the most advanced; (j) the primary's volume
lost while a replica's applier lags behind what it received: pod 0 waits until it applied it, and every row
any replica received is kept, on every pod. After the chaos scenarios (file order), before destroy.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import pymysql
import pytest

from .checks import Report, assert_healthy, connect, pod_ips, query, wait_for
from .harness import CLIENT, CLUSTER_NAME, Kube, Stack
from .test_scenarios_storage import TABLE, table_state, wait_for_equal_tables, written_before

pytestmark = pytest.mark.e2e

PRIMARY = f"{CLUSTER_NAME}-0"
STOP = "STOP SLAVE" if CLIENT == "mariadb" else "STOP REPLICA"
START = "START SLAVE" if CLIENT == "mariadb" else "START REPLICA"


def logs(kube: Kube, pod: str, container: str) -> str:
    return kube.run("logs", pod, "-c", container, check=False).stdout


def no_stale_data(kube: Kube, pods: list[str] | None = None) -> None:
    for pod in pods or sorted(pod_ips(kube)):
        listing = kube.run("exec", pod, "-c", "mysql", "--", "ls", "-A", "/var/lib/mysql").stdout.split()
        assert ".stale-data" not in listing, (pod, listing)


def test_i_every_pod_restarted_with_the_primarys_data_gone(stack: Stack, kube: Kube, report: Report) -> None:
    stack.up()  # deployed by the earlier scenarios; this module alone deploys it here
    assert_healthy(stack, pods=3)
    password = stack.password()
    with connect(pod_ips(kube)[PRIMARY], password) as conn, conn.cursor() as cur:
        cur.execute("CREATE DATABASE IF NOT EXISTS e2e")
        cur.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (id INT PRIMARY KEY AUTO_INCREMENT, note TEXT)")
    expected = written_before(kube, password, 100)
    # data/ leaves the primary's claim (as by hand, or a local volume recreated empty under the same claim);
    # the running server keeps its files open until the pods go.
    kube.run(
        "exec", PRIMARY, "-c", "mysql", "--", "mv", "/var/lib/mysql/data", "/var/lib/mysql/moved-by-hand"
    )
    start = time.monotonic()
    # The primary goes first, its heartbeat with it: no replica is left a transaction behind the other (it
    # would be cloned again from the re-seeded primary, which holds no binary log before its seed).
    kube.run("delete", "pod", PRIMARY, "--wait=true")
    kube.run("delete", "pod", f"{CLUSTER_NAME}-1", f"{CLUSTER_NAME}-2", "--wait=true")
    assert_healthy(stack, pods=3)
    report(f"every pod restarted with the primary's data/ gone: re-seeded, healthy after "
           f"{time.monotonic() - start:.0f}s")  # fmt: skip
    clone = logs(kube, PRIMARY, "clone")
    assert "data/ is gone from it" in clone, clone
    assert "bootstrap: reseed: from replica" in clone, clone
    assert "initialising a new datadir" not in logs(kube, PRIMARY, "mysql")
    wait_for_equal_tables(kube, password, expected)
    no_stale_data(kube)
    listing = kube.run("exec", PRIMARY, "-c", "mysql", "--", "ls", "-A", "/var/lib/mysql").stdout.split()
    assert "moved-by-hand" in listing, listing  # nothing the automation did not prove is removed
    report(
        f"{expected[0]} rows, CHECKSUM TABLE {expected[1]} on all 3 pods; nothing initialised or set aside"
    )


@contextlib.contextmanager
def applier_held(host: str, password: str) -> Iterator[None]:
    """A read lock on the lag table on the replica (read-only allows it; MySQL refuses SELECT ... FOR UPDATE
    there): its applier waits on the next write to it, and what the receiver gets after it stays received,
    not applied (commit order is kept)."""
    conn: Any = pymysql.connect(host=host, port=3306, user="root", password=password, connect_timeout=10)
    try:
        with conn.cursor() as cursor:
            cursor.execute("LOCK TABLES e2e.lag READ")
        yield
    finally:
        with contextlib.suppress(pymysql.err.Error):
            conn.cursor().execute("UNLOCK TABLES")
        conn.close()


def received_not_applied(host: str, password: str) -> bool:
    if CLIENT == "mariadb":
        with connect(host, password) as conn, conn.cursor(pymysql.cursors.DictCursor) as cursor:
            cursor.execute("SHOW SLAVE STATUS")
            received = (cursor.fetchone() or {}).get("Gtid_IO_Pos")
        return bool(received) and received != query(host, password, "SELECT @@GLOBAL.gtid_slave_pos")[0][0]
    rows = query(host, password, "SELECT GTID_SUBTRACT(RECEIVED_TRANSACTION_SET, @@GLOBAL.gtid_executed) "
                 "FROM performance_schema.replication_connection_status")  # fmt: skip
    return bool(rows and rows[0][0])


def test_j_lost_primary_volume_while_a_replica_lags_what_it_received(
    stack: Stack, kube: Kube, report: Report
) -> None:
    password = stack.password()
    ips = pod_ips(kube)
    first, second = f"{CLUSTER_NAME}-1", f"{CLUSTER_NAME}-2"
    with connect(ips[PRIMARY], password) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS e2e.lag (id INT PRIMARY KEY, v INT NOT NULL)")
        cur.execute("REPLACE INTO e2e.lag VALUES (1, 0)")

    def everywhere() -> bool:
        return all(query(ip, password, "SELECT COUNT(*) FROM e2e.lag")[0][0] == 1 for ip in ips.values())

    wait_for("the lag table on every pod", everywhere)

    # Replica 2 falls behind: replica 1 is the most advanced. By hand, once its server has been up longer
    # than the sidecar's restart window (MONITOR_INTERVAL + 5 s), which would take the stop for a restart.
    def settled() -> bool:
        return int(query(ips[second], password, "SHOW GLOBAL STATUS LIKE 'Uptime'")[0][1]) > 30

    wait_for("replica 2's server to be up for a while", settled, timeout=60)
    query(ips[second], password, STOP)
    claim = f"data-{PRIMARY}"
    old_uid = kube.json("get", "pvc", claim)["metadata"]["uid"]
    with applier_held(ips[first], password):
        with connect(ips[PRIMARY], password) as conn, conn.cursor() as cur:
            cur.execute("UPDATE e2e.lag SET v = 1 WHERE id = 1")
            cur.executemany(f"INSERT INTO {TABLE} (note) VALUES (%s)", [(f"lagging {i}",) for i in range(50)])
        (count,) = query(ips[PRIMARY], password, f"SELECT COUNT(*) FROM {TABLE}")[0]
        expected = (count, query(ips[PRIMARY], password, f"CHECKSUM TABLE {TABLE}")[0][1])
        wait_for(
            "replica 1 to hold what it cannot apply yet", lambda: received_not_applied(ips[first], password)
        )
        start = time.monotonic()
        kube.run("delete", "pvc", claim, "--wait=false")
        kube.run("delete", "pod", PRIMARY, "--wait=true")
        wait_for("pod 0 to wait for replica 1's applier",
                 lambda: "not drained" in logs(kube, PRIMARY, "clone"), timeout=180)  # fmt: skip
        waited = time.monotonic() - start
    assert kube.json("get", "pvc", claim)["metadata"]["uid"] != old_uid
    query(pod_ips(kube)[second], password, START)
    assert_healthy(stack, pods=3)
    report(f"primary volume lost while replica 1 had received rows it could not apply: pod 0 waited"
           f" {waited:.0f}s for its applier, healthy after {time.monotonic() - start:.0f}s")  # fmt: skip
    clone = logs(kube, PRIMARY, "clone")
    assert "bootstrap: reseed: from replica 1" in clone, clone
    wait_for_equal_tables(kube, password, expected)
    values = {pod: query(ip, password, "SELECT v FROM e2e.lag WHERE id = 1")[0][0] for pod, ip in
              pod_ips(kube).items()}  # fmt: skip
    assert set(values.values()) == {1}, values
    # Replica 2, stopped by hand behind the donor, needs binary logs the re-seeded primary never had: it is
    # cloned again (its copy a proven subset). Replica 1, whose received rows were the newest, is kept.
    no_stale_data(kube, [PRIMARY, first])
    report(f"every received row kept: {expected[0]} rows, CHECKSUM TABLE {expected[1]} on all 3 pods "
           f"({table_state(kube, password)})")  # fmt: skip
