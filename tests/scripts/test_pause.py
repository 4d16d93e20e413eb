"""An operator's pause (STOP REPLICA) is respected (issue 15, defect 8): it outlives a restart of the sidecar
and a password rotation, while a restarted server still gets replication started (the server always starts
with replication stopped), and a sidecar killed in the middle of its own STOP/CHANGE/START does not leave
replication stopped.

One primary and one replica per flavor, reading their passwords from a mounted Secret's files (the rotation
test changes them: it runs last). Tests run in file order; each leaves the replica replicating.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mysql_cluster.flavors import Flavor
from tests.scripts.test_rotation import NEW, cluster_on_a_secret, write_secret
from tests.support.pods import DEFAULT_PASSWORDS, Cluster, Pod, wait_until

pytestmark = pytest.mark.scripts


@pytest.fixture(scope="module")
def cluster(flavor: Flavor) -> Iterator[Cluster]:
    with cluster_on_a_secret(flavor) as built:
        yield built


def ids(pod: Pod, password: str = DEFAULT_PASSWORDS.root) -> list[int]:
    return [row[0] for row in pod.sql("SELECT id FROM app.t ORDER BY id", password=password)]


def threads(pod: Pod, password: str = DEFAULT_PASSWORDS.root) -> tuple[str, str]:
    status = pod.replica_status(password=password)
    flavor = pod.cluster.flavor
    return status[flavor.io_running_column], status[flavor.sql_running_column]


def restart_sidecar(pod: Pod) -> None:
    """Kills the sidecar (SIGKILL) and starts it again; returns once it has configured replication and
    serves backups (the line its start logs after configure_replication)."""
    starts = pod.log("sidecar").count("serving backups on port")
    pod.kill_sidecar()
    pod.start_sidecar()
    try:
        wait_until(lambda: pod.log("sidecar").count("serving backups on port") > starts, 60,
                   what=f"{pod.name}'s sidecar to start")  # fmt: skip
    except TimeoutError as error:
        raise AssertionError(f"{error}\n{pod.logs()}") from None


def assert_row_held_back(
    primary: Pod, replica: Pod, row: int, primary_password: str = DEFAULT_PASSWORDS.root
) -> None:
    """The primary writes `row`; three checks of the sidecar later the replica has not applied it and is not
    ready."""
    primary.sql(f"INSERT INTO app.t VALUES ({row})", password=primary_password)
    time.sleep(3)  # three monitor rounds (MONITOR_INTERVAL=1 in the harness)
    readiness = replica.probe("readiness")
    assert readiness.returncode != 0, f"{readiness.stdout}\n{replica.log('sidecar')}"
    assert "SQL thread is not running" in readiness.stdout, readiness.stdout
    assert row not in ids(replica), replica.log("sidecar")


def resume_by_hand(primary: Pod, replica: Pod, statement: str) -> None:
    replica.sql(statement)
    wait_until(lambda: ids(replica) == ids(primary), 30, what="every row on the replica")
    replica.wait_ready(30)


def test_a_pause_outlives_a_restart_of_the_sidecar(cluster: Cluster) -> None:
    primary, replica = cluster.primary, cluster.pod(1)
    replica.wait_ready(60)
    replica.sql(cluster.flavor.stop_replica)
    restart_sidecar(replica)
    assert threads(replica) == ("No", "No"), replica.log("sidecar")
    assert_row_held_back(primary, replica, 2)
    assert threads(replica) == ("No", "No")
    assert "stopped by hand" in replica.log("sidecar")
    resume_by_hand(primary, replica, cluster.flavor.start_replica)  # START REPLICA resumes


def test_a_paused_applier_outlives_a_restart_of_the_sidecar(cluster: Cluster) -> None:
    """One thread stopped by hand (the applier) stays stopped; the receiver runs on."""
    primary, replica = cluster.primary, cluster.pod(1)
    flavor = cluster.flavor
    replica.sql(f"{flavor.stop_replica} SQL_THREAD")
    restart_sidecar(replica)
    assert_row_held_back(primary, replica, 3)
    assert threads(replica) == ("Yes", "No"), replica.log("sidecar")
    resume_by_hand(primary, replica, f"{flavor.start_replica} SQL_THREAD")


def test_a_restarted_server_starts_replication_after_a_pause(cluster: Cluster) -> None:
    """A server always starts with replication stopped (skip_replica_start): a pause ends with the server,
    whether the sidecar runs on or restarts with it."""
    primary, replica = cluster.primary, cluster.pod(1)
    replica.sql(cluster.flavor.stop_replica)
    replica.kill_server()
    primary.sql("INSERT INTO app.t VALUES (4)")
    replica.start_server()  # the sidecar kept running
    wait_until(lambda: 4 in ids(replica), 60, what="row 4 on the replica")
    replica.wait_ready(30)

    replica.sql(cluster.flavor.stop_replica)
    replica.kill()  # server and sidecar: a node failure
    primary.sql("INSERT INTO app.t VALUES (5)")
    replica.start(init=False, wait=False)
    wait_until(lambda: 5 in ids(replica), 60, what="row 5 on the replica")
    replica.wait_ready(30)


def test_a_sidecar_killed_in_the_middle_of_its_own_repoint_starts_replication_again(cluster: Cluster) -> None:
    """The sidecar re-points a replica whose source was removed by hand (RESET REPLICA ALL: no pause) and is
    killed between its CHANGE ... TO and its START: replication is stopped cleanly on a server it ran on, as
    after a person's STOP, but the next sidecar starts it (its predecessor's mark names the threads). The kill
    lands in that window when the source reappears; an attempt that missed it is repeated."""
    primary, replica = cluster.primary, cluster.pod(1)
    flavor = cluster.flavor
    for _ in range(5):
        replica.wait_ready(60)
        with contextlib.closing(replica.connect()) as conn, conn.cursor() as cursor:
            cursor.execute(flavor.stop_replica)
            cursor.execute(flavor.reset_replica_all)
            deadline = time.monotonic() + 30
            while not cursor.execute(flavor.show_replica_status):  # no row until the sidecar's CHANGE
                assert time.monotonic() < deadline, replica.log("sidecar")
            replica.kill_sidecar()
        if threads(replica) == ("No", "No"):
            break  # killed between its CHANGE and its START
        replica.start_sidecar()
    else:
        pytest.fail("the kill never landed between the sidecar's CHANGE and its START")
    primary.sql("INSERT INTO app.t VALUES (6)")
    restart_sidecar(replica)
    wait_until(lambda: 6 in ids(replica), 30, what="row 6 on the replica")
    replica.wait_ready(30)
    assert not (replica.run_dir / "replication-repointing").exists()


def test_a_pause_outlives_a_password_rotation(cluster: Cluster) -> None:
    """The replica re-points with the new replication password (MariaDB pauses replication whole for the
    CHANGE MASTER, MySQL only the receiver), and leaves the pause as it found it."""
    primary, replica = cluster.primary, cluster.pod(1)
    replica.sql(cluster.flavor.stop_replica)
    write_secret(Path(primary.env["SECRET_DIR"]), NEW, cluster.uid, cluster.gid)
    try:
        wait_until(lambda: "applied the Secret's passwords" in primary.log("sidecar"), 60,
                   what="the primary to apply the passwords")  # fmt: skip
        wait_until(lambda: "re-pointed with the new replication password" in replica.log("sidecar"), 60,
                   what="the replica to re-point")  # fmt: skip
    except TimeoutError as error:
        raise AssertionError(f"{error}\n{cluster.logs()}") from None
    # The replica has not applied the primary's ALTER USER: its root password is still the old one.
    assert_row_held_back(primary, replica, 7, primary_password=NEW.root)
    assert threads(replica) == ("No", "No"), replica.log("sidecar")
    replica.sql(cluster.flavor.start_replica)  # resumes, with the new replication password
    wait_until(lambda: ids(replica, NEW.root) == ids(primary, NEW.root), 30, what="every row on the replica")
    replica.wait_ready(30)
    assert replica.replica_status(password=NEW.root)[cluster.flavor.last_io_errno_column] == 0
