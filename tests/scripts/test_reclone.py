"""A replica whose primary can no longer serve its position (error 1236, MySQL 13114) is cloned again only
when that provably discards nothing (issue 15, defects 3 and 5): its GTIDs all on the primary, no copy set
aside before, room for the clone beside the one it keeps; and the clone runs in the backup container, whose
image has the seeding tools, while the server container (here without them) waits.

One primary and one replica for the module; tests run in file order, each leaving the replica ready.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest

from mysql_cluster.flavors import Flavor
from tests.scripts.test_restart import ids, wait_for_log
from tests.support.pods import Cluster, Pod, wait_until

pytestmark = pytest.mark.scripts


@pytest.fixture(scope="module")
def cluster(flavor: Flavor) -> Iterator[Cluster]:
    with Cluster(flavor) as built:
        built.start_with_a_replica()
        yield built


def leave_behind_purged_binlogs(cluster: Cluster, replica: Pod, row: int) -> None:
    """The replica goes away, the primary writes `row` and purges every binary log but the current one:
    the replica's position is gone from the primary when it returns."""
    primary = cluster.primary
    replica.kill()
    primary.sql(f"INSERT INTO app.t VALUES ({row})")
    # Dump threads of the killed replica keep their files from purging. MySQL: "Binlog Dump GTID".
    for (dump,) in primary.sql(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'"
    ):
        with contextlib.suppress(pymysql.err.OperationalError):  # 1094: it ended by itself meanwhile
            primary.sql(f"KILL {dump}")

    def purged() -> bool:
        primary.sql("FLUSH BINARY LOGS")
        current = primary.sql(cluster.flavor.show_binary_log_status)[0][0]
        primary.sql(f"PURGE BINARY LOGS TO '{current}'")
        return len(primary.sql("SHOW BINARY LOGS")) == 1

    wait_until(purged, 20, what="the primary to purge every binary log but the current one")


def write_on_the_replica(cluster: Cluster, replica: Pod, statement: str) -> None:
    """An errant transaction: written on the replica, binary-logged, with read-only lifted by hand (MySQL:
    super_read_only; MariaDB's root@localhost writes through read_only), then restored."""
    with contextlib.closing(replica.connect()) as conn, conn.cursor() as cursor:
        if "super_read_only" in cluster.flavor.read_only_variables:
            cursor.execute("SET GLOBAL super_read_only = OFF")
        try:
            cursor.execute(statement)
        finally:
            cursor.execute(cluster.flavor.enforce_read_only)


def backup_tools(flavor: Flavor) -> tuple[str, ...]:
    """What a server image may lack (mysql:8.4 has no xtrabackup, xbstream or socat): every program the
    seeding needs beyond the server and its client."""
    return tuple(tool for tool in (flavor.backup_binary, flavor.stream_binary, "socat", "openssl") if tool)


def own_gtids(cluster: Cluster, replica: Pod) -> str:
    """The GTIDs the replica originated itself (MySQL: of its server_uuid; MariaDB: of its domain and
    server_id), as its GTID history lists them."""
    uuid = cluster.flavor.server_uuid_variable
    own = f"LOWER(@@GLOBAL.{uuid})" if uuid else "CONCAT(@@GLOBAL.gtid_domain_id, '-', @@GLOBAL.server_id)"
    [(origin, history)] = replica.sql(f"SELECT {own}, @@GLOBAL.{cluster.flavor.gtid_history_variable}")
    items = [item.strip() for item in history.replace("\n", "").split(",")]
    [errant] = [item for item in items if item.lower().startswith(f"{origin}{':' if uuid else '-'}")]
    return str(errant)


def inode(path: Path) -> int:
    return path.stat().st_ino


def refused_without_moving(replica: Pod, data_inode: int, stale_inode: int | None) -> str:
    """Nothing moved, for three more checks (MONITOR_INTERVAL=1): data/ in place, the set-aside copy as it
    was (or none), no request; the probe's reason is returned."""
    time.sleep(3)
    assert inode(replica.data_dir) == data_inode
    stale = replica.data_root / ".stale-data"
    assert (inode(stale) if stale.exists() else None) == stale_inode
    assert not (replica.data_root / "reclone-requested").exists()
    probe = replica.probe("readiness")
    assert probe.returncode != 0
    return probe.stdout


def finish_reclone(cluster: Cluster, replica: Pod, data_inode: int) -> None:
    """The server stopped for the re-clone; the kubelet restarts its container, which sets data/ aside (as
    .stale-data) and waits while the backup container clones; then the replica holds the primary's rows."""
    assert replica.server is not None
    replica.server.wait(60)
    assert inode(replica.data_dir) == data_inode, "data/ moves only when no server runs on it"
    assert (replica.data_root / "reclone-requested").exists()
    replica.start_server()
    replica.wait_ready(180)
    assert inode(replica.data_root / ".stale-data") == data_inode
    wait_until(lambda: ids(replica) == ids(cluster.primary), 30, what="the re-cloned replica's rows")
    assert replica.replica_status()[cluster.flavor.last_io_errno_column] == 0


def reclone_function(cluster: Cluster, function: str, *facts: str) -> str:
    """What a function of reclone.sh prints for these facts, run as the replica's sidecar would run it."""
    replica, primary = cluster.pod(1), cluster.primary
    script = (
        f"source {cluster.config_dir}/lib.sh && parse_ordinal && load_flavor && "
        f"source {cluster.config_dir}/reclone.sh && primary_host=127.0.0.1 primary_port={primary.port} && "
        f'{function} "$@"'
    )
    result = cluster.run("bash", "-c", script, "reclone", *facts, env=replica.env)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize(
    ("facts", "verdict"),
    [
        (("", "no", "no", "1000", "900"), "reclone"),
        (("0-101-6", "no", "no", "1000", "900"), "diverged"),
        (("0-101-6", "no", "yes", "1000", "900"), "diverged"),  # the person decides that first
        (("0-101-6", "yes", "no", "1000", "900"), "reclone"),  # approved: the sets are not compared
        (("0-101-6", "yes", "yes", "1000", "900"), "kept-copy"),
        (("", "no", "yes", "1000", "900"), "kept-copy"),
        (("", "no", "no", "899", "900"), "no-room"),
        (("", "no", "no", "", "900"), "no-room"),  # free space unknown: not proven
    ],
)
def test_the_decision_from_its_facts(cluster: Cluster, facts: tuple[str, ...], verdict: str) -> None:
    assert reclone_function(cluster, "reclone_decision", *facts) == verdict


def test_the_gtids_the_primary_lacks(cluster: Cluster) -> None:
    if cluster.flavor.name == "mysql":  # GTID_SUBTRACT, asked of the primary as the replication user
        uuid, other = "3e11fa47-71ca-11e1-9e33-c80aa9429562", "4e11fa47-71ca-11e1-9e33-c80aa9429562"
        cases = {
            (f"{uuid}:1-3,{other}:1,{uuid}:2-5", f"{uuid}:1-9"): f"{other}:1",
            (f"{uuid}:1-12", f"{uuid}:1-9"): f"{uuid}:10-12",
            (f"{uuid}:1-5", f"{uuid}:1-9,{other}:1-2"): "",
        }
    else:  # per domain and server id, in bash
        cases = {
            ("0-100-5,0-101-6", "0-100-9"): "0-101-6",
            ("0-100-12,0-100-12", "0-100-9,0-101-3"): "0-100-12",
            ("0-100-5,1-100-2", "0-100-9,1-100-2,0-101-1"): "",
        }
    for (held, history), lacking in cases.items():
        assert reclone_function(cluster, "gtids_missing", held, history).strip() == lacking, (held, history)


def test_a_replica_behind_purged_binlogs_is_cloned_again_in_the_backup_container(cluster: Cluster) -> None:
    """Defect 5 (failed before: the server container ran the clone, and without the backup tools it never
    succeeded) and the plain stale case of defect 3: every GTID of the replica is on the primary."""
    replica = cluster.pod(1)
    replica.server_image_without(*backup_tools(cluster.flavor))
    leave_behind_purged_binlogs(cluster, replica, 9)
    data_inode = inode(replica.data_dir)

    replica.start(wait=False)
    wait_for_log(replica, "sidecar", "STALE DATA")
    assert f"error {cluster.flavor.source_purged_errno}" in replica.log("sidecar")
    finish_reclone(cluster, replica, data_inode)
    assert "cloning it in this container" in replica.log("sidecar")
    assert "waiting for the backup container to clone it" in replica.log("server")
    assert "set aside as" in replica.log("server")


def test_a_copy_set_aside_before_is_never_removed(cluster: Cluster) -> None:
    """Defect 3 (failed before: the sidecar removed the previous .stale-data with rm -rf and moved the data
    again). Stale once more while the first copy is kept: refused, nothing moves; once a person removed
    the copy, the replica is cloned again by itself."""
    replica = cluster.pod(1)
    stale = replica.data_root / ".stale-data"
    if not stale.exists():  # run on its own: a copy an earlier re-clone would have left
        shutil.copytree(replica.data_dir / "app", stale / "app")
    stale_inode = inode(stale)
    leave_behind_purged_binlogs(cluster, replica, 10)
    data_inode = inode(replica.data_dir)

    replica.start(wait=False)
    wait_for_log(replica, "sidecar", f"but {stale} already holds the copy an earlier re-clone set aside")
    assert f"rm -rf {stale}; this replica is then cloned again by itself" in replica.log("sidecar")
    reason = refused_without_moving(replica, data_inode, stale_inode)
    assert "re-clone refused" in reason
    assert ".stale-data" in reason

    shutil.rmtree(stale)  # what the log told the person to do once the copy is not needed
    wait_for_log(replica, "sidecar", "STALE DATA")
    finish_reclone(cluster, replica, data_inode)


def test_a_replica_holding_transactions_the_primary_lacks_is_not_moved_aside(cluster: Cluster) -> None:
    """Defect 3 (failed before: an errant replica's data was moved aside and cloned over). A transaction
    written on the replica, then its primary purged what it needs: refused with both GTID sets and the
    commands of the two choices; then a person approves, and it is cloned again, its data kept aside."""
    replica = cluster.pod(1)
    shutil.rmtree(replica.data_root / ".stale-data", ignore_errors=True)  # a previous test's, not needed
    write_on_the_replica(cluster, replica, "INSERT INTO app.t VALUES (1000)")
    errant = own_gtids(cluster, replica)
    leave_behind_purged_binlogs(cluster, replica, 11)
    data_inode = inode(replica.data_dir)

    replica.start(wait=False)
    wait_for_log(replica, "sidecar", "holds every transaction of this replica, it is cloned again by itself")
    log = replica.log("sidecar")
    assert f"this replica holds transactions the primary lacks: '{errant}'" in log
    assert "this replica holds '" in log
    assert f"the primary (127.0.0.1:{cluster.primary.port}) '" in log  # both sets, as compared
    approval = replica.data_root / "reclone-approved"
    assert f"kubectl exec -n mysql-cluster-test {replica.name} -c backup -- touch {approval}" in log
    assert "apply them to the primary with their GTIDs" in log
    reason = refused_without_moving(replica, data_inode, None)
    assert "re-clone refused: this replica holds transactions the primary lacks" in reason
    assert 1000 in ids(replica)

    approval.touch()  # choice 1: discard them, the data kept aside
    wait_for_log(replica, "sidecar", "a person approved cloning this replica again")
    finish_reclone(cluster, replica, data_inode)
    assert 1000 not in ids(replica)
    assert not approval.exists()


def test_a_reclone_survives_its_sidecars_restarts(cluster: Cluster) -> None:
    """The request outlives the sidecar: killed right after it (the server may still run), and again while
    it clones, the next sidecar stops the server and clones; nothing is lost, nothing moved twice."""
    replica = cluster.pod(1)
    shutil.rmtree(replica.data_root / ".stale-data", ignore_errors=True)  # the previous test's copy
    leave_behind_purged_binlogs(cluster, replica, 12)
    data_inode = inode(replica.data_dir)
    replica.start(wait=False)
    wait_for_log(replica, "sidecar", "STALE DATA")
    replica.kill_sidecar()
    replica.start_sidecar()
    assert replica.server is not None
    replica.server.wait(60)
    assert inode(replica.data_dir) == data_inode
    replica.start_server()
    wait_until(
        lambda: replica.log("sidecar").count("cloning it in this container") >= 1,
        60,
        0.1,
        what="the sidecar to clone",
    )
    replica.kill_sidecar()  # in the middle of the clone, or just after it
    replica.start_sidecar()
    replica.wait_ready(180)
    assert inode(replica.data_root / ".stale-data") == data_inode
    assert not (replica.data_root / ".clone-tmp").exists()
    assert not (replica.data_root / "reclone-requested").exists()
    wait_until(lambda: ids(replica) == ids(cluster.primary), 30, what="the re-cloned replica's rows")
