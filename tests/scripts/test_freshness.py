"""Replica readiness does not depend on the primary's sidecar (issue 15, defect 6): a replica whose receiver
is connected to the primary and whose applier has applied everything it received is fresh, whatever the age
of the newest heartbeat it applied (the heartbeat is written by the primary's `backup` sidecar, which may be
down); the heartbeat's age decides only while the replica is disconnected or has not caught up. The
receiver's "connected" is honest within the bound: its network timeout derives from MAX_LAG_SECONDS, so a
primary that stops answering without closing the connection (frozen, or behind a silent network cut) is
noticed in time.

One primary and one replica per flavor; tests run in file order.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator

import pytest

from mysql_cluster.flavors import Flavor
from tests.support.pods import Cluster, Pod, wait_until

pytestmark = pytest.mark.scripts

MAX_LAG = 12  # room for the checks made inside the bound on a loaded machine


@pytest.fixture(scope="module")
def cluster(flavor: Flavor) -> Iterator[Cluster]:
    with Cluster(flavor, max_lag_seconds=MAX_LAG) as built:
        built.start_with_a_replica()
        built.primary.sql("CREATE TABLE app.c (id INT PRIMARY KEY, v INT NOT NULL)")
        built.primary.sql("INSERT INTO app.c VALUES (1, 0)")
        wait_until(lambda: counter(built.pod(1)) == 0, 30, what="app.c on the replica")
        yield built


def ids(pod: Pod) -> list[int]:
    return [row[0] for row in pod.sql("SELECT id FROM app.t ORDER BY id")]


def counter(pod: Pod) -> int:
    return int(pod.sql("SELECT v FROM app.c WHERE id = 1")[0][0])


def heartbeat_age(pod: Pod) -> float:
    [(age,)] = pod.sql(
        "SELECT TIMESTAMPDIFF(MICROSECOND, written_at, NOW(6)) / 1e6 FROM mysql_cluster.heartbeat"
    )
    return float(age)


def readiness(pod: Pod) -> str:
    result = pod.probe("readiness")
    return f"{result.returncode} {result.stdout.strip()}"


@contextlib.contextmanager
def row_lock_on(pod: Pod) -> Iterator[None]:
    """Holds a lock on app.c's row 1 on `pod` in an open transaction, which read-only allows: the applier
    blocks on the primary's next update of that row until the block ends. MariaDB's read_only allows
    SELECT ... FOR UPDATE; MySQL's super_read_only refuses it (1290) but allows the shared lock, which blocks
    the update as well."""
    lock = "FOR SHARE" if pod.cluster.flavor.name == "mysql" else "FOR UPDATE"
    with contextlib.closing(pod.connect()) as conn, conn.cursor() as cursor:
        cursor.execute("BEGIN")
        cursor.execute(f"SELECT v FROM app.c WHERE id = 1 {lock}")
        try:
            yield
        finally:
            cursor.execute("ROLLBACK")


def test_a_replica_stays_ready_while_the_primarys_sidecar_is_down(cluster: Cluster) -> None:
    """Only the primary's sidecar is killed: the heartbeat stops, replication goes on. The replica stays ready
    past MAX_LAG_SECONDS and holds every row written meanwhile."""
    primary, replica = cluster.primary, cluster.pod(1)
    replica.wait_ready(30)
    primary.kill_sidecar()
    killed = time.monotonic()
    next_id = 100
    answers: list[str] = []
    while time.monotonic() - killed < MAX_LAG + 8:
        primary.sql(f"INSERT INTO app.t VALUES ({next_id})")
        next_id += 1
        if time.monotonic() - killed > MAX_LAG + 2:
            answers.append(readiness(replica))
        time.sleep(0.5)
    assert heartbeat_age(replica) > MAX_LAG  # the heartbeat really is older than the bound
    assert answers, "the loop probed the replica past the bound"
    assert all(answer.startswith("0 ready: ") for answer in answers), answers
    assert "caught up" in answers[-1], answers[-1]
    wait_until(lambda: ids(replica) == ids(primary), 30, what="every row on the replica")


def test_a_replica_whose_applier_is_blocked_is_not_ready_while_the_primarys_sidecar_is_down(
    cluster: Cluster,
) -> None:
    """Connected, but behind what it received (its applier waits on a row lock): with no fresh heartbeat to
    vouch for its data, the replica is not ready until the applier catches up."""
    primary, replica = cluster.primary, cluster.pod(1)
    assert heartbeat_age(replica) > MAX_LAG  # the primary's sidecar is still down
    before = counter(primary)
    with row_lock_on(replica):
        primary.sql("UPDATE app.c SET v = v + 1 WHERE id = 1")
        time.sleep(2)  # received, not applied
        answer = readiness(replica)
        assert answer.startswith("1 not ready: "), answer
        assert "not applied everything it received" in answer, answer
        assert counter(replica) == before
    wait_until(lambda: counter(replica) == before + 1, 30, what="the update on the replica")
    wait_until(lambda: replica.probe("readiness").returncode == 0, 30, what="the replica to be ready again")


def test_a_replica_whose_applier_is_blocked_leaves_once_it_is_behind_by_more_than_the_bound(
    cluster: Cluster,
) -> None:
    """With the heartbeat running again, a replica whose applier is blocked stays ready while the newest
    heartbeat it applied is within MAX_LAG_SECONDS, and leaves once it is older, although its receiver is
    connected throughout."""
    primary, replica = cluster.primary, cluster.pod(1)
    primary.start_sidecar()
    wait_until(lambda: heartbeat_age(replica) < 3, 60, what="a fresh heartbeat on the replica")
    with row_lock_on(replica):
        primary.sql("UPDATE app.c SET v = v + 1 WHERE id = 1")
        blocked = time.monotonic()
        time.sleep(2)
        answer = readiness(replica)
        assert answer.startswith("0 ready: "), answer  # behind by seconds: within the bound
        wait_until(
            lambda: replica.probe("readiness").returncode != 0, MAX_LAG + 20, what="the bound to be exceeded"
        )
        assert time.monotonic() - blocked >= MAX_LAG - 1
        answer = readiness(replica)
        assert f"more than MAX_LAG_SECONDS={MAX_LAG}s" in answer, answer
        assert cluster.flavor.io_running_column + "=Yes" in answer, answer  # connected all along
    wait_until(lambda: replica.probe("readiness").returncode == 0, 30, what="the replica to be ready again")


def test_a_replica_of_a_frozen_primary_leaves_within_the_bound(cluster: Cluster) -> None:
    """The primary stops answering without closing its connections (SIGSTOP: as a silent network cut looks
    to the replica) while its sidecar is down: the receiver's network timeout, derived from
    MAX_LAG_SECONDS, notices it in time, and the replica leaves the read Service before its data is older
    than the bound; once the primary answers again, it returns."""
    primary, replica = cluster.primary, cluster.pod(1)
    primary.kill_sidecar()
    wait_until(lambda: heartbeat_age(replica) > MAX_LAG, MAX_LAG + 10, what="the heartbeat to be too old")
    replica.wait_ready(30)  # connected and caught up
    assert primary.server is not None
    os.killpg(primary.server.pid, signal.SIGSTOP)
    frozen = time.monotonic()
    try:
        wait_until(
            lambda: replica.probe("readiness").returncode != 0, MAX_LAG + 30, what="the replica to leave"
        )
        left = time.monotonic() - frozen
        assert left <= MAX_LAG, f"left {left:.1f}s after the primary froze: {readiness(replica)}"
    finally:
        os.killpg(primary.server.pid, signal.SIGCONT)
    primary.sql("INSERT INTO app.t VALUES (999)")
    replica.wait_ready(60)
    wait_until(lambda: ids(replica) == ids(primary), 30, what="every row on the replica")
