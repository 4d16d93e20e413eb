"""The primary without data never throws away the newest copy (issue 15, defects 1, 2 and 10): it initialises
only when no copy of the cluster's data can exist, re-seeds only from a replica proven to hold every
transaction any replica received (every replica answered, each applied what it received), and otherwise
refuses, changing nothing, and says what a person must decide. Each test failed before the fix.

The facts label-pod.sh gathers from the API come from the harness (`Cluster.write_bootstrap_facts`).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import pymysql
import pytest

from mysql_cluster.flavors import Flavor
from tests.scripts.test_bootstrap import decision, ids, wait_for_ids
from tests.scripts.test_rotation_restart import empty_run_dir
from tests.support.pods import Cluster, Pod, wait_until

pytestmark = pytest.mark.scripts


@pytest.fixture
def cluster(flavor: Flavor) -> Iterator[Cluster]:
    """A primary with rows 1 and 2 and two replicas holding them."""
    with Cluster(flavor, extra_env={"PEER_WAIT_TIMEOUT": "5"}) as built:
        built.start()
        built.primary.sql("CREATE DATABASE app")
        built.primary.sql("CREATE TABLE app.t (id INT PRIMARY KEY)")
        built.primary.sql("CREATE TABLE app.v (id INT PRIMARY KEY, v INT NOT NULL)")
        built.primary.sql("INSERT INTO app.t VALUES (1), (2)")
        built.primary.sql("INSERT INTO app.v VALUES (1, 0)")
        for _ in range(2):
            wait_for_ids(built.add_replica(), [1, 2])
        yield built


def stop_replication(replica: Pod) -> None:
    """The replica's receiver stopped by hand: it falls behind, its applier runs on (a donor must have one),
    once the sidecar takes a stop for a pause (on a server up for a few seconds only it takes it for a
    server restart and starts replication again)."""
    wait_until(lambda: int(replica.sql("SHOW GLOBAL STATUS LIKE 'Uptime'")[0][1]) > 12, 30,
               what=f"{replica.name}'s server to be up for a while")  # fmt: skip
    replica.sql(replica.cluster.flavor.stop_receiver)


class Started:
    """Starts a pod (init containers, server, sidecar) in a thread, as the kubelet would while other pods
    come and go; `join` re-raises what the start raised."""

    def __init__(self, pod: Pod, timeout: float = 240) -> None:
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(pod, timeout), daemon=True)
        self._thread.start()

    def _run(self, pod: Pod, timeout: float) -> None:
        try:
            pod.start(timeout=timeout)
        except BaseException as error:  # handed to join
            self.error = error

    def join(self, timeout: float = 300) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the pod did not start"
        if self.error is not None:
            raise self.error


def lose_data_on_the_same_claim(cluster: Cluster) -> Pod:
    """Every pod stops (a node restart), the primary first (its heartbeat would otherwise leave a replica
    stopped before the other one transaction behind, to be cloned again); the primary's data/ is gone from
    its claim (removed by hand, or a local volume recreated empty under the same claim); the pod comes back
    with a fresh run directory."""
    for pod in cluster.pods:
        pod.stop()
    primary = cluster.primary
    primary.kill()
    empty_run_dir(primary)  # a new pod
    (primary.data_root / "data").rename(primary.data_root / "moved-by-hand")
    return primary


def test_data_gone_on_the_same_claim_waits_for_replicas_that_start_later(cluster: Cluster) -> None:
    """Defect 2: after a node restart the replicas start after the primary. It used to poll them once, find
    none answering and initialise an empty primary, which the replicas then cloned (MariaDB) or stopped on."""
    primary = lose_data_on_the_same_claim(cluster)
    logged = len(primary.log("server"))  # its first initialisation, before the restart
    primary.env["PEER_WAIT_TIMEOUT"] = "120"
    started = Started(primary)
    # Its first look at the peers is within a second (the harness writes an init container's log when it
    # ends, so the test cannot watch it wait): the replicas start well after it.
    time.sleep(10)
    for replica in cluster.replicas:
        replica.start(wait=False)
    started.join()
    assert decision(primary) == "reseed", primary.log("clone")
    assert "waiting for every replica to answer" in primary.log("clone")
    assert "initialising a new datadir" not in primary.log("server")[logged:]
    assert ids(primary) == [1, 2]
    primary.sql("INSERT INTO app.t VALUES (3)")
    for replica in cluster.replicas:
        wait_for_ids(replica, [1, 2, 3])


def test_data_gone_on_the_same_claim_with_no_replica_refuses(flavor: Flavor) -> None:
    """With no other copy, a person decides whether an empty database is wanted: it used to initialise."""
    with Cluster(flavor) as cluster:
        cluster.start()
        cluster.primary.sql("CREATE DATABASE app")
        primary = lose_data_on_the_same_claim(cluster)
        with pytest.raises(RuntimeError, match=r"clone\.sh failed"):
            primary.init()
        assert "Refusing to initialise an empty primary" in primary.log("clone")
        assert "remove the key initialised-claim" in primary.log("clone")
        assert not (primary.data_root / "data").exists()
        assert (primary.data_root / "moved-by-hand").is_dir()


def test_interrupted_first_initialisation_initialises_again(flavor: Flavor) -> None:
    """Only an initialisation creates .init-tmp and only its completion removes it: a pod replaced in the
    middle of its first initialisation starts it again."""
    with Cluster(flavor) as cluster:
        cluster.start()
        primary = cluster.primary
        primary.kill()
        empty_run_dir(primary)  # a new pod
        (primary.data_root / ".init-tmp").mkdir()
        os.chown(primary.data_root / ".init-tmp", cluster.uid, cluster.gid)
        (primary.data_root / "data").rename(primary.data_root / ".init-tmp" / "data")
        primary.start(timeout=120)
        clone = primary.log("clone")
        assert "bootstrap: initialise: the first initialisation on this claim did not complete" in clone
        assert "init: datadir complete" in primary.log("server")


@contextlib.contextmanager
def applier_held(replica: Pod) -> Iterator[None]:
    """A read lock on table app.v on the replica (read-only allows it; MySQL refuses SELECT ... FOR UPDATE
    there): its applier waits on the next write to that table, and whatever the receiver gets after it stays
    received, not applied (commit order is kept)."""
    conn: Any = replica.connect()
    try:
        with conn.cursor() as cursor:
            cursor.execute("LOCK TABLES app.v READ")
        yield
    finally:
        with contextlib.suppress(pymysql.err.Error):
            conn.cursor().execute("UNLOCK TABLES")
        conn.close()


def test_reseed_keeps_what_a_replica_received_and_had_not_applied(cluster: Cluster) -> None:
    """Defect 1 (A): the donor was chosen and cloned by what it had applied, while its applier still worked
    through its relay log: the new primary lacked rows the replica applied afterwards, and they diverged."""
    first, second = cluster.replicas
    stop_replication(second)  # replica 2 falls behind: replica 1 is the most advanced
    with applier_held(first):
        cluster.primary.sql("UPDATE app.v SET v = 1 WHERE id = 1")
        cluster.primary.sql("INSERT INTO app.t VALUES (3), (4)")
        wait_until(lambda: received_not_applied(first), 60, what="replica 1 to receive rows 3 and 4")
        assert ids(first) == [1, 2]
        new = cluster.replace_pod(0)  # the primary's volume is lost
        new.env["PEER_WAIT_TIMEOUT"] = "120"
        started = Started(new)
        time.sleep(10)  # the new primary looks at the replicas meanwhile (its log is written when it ends)
    started.join()  # the lock is gone: replica 1 applies rows 3 and 4, then it is chosen and cloned
    assert "not drained: replica 1: " in new.log("clone"), new.log("clone")
    assert "bootstrap: reseed: from replica 1" in new.log("clone")
    assert ids(new) == [1, 2, 3, 4]
    assert new.sql("SELECT v FROM app.v WHERE id = 1") == [(1,)]
    # Replica 1 resumes from the new primary's first position; replica 2, behind the donor, needs binary logs
    # the new primary never had (it is cloned again: the sidecar's business, not this test's).
    new.sql("INSERT INTO app.t VALUES (5)")
    wait_for_ids(first, [1, 2, 3, 4, 5])
    assert first.sql("SELECT v FROM app.v WHERE id = 1") == [(1,)]


def received_not_applied(replica: Pod) -> bool:
    """Replica 1 holds more in its relay log than it applied."""
    status = replica.replica_status()
    flavor = replica.cluster.flavor
    if flavor.name == "mariadb":
        received = status.get(flavor.received_gtid_column)
        return bool(received) and received != replica.sql("SELECT @@GLOBAL.gtid_slave_pos")[0][0]
    rows = replica.sql(
        "SELECT GTID_SUBTRACT(RECEIVED_TRANSACTION_SET, @@GLOBAL.gtid_executed) "
        "FROM performance_schema.replication_connection_status"
    )
    return bool(rows and rows[0][0])


def test_reseed_refuses_while_a_replica_with_a_claim_does_not_answer(cluster: Cluster) -> None:
    """Defect 1 (B): replicas that did not answer within the wait were left out, and one returned holding
    rows the new primary had written differently. Now: refuse, name it, change nothing."""
    first, second = cluster.replicas
    stop_replication(first)
    cluster.primary.sql("INSERT INTO app.t VALUES (3)")
    wait_for_ids(second, [1, 2, 3])
    second.kill()  # the one holding row 3 is away
    new = cluster.replace_pod(0)
    with pytest.raises(RuntimeError, match=r"clone\.sh failed"):
        new.init()
    log = new.log("clone")
    assert "REFUSING to choose the primary's new data: replicas 2 (with a claim) did not answer" in log, log
    assert "delete pvc,pod" in log
    assert not (new.data_root / "data").exists()


def test_reseed_refuses_when_no_replica_holds_every_transaction(cluster: Cluster) -> None:
    """Two replicas each hold a transaction the other lacks: choosing one discards the other's."""
    first, second = cluster.replicas
    stop_replication(first)
    cluster.primary.sql("INSERT INTO app.t VALUES (3)")
    wait_for_ids(second, [1, 2, 3])
    with contextlib.closing(first.connect()) as conn, conn.cursor() as cursor:  # someone writes on replica 1
        for variable in reversed(cluster.flavor.read_only_variables):
            cursor.execute(f"SET GLOBAL {variable} = OFF")
        cursor.execute("INSERT INTO app.t VALUES (30)")
        for variable in cluster.flavor.read_only_variables:
            cursor.execute(f"SET GLOBAL {variable} = ON")
    new = cluster.replace_pod(0)
    with pytest.raises(RuntimeError, match=r"clone\.sh failed"):
        new.init()
    log = new.log("clone")
    assert "REFUSING to re-seed the primary: no replica holds every transaction the others hold" in log, log
    assert not (new.data_root / "data").exists()


def sequences(position: str) -> int:
    """How many transactions a MariaDB GTID position holds: the sum of its domains' sequence numbers."""
    return sum(int(item.rsplit("-", 1)[1]) for item in position.split(",") if item)


def test_a_reseeded_mariadb_primary_writes_to_a_new_gtid_domain(cluster: Cluster) -> None:
    """Defect 1: MariaDB's GTID is domain-server-seq. Re-seeded from a replica at 0-100-N, the new primary
    (server_id 100 again) issued 0-100-N+1... once more, for other transactions; a copy that held the lost
    primary's 0-100-N+1... (here a claim kept from a scale-down, which no re-seed asks) resumed from it with
    both threads running, silently holding rows the primary lacks. In a domain of its own, the new primary
    refuses that copy (error 1236) instead."""
    if cluster.flavor.name != "mariadb":
        pytest.skip("MySQL's GTIDs name their server (server_uuid), and every clone has a new one")
    first, kept = cluster.replicas
    stop_replication(first)  # replica 1 falls behind
    cluster.primary.sql("INSERT INTO app.t VALUES (3), (4)")
    wait_for_ids(kept, [1, 2, 3, 4])
    gap = sequences(kept.sql("SELECT @@GLOBAL.gtid_slave_pos")[0][0])
    gap -= sequences(first.sql("SELECT @@GLOBAL.gtid_slave_pos")[0][0])
    kept.kill()  # its claim is kept beyond spec.replicas (a scale-down): the re-seed does not ask it
    cluster.retained = [kept.ordinal]
    new = cluster.replace_pod(0)
    new.start(timeout=180)
    assert "bootstrap: reseed: from replica 1" in new.log("clone")
    assert new.sql("SELECT @@GLOBAL.gtid_domain_id") == [(1,)]
    seed = sequences(new.sql("SELECT @@GLOBAL.gtid_binlog_pos")[0][0])
    new.sql("INSERT INTO app.t VALUES (5)")
    # Past the kept copy's sequence numbers (the heartbeat writes every second): without a domain of its own,
    # the new primary's binary log would now hold the numbers the kept copy asks for, for other transactions.
    wait_until(lambda: sequences(new.sql("SELECT @@GLOBAL.gtid_binlog_pos")[0][0]) - seed > gap + 2, 90,
               what="the new primary to write past the kept copy's position")  # fmt: skip
    kept.start(init=False, wait=False)
    try:
        wait_until(
            lambda: "last IO error 1236" in kept.log("sidecar"), 90, what="the kept copy to be refused"
        )
    except TimeoutError as error:
        raise AssertionError(f"{error}\n{kept.logs()}") from None
