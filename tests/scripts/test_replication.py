"""A three-pod cluster built by the real scripts: initialise, clone (N-1), replicate, refuse writes, probe.

One cluster for the module (building it is most of the cost): mysql-0 initialises, mysql-1 clones from
mysql-0, mysql-2 clones from mysql-1. A watch samples every process's command line the whole time.
Tests run in file order; each leaves the cluster replicating as it found it.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
import time
from collections.abc import Iterator

import pymysql
import pytest

from mysql_cluster.flavors import Flavor, get_flavor
from tests.scripts.conftest import MARIADB_FLAVORS, flavor_id
from tests.support.clone_port import secret_forms
from tests.support.pods import DEFAULT_PASSWORDS, Cluster, CommandLineWatch, Pod, wait_until

pytestmark = pytest.mark.scripts


# The clone credential's secret material, as the scripts handle it (digest of the password, derived key).
CLONE_SECRETS = secret_forms(DEFAULT_PASSWORDS.backup)


@pytest.fixture(scope="module")
def watch() -> Iterator[CommandLineWatch]:
    with CommandLineWatch((*DEFAULT_PASSWORDS.all(), *CLONE_SECRETS)) as running:
        yield running


@pytest.fixture(scope="module", params=MARIADB_FLAVORS, ids=flavor_id)
def flavor(request: pytest.FixtureRequest) -> Flavor:
    """MariaDB only: the MySQL counterpart of this module is test_mysql.py."""
    name, version = request.param
    return get_flavor(name, version)


@pytest.fixture(scope="module")
def cluster(flavor: Flavor, watch: CommandLineWatch) -> Iterator[Cluster]:
    with Cluster(flavor) as built:
        built.start()
        primary = built.primary
        primary.sql("CREATE DATABASE app")
        primary.sql("CREATE TABLE app.t (id INT PRIMARY KEY, note VARCHAR(40))")
        primary.sql("INSERT INTO app.t VALUES (1, 'before any replica')")
        built.add_replica()  # clones from mysql-0
        primary.sql("INSERT INTO app.t VALUES (2, 'after the first clone')")
        second = built.add_replica(start=False)
        second.env["CLONE_DONORS"] = "1"  # from a replica (by default the primary is asked first)
        second.start()  # clones from mysql-1
        yield built


def rows(pod: Pod, query: str = "SELECT id FROM app.t ORDER BY id") -> list[int]:
    return [row[0] for row in pod.sql(query)]


def wait_for_row(pod: Pod, row_id: int, timeout: float = 20) -> None:
    wait_until(lambda: row_id in rows(pod), timeout, what=f"row {row_id} on {pod.name}")


def test_primary_has_exactly_the_cluster_accounts(cluster: Cluster) -> None:
    accounts = set(cluster.primary.sql("SELECT User, Host FROM mysql.user"))
    assert accounts - {("mariadb.sys", "localhost")} == {
        ("root", "localhost"),
        ("root", "%"),
        ("replicator", "%"),
        ("backup", "localhost"),
        ("mysql", "localhost"),  # the pod's own scripts and probes: the socket, as the server's OS user only
    }
    empty = cluster.primary.sql(
        "SELECT User, Host, plugin FROM mysql.user WHERE authentication_string = '' AND User <> 'mariadb.sys'"
    )
    assert empty == [("mysql", "localhost", "unix_socket")]
    grants = " ".join(row[0] for row in cluster.primary.sql("SHOW GRANTS FOR 'replicator'@'%'"))
    # Replication, and reading what a replica received (a re-seed of the primary ranks replicas by it).
    assert "GRANT REPLICATION SLAVE, SLAVE MONITOR ON *.*" in grants
    assert "ALL PRIVILEGES" not in grants
    assert "SUPER" not in grants


def test_every_account_works_with_its_password(cluster: Cluster) -> None:
    primary, passwords = cluster.primary, cluster.passwords
    assert primary.sql("SELECT CURRENT_USER()", via="tcp") == [("root@%",)]
    assert primary.sql(
        "SELECT CURRENT_USER()", via="tcp", user="replicator", password=passwords.replication
    ) == [("replicator@%",)]
    assert primary.sql("SELECT CURRENT_USER()", user="backup", password=passwords.backup) == [
        ("backup@localhost",)
    ]
    with pytest.raises(pymysql.err.OperationalError) as denied:
        primary.sql("SELECT 1", via="tcp", user="backup", password=passwords.backup)
    assert denied.value.args[0] == 1045  # the backup account exists on the socket only


def test_first_replica_cloned_from_the_primary_and_replicates(cluster: Cluster) -> None:
    replica = cluster.pod(1)
    assert f"prepared copy of ordinal 0 (127.0.0.1:{cluster.primary.clone_port})" in replica.log("clone")
    assert rows(replica) == [1, 2]
    cluster.primary.sql("INSERT INTO app.t VALUES (3, 'replicated')")
    wait_for_row(replica, 3)


def test_second_replica_cloned_from_the_first_replica_and_replicates(cluster: Cluster) -> None:
    replica = cluster.pod(2)
    clone_log = replica.log("clone")
    assert f"prepared copy of ordinal 1 (127.0.0.1:{cluster.pod(1).clone_port})" in clone_log
    assert "streaming a backup of mysql-1" in cluster.pod(1).log("sidecar")
    cluster.primary.sql("INSERT INTO app.t VALUES (4, 'to every replica')")
    wait_for_row(replica, 4)
    # It replicates from the primary, not from its donor.
    status = replica.replica_status()
    assert (status["Master_Host"], status["Master_Port"]) == ("127.0.0.1", cluster.primary.port)
    assert status["Using_Gtid"] == "Slave_Pos"


def test_clone_positions_were_applied_then_consumed(cluster: Cluster) -> None:
    for replica in cluster.replicas:
        assert "applying the clone's GTID position" in replica.log("sidecar")
        assert not (replica.data_root / "clone-gtid-position").exists()
        assert not (replica.data_root / ".clone-tmp").exists()
    # mysql-2 cloned mysql-1 after row 2: its position came from mysql-1's replica info, not empty.
    assert "GTID position '0-100-" in cluster.pod(2).log("clone")


def test_server_ids_are_offset_plus_ordinal_and_unique(cluster: Cluster) -> None:
    ids = [pod.sql("SELECT @@server_id")[0][0] for pod in cluster.pods]
    assert ids == [100, 101, 102]
    assert cluster.flavor.server_uuid_variable is None  # MariaDB: server_id is the whole identity
    for replica in cluster.replicas:
        assert not (replica.data_dir / "auto.cnf").exists()


def test_replicas_boot_read_only_without_starting_replication(cluster: Cluster) -> None:
    # What the server reads (later options win): read-only, and replication left to the sidecar. That the
    # server really does not start it is shown by tests/scripts/test_restart.py.
    for pod, read_only in ((cluster.primary, "OFF"), *((replica, "ON") for replica in cluster.replicas)):
        my_cnf = pod.root / "conf" / "my.cnf"
        printed = cluster.run(cluster.flavor.server_binary, f"--defaults-file={my_cnf}", "--print-defaults")
        assert printed.returncode == 0, printed.stderr
        options = printed.stdout.split()
        assert [o for o in options if o.startswith("--read_only=")][-1] == f"--read_only={read_only}"
        assert "--skip_slave_start=ON" in options
        assert f"--server_id={100 + pod.ordinal}" in options
    for replica in cluster.replicas:
        assert replica.sql("SELECT @@global.read_only") == [(1,)]
    assert cluster.primary.sql("SELECT @@global.read_only") == [(0,)]


def test_replica_rejects_client_writes(cluster: Cluster) -> None:
    replica = cluster.pod(1)
    # root@'%' is the account clients use over the network: on MariaDB it lacks READ_ONLY ADMIN.
    for statement in ("INSERT INTO app.t VALUES (99, 'must fail')", "CREATE DATABASE must_fail"):
        with pytest.raises(pymysql.err.OperationalError) as refused:
            replica.sql(statement, via="tcp")
        assert refused.value.args[0] == 1290, refused.value  # --read-only
    with pytest.raises(pymysql.err.OperationalError) as denied:
        replica.sql("SET GLOBAL read_only = 0", via="tcp")
    assert denied.value.args[0] == 1227  # cannot lift read_only either
    assert 99 not in rows(replica)
    # The same account writes on the primary: the test above can fail.
    cluster.primary.sql("INSERT INTO app.t VALUES (5, 'written over TCP')", via="tcp")
    wait_for_row(replica, 5)


def test_network_clients_cannot_write_files_into_the_data_volume(cluster: Cluster) -> None:
    # Issue 7, defect 5: the clone's GTID position file next to data/ was written with SELECT ... INTO
    # OUTFILE by a network client, and the sidecar applied it at its next start.
    for pod in (cluster.primary, cluster.pod(1)):
        target = pod.data_root / "clone-gtid-position"
        for path in (target, pod.data_dir / "planted.txt"):
            with pytest.raises(pymysql.err.MySQLError) as refused:
                pod.sql(f"SELECT 'gtid=0-1-1' INTO OUTFILE '{path}'", via="tcp")
            assert refused.value.args[0] in (1045, 1227, 1290), refused.value  # no FILE, secure_file_priv
            assert not path.exists()
    # Even root@localhost may write only into the empty directory outside the data volume.
    with pytest.raises(pymysql.err.MySQLError) as confined:
        cluster.primary.sql(f"SELECT 'x' INTO OUTFILE '{cluster.primary.data_dir / 'planted.txt'}'")
    assert confined.value.args[0] == 1290, confined.value  # --secure-file-priv


def test_readiness_passes_on_a_healthy_cluster(cluster: Cluster) -> None:
    assert cluster.primary.probe("readiness").stdout.startswith("ready: primary")
    for replica in cluster.replicas:
        result = replica.probe("readiness")
        assert result.returncode == 0, result.stdout
        assert result.stdout.startswith(f"ready: replica of 127.0.0.1:{cluster.primary.port}")


def test_readiness_fails_when_the_applier_stops(cluster: Cluster) -> None:
    replica = cluster.pod(1)
    replica.sql("STOP SLAVE SQL_THREAD")
    try:
        result = replica.probe("readiness")
        assert result.returncode == 1
        assert result.stdout.startswith("not ready: replication SQL thread is not running")
        assert len(result.stdout.splitlines()) == 1
        assert replica.probe("liveness").returncode == 0  # broken replication is not a dead server
    finally:
        replica.sql("START SLAVE SQL_THREAD")
    replica.wait_ready(30)


def test_readiness_holds_while_the_receiver_stops_and_the_data_is_fresh(cluster: Cluster) -> None:
    # Its data is only as old as the newest heartbeat applied; test_heartbeat.py shows it leaving the read
    # Service once that age exceeds MAX_LAG_SECONDS.
    replica = cluster.pod(1)
    replica.sql("STOP SLAVE IO_THREAD")
    try:
        result = replica.probe("readiness")
        assert result.returncode == 0, result.stdout
        assert "primary not connected (Slave_IO_Running=No" in result.stdout
    finally:
        replica.sql("START SLAVE IO_THREAD")
    replica.wait_ready(30)


def test_readiness_fails_when_lag_exceeds_the_threshold(cluster: Cluster) -> None:
    replica = cluster.pod(2)
    with contextlib.closing(replica.connect()) as blocker, blocker.cursor() as cursor:
        # root@localhost holds the table: the applier waits on it while the lag grows.
        cursor.execute("LOCK TABLES app.t WRITE")
        cluster.primary.sql("INSERT INTO app.t VALUES (6, 'delayed')")

        def lag() -> int | None:
            value = replica.replica_status()["Seconds_Behind_Master"]
            return value if value is not None and value >= 3 else None

        wait_until(lag, 30, what="the replica to fall 3s behind")
        strict = replica.probe("readiness", env={"MAX_LAG_SECONDS": "2"})
        assert strict.returncode == 1
        assert "more than MAX_LAG_SECONDS=2s" in strict.stdout
        lenient = replica.probe("readiness", env={"MAX_LAG_SECONDS": "60"})
        assert lenient.returncode == 0, lenient.stdout
        cursor.execute("UNLOCK TABLES")
    wait_for_row(replica, 6)


def test_readiness_fails_on_a_writable_replica(cluster: Cluster) -> None:
    replica = cluster.pod(2)
    replica.sql("SET GLOBAL read_only = 0")
    try:
        result = replica.probe("readiness")
        assert result.returncode == 1
        assert result.stdout == "not ready: replica is writable (read_only=0)\n"
    finally:
        replica.sql("SET GLOBAL read_only = 1")
    assert replica.probe("readiness").returncode == 0


def test_replicas_apply_in_parallel_in_the_primary_order(cluster: Cluster) -> None:
    """4 optimistic workers per replica (MySQL's default too): transactions committed at once by several
    sessions on the primary arrive on every replica, and each replica's GTID position ends where the
    primary's binary log does (commit order kept: gtid_strict_mode would stop a replica otherwise)."""
    for replica in cluster.replicas:
        assert replica.sql("SELECT @@slave_parallel_threads, @@slave_parallel_mode") == [(4, "optimistic")]
    cluster.primary.sql("CREATE TABLE app.parallel (session INT, n INT, PRIMARY KEY (session, n))")

    def writer(session: int) -> None:
        for n in range(60):
            cluster.primary.sql(f"INSERT INTO app.parallel VALUES ({session}, {n})")

    threads = [threading.Thread(target=writer, args=(session,)) for session in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    (position,) = cluster.primary.sql("SELECT @@gtid_binlog_pos")[0]
    for replica in cluster.replicas:
        # Reached or passed (the primary's heartbeat moves on every second): MariaDB's own wait.
        reached = replica.sql(f"SELECT MASTER_GTID_WAIT('{position}', 120)")
        assert reached == [(0,)], (replica.name, position, replica.replica_status())
        assert replica.sql("SELECT COUNT(*) FROM app.parallel") == [(240,)]
        workers = replica.sql(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE LIKE 'Waiting for work from%'"
        )
        assert workers == [(4,)], workers


def test_every_replica_holds_the_primary_data(cluster: Cluster) -> None:
    checksum = "CHECKSUM TABLE app.t"
    expected = cluster.primary.sql(checksum)
    for replica in cluster.replicas:

        def converged(pod: Pod = replica) -> bool:
            return pod.sql(checksum) == expected

        wait_until(converged, 20, what=f"{replica.name} to converge")


def test_no_password_in_any_command_line_or_log(cluster: Cluster, watch: CommandLineWatch) -> None:
    # Let the watch see a backup and the probes once more.
    time.sleep(0.2)
    assert watch.leaks == []
    # It was looking while the interesting processes ran.
    # ... openssl included: it derived the clone credential from the backup password on every pod.
    assert {"mariadb-backup", "mbstream", "socat", "openssl", "mariadb", "mariadbd"} <= watch.seen
    assert {"clone.sh", "server.sh", "sidecar.sh", "backup-stream.sh"} <= watch.seen
    logs = cluster.logs()
    assert "streaming a backup" in logs  # the logs are the real ones
    for secret in (*cluster.passwords.all(), *CLONE_SECRETS):
        assert secret not in logs
        for pod in cluster.pods:
            assert secret not in (pod.root / "conf" / "my.cnf").read_text()


def test_client_option_files_are_private(cluster: Cluster) -> None:
    files = sorted(path for pod in cluster.pods for path in (pod.root / "run").glob("client-*.cnf"))
    assert files, "the scripts keep credentials in option files"
    for path in files:
        info = path.stat()
        assert stat.S_IMODE(info.st_mode) == 0o600, path
        assert info.st_uid == cluster.uid
    assert not any(pod.root.joinpath("run", "client-init.cnf").exists() for pod in cluster.pods)
    assert os.access(cluster.config_dir / "flavor.env", os.R_OK)
