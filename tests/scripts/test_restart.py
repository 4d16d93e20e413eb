"""Replicas survive restarts without re-cloning: pod, sidecar and server restarts, a misconfigured source, a
crash in the middle of the first configuration of a clone (a replica left behind purged logs:
test_reclone.py).

One primary and one replica for the module; tests run in file order.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from mysql_cluster.flavors import Flavor
from tests.support.pods import Cluster, Pod, listening, wait_until

pytestmark = pytest.mark.scripts


@pytest.fixture(scope="module")
def cluster(flavor: Flavor) -> Iterator[Cluster]:
    with Cluster(flavor) as built:
        built.start_with_a_replica()
        yield built


def point_at_port_1(flavor: Flavor) -> str:
    """A source nobody listens on, in the flavor's syntax (what an operator's mistake would look like)."""
    if flavor.name == "mysql":
        return "CHANGE REPLICATION SOURCE TO SOURCE_HOST = '127.0.0.1', SOURCE_PORT = 1"
    return "CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = 1"


def ids(pod: Pod) -> list[int]:
    return [row[0] for row in pod.sql("SELECT id FROM app.t ORDER BY id")]


def wait_for_ids(pod: Pod, expected: list[int], timeout: float = 30) -> None:
    wait_until(lambda: ids(pod) == expected, timeout, what=f"{pod.name} to hold rows {expected}")


def backups_served(pod: Pod) -> int:
    return pod.log("sidecar").count("streaming a backup of")


def wait_for_log(pod: Pod, script: str, text: str, timeout: float = 60) -> None:
    try:
        wait_until(lambda: text in pod.log(script), timeout, what=f"{text!r} in the {script} log")
    except TimeoutError as error:
        raise AssertionError(f"{error}\n{pod.logs()}") from None


def test_killed_replica_resumes_without_recloning(cluster: Cluster) -> None:
    primary, replica = cluster.primary, cluster.pod(1)
    wait_for_ids(replica, [1])
    inode = replica.data_dir.stat().st_ino
    ibdata_inode = (replica.data_dir / "ibdata1").stat().st_ino
    served = backups_served(primary)

    replica.kill()  # SIGKILL to server and sidecar: a node failure
    primary.sql("INSERT INTO app.t VALUES (2), (3)")  # written while the replica is down
    replica.start(timeout=60)  # init containers again, then server and sidecar

    wait_for_ids(replica, [1, 2, 3])
    assert replica.data_dir.stat().st_ino == inode
    assert (replica.data_dir / "ibdata1").stat().st_ino == ibdata_inode
    assert backups_served(primary) == served, "the replica must not have been cloned again"
    assert "is present (complete by construction): not cloning" in replica.log("clone")
    # The server came back with replication stopped (skip_slave_start); the sidecar started it.
    flavor = cluster.flavor
    stopped = f"({flavor.io_running_column}=No, {flavor.sql_running_column}=No)"
    assert f"but not running {stopped}; starting it" in replica.log("sidecar")


def test_restarted_sidecar_leaves_running_replication_alone(cluster: Cluster) -> None:
    replica = cluster.pod(1)
    replica.kill_sidecar()
    replica.start_sidecar()
    wait_for_log(replica, "sidecar", "already replicating from 127.0.0.1")
    cluster.primary.sql("INSERT INTO app.t VALUES (4)")
    wait_for_ids(replica, [1, 2, 3, 4])


def test_sidecar_restarts_replication_after_a_server_crash(cluster: Cluster) -> None:
    primary, replica = cluster.primary, cluster.pod(1)
    time.sleep(4)  # the server has been up for a while: the sidecar sees its start time change
    replica.kill_server()
    primary.sql("INSERT INTO app.t VALUES (5)")
    replica.start_server()  # the sidecar kept running
    wait_for_log(replica, "sidecar", "the server restarted; configuring replication again")
    wait_for_ids(replica, [1, 2, 3, 4, 5])
    replica.wait_ready(30)


def test_sidecar_restarts_replication_after_a_quick_server_restart(cluster: Cluster) -> None:
    primary, replica = cluster.primary, cluster.pod(1)
    replica.kill_server()
    replica.start_server()
    replica.wait_alive()
    replica.kill_server()  # up for about a second: its start time barely moved
    primary.sql("INSERT INTO app.t VALUES (55)")
    replica.start_server()
    wait_for_ids(replica, [1, 2, 3, 4, 5, 55])
    replica.wait_ready(30)
    primary.sql("DELETE FROM app.t WHERE id = 55")
    wait_for_ids(replica, [1, 2, 3, 4, 5])


def test_sidecar_repoints_a_replica_configured_for_another_source(cluster: Cluster) -> None:
    primary, replica = cluster.primary, cluster.pod(1)
    replica.sql(cluster.flavor.stop_replica)
    replica.sql(point_at_port_1(cluster.flavor))
    replica.kill_sidecar()
    replica.start_sidecar()
    wait_for_log(replica, "sidecar", "source is replicator@127.0.0.1:1")
    wait_for_log(replica, "sidecar", f"re-pointing at replicator@127.0.0.1:{primary.port}")
    primary.sql("INSERT INTO app.t VALUES (6)")
    wait_for_ids(replica, [1, 2, 3, 4, 5, 6])
    assert replica.replica_status()[cluster.flavor.source_port_column] == primary.port


def test_replication_stopped_by_hand_stays_stopped(cluster: Cluster) -> None:
    """STOP REPLICA (STOP SLAVE) on a server that has been up a while is an operator's pause: the sidecar
    leaves it stopped and says so, the replica is not ready meanwhile, and START REPLICA resumes it."""
    primary, replica = cluster.primary, cluster.pod(1)
    replica.wait_ready(30)
    wait_until(
        lambda: int(replica.sql("SHOW GLOBAL STATUS LIKE 'Uptime'")[0][1]) > 8,
        30,
        what=f"{replica.name}'s server to have been up a while",
    )
    flavor = cluster.flavor
    replica.sql(flavor.stop_replica)
    wait_for_log(replica, "sidecar", "stopped by hand on this server")
    time.sleep(3)  # three more monitor rounds (MONITOR_INTERVAL=1 in the harness)
    status = replica.replica_status()
    assert (status[flavor.io_running_column], status[flavor.sql_running_column]) == ("No", "No")
    assert replica.probe("readiness").returncode != 0
    replica.sql(flavor.start_replica)
    primary.sql("INSERT INTO app.t VALUES (77)")
    wait_for_ids(replica, [*ids(primary)])
    primary.sql("DELETE FROM app.t WHERE id = 77")
    wait_for_ids(replica, ids(primary))
    replica.wait_ready(30)


def test_clone_position_survives_a_crash_before_it_was_consumed(cluster: Cluster) -> None:
    """The sidecar died after pointing the fresh clone at the primary but before deleting the position
    file: the next sidecar applies the same position again and no row arrives twice."""
    if cluster.flavor.seeding == "clone-plugin":
        pytest.skip("a CLONE carries its GTID state in the data: there is no position file to consume")
    primary = cluster.primary
    replica = cluster.add_replica(start=False)
    replica.init()  # clones from mysql-1
    position_file = replica.data_root / "clone-gtid-position"
    position = position_file.read_text().split("gtid=")[1].strip()
    assert position  # rows 1..6 were written before the clone
    replica.start_server()
    replica.wait_alive()
    # What the crashed sidecar had done: the position and the source, without starting replication.
    flavor, passwords = cluster.flavor, cluster.passwords
    replica.sql(f"SET GLOBAL gtid_slave_pos = '{position}'")
    replica.sql(
        "CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = %s, MASTER_USER = 'replicator', "
        "MASTER_PASSWORD = %s, MASTER_USE_GTID = slave_pos",
        (primary.port, passwords.replication),
    )
    assert flavor.apply_gtid_position.startswith("SET GLOBAL gtid_slave_pos")
    primary.sql("INSERT INTO app.t VALUES (7), (8)")

    replica.start_sidecar()
    replica.wait_ready(120)  # a fresh server and its first configuration, on a loaded machine
    wait_for_ids(replica, [1, 2, 3, 4, 5, 6, 7, 8])
    assert not position_file.exists()
    assert replica.log("sidecar").count("applying the clone's GTID position") == 1
    status = replica.replica_status()
    assert (status["Last_SQL_Errno"], status["Slave_SQL_Running"]) == (0, "Yes")

    replica.stop()  # SIGTERM, as the kubelet sends it
    assert replica.sidecar is not None
    assert replica.server is not None
    assert (replica.sidecar.returncode, replica.server.returncode) == (0, 0)
    assert "stopping (signal received)" in replica.log("sidecar")
    assert not listening(replica.clone_port)


def test_replica_without_a_source_is_configured_again(cluster: Cluster) -> None:
    # What a server restarted within seconds on a fresh clone looks like to the sidecar (too quick for its
    # start time to tell): no source at all. Seen on Kubernetes after a quick re-clone.
    primary, replica = cluster.primary, cluster.pod(1)
    replica.sql(cluster.flavor.stop_replica)
    replica.sql(cluster.flavor.reset_replica_all)
    assert replica.replica_status() == {}
    wait_until(lambda: replica.replica_status() != {}, 30, what="the sidecar to configure replication")
    replica.wait_ready(60)
    primary.sql("INSERT INTO app.t VALUES (77)")
    wait_for_ids(replica, ids(primary))
