"""The MySQL 9.7 path of the container scripts against a real mysqld 9.7 (inside its image's root filesystem):
initialisation, accounts, replicas seeded by the CLONE plugin (clone.sh hands over to clone-plugin.sh),
read-only replicas, replication configured by the sidecar over TLS, restarts, refused clones.

One cluster for the module: mysql-0 initialises, mysql-1 clones the primary, mysql-2 (added by a later test)
clones the replica mysql-1. A watch samples every process's command line the whole time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pymysql
import pytest

from mysql_cluster.flavors import get_flavor
from tests.support.pods import DEFAULT_PASSWORDS, Cluster, CommandLineWatch, Pod, wait_until

pytestmark = pytest.mark.scripts


@pytest.fixture(scope="module")
def watch() -> Iterator[CommandLineWatch]:
    with CommandLineWatch(DEFAULT_PASSWORDS.all()) as running:
        yield running


@pytest.fixture(scope="module")
def cluster(watch: CommandLineWatch) -> Iterator[Cluster]:
    with Cluster(get_flavor("mysql", "9.7")) as built:
        built.start()
        built.primary.sql("CREATE DATABASE app")
        built.primary.sql("CREATE TABLE app.t (id INT PRIMARY KEY)")
        built.primary.sql("INSERT INTO app.t VALUES (1)")
        built.add_replica(
            timeout=90
        )  # mysql-1: init-config, clone (CLONE plugin) from mysql-0, server, sidecar
        built.primary.sql("INSERT INTO app.t VALUES (2)")  # after the clone: arrives by replication
        yield built


def ids(pod: Pod) -> list[int]:
    return [row[0] for row in pod.sql("SELECT id FROM app.t ORDER BY id")]


def test_primary_is_initialised_with_exactly_the_cluster_accounts(cluster: Cluster) -> None:
    accounts = set(cluster.primary.sql("SELECT User, Host FROM mysql.user WHERE User NOT LIKE 'mysql.%'"))
    # The backup account is the CLONE donor's: reached over the network (TLS only), BACKUP_ADMIN only.
    # mysql@localhost: the pod's own scripts and probes, over the socket as the server's OS user only.
    assert accounts == {
        ("root", "localhost"), ("root", "%"), ("replicator", "%"), ("backup", "%"), ("mysql", "localhost")
    }  # fmt: skip
    plugins = dict(cluster.primary.sql("SELECT User, plugin FROM mysql.user WHERE User NOT LIKE 'mysql.%'"))
    assert plugins.pop("mysql") == "auth_socket"
    assert set(plugins.values()) == {"caching_sha2_password"}  # 9.x has no mysql_native_password
    required = cluster.primary.sql(
        "SELECT User, ssl_type FROM mysql.user WHERE User IN ('replicator', 'backup')"
    )
    assert set(required) == {("replicator", "ANY"), ("backup", "ANY")}
    grants = cluster.primary.sql("SHOW GRANTS FOR 'backup'@'%'")
    assert grants == [("GRANT USAGE ON *.* TO `backup`@`%`",), ("GRANT BACKUP_ADMIN ON *.* TO `backup`@`%`",)]
    assert "init: datadir complete" in cluster.primary.log("server")
    assert not (cluster.primary.data_root / ".init-tmp").exists()


def tls_login(pod: Pod, user: str, password: str, **options: Any) -> tuple[str, str]:
    """(CURRENT_USER(), the session's TLS cipher) of a TCP login with PyMySQL `options`."""
    login = {"host": "127.0.0.1", "port": pod.port, "user": user, "password": password, "connect_timeout": 10}
    with contextlib.closing(pymysql.connect(**login, **options)) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT CURRENT_USER(), VARIABLE_VALUE FROM performance_schema.session_status "
            "WHERE VARIABLE_NAME = 'Ssl_cipher'"
        )
        row = cursor.fetchone()
        assert row is not None
        return (str(row[0]), str(row[1]))


def test_every_account_works_with_its_password(cluster: Cluster) -> None:
    primary, passwords = cluster.primary, cluster.passwords
    assert primary.sql("SELECT CURRENT_USER()", via="tcp") == [("root@%",)]
    # REQUIRE SSL: the replication and clone accounts are refused in plain text and accepted over TLS.
    for user, password in (("replicator", passwords.replication), ("backup", passwords.backup)):
        with pytest.raises(pymysql.err.OperationalError) as refused:
            tls_login(primary, user, password, ssl_disabled=True)
        assert refused.value.args[0] == 1045
        current, cipher = tls_login(primary, user, password, ssl={})
        assert (current, bool(cipher)) == (f"{user}@%", True)


def test_first_replica_cloned_the_primary_with_the_clone_plugin(cluster: Cluster) -> None:
    replica = cluster.pod(1)
    clone_log = replica.log("clone")
    assert "cloning mysql-1 from the first ready donor with the CLONE plugin" in clone_log
    assert f"complete after 1 attempt(s): {replica.data_dir} is a clone of ordinal 0 (127.0.0.1:" in clone_log
    for leftover in (".clone-tmp", "clone-gtid-position"):  # the GTID state came with the data
        assert not (replica.data_root / leftover).exists()


def test_replica_replicates_over_tls_from_the_cloned_gtid_set(cluster: Cluster) -> None:
    primary, replica = cluster.primary, cluster.pod(1)
    wait_until(lambda: ids(replica) == [1, 2], 30, what="rows 1 and 2 on the replica")
    primary.sql("INSERT INTO app.t VALUES (3)")
    wait_until(lambda: ids(replica) == [1, 2, 3], 30, what="row 3 on the replica")
    status = replica.replica_status()
    assert (status["Source_Host"], status["Source_Port"]) == ("127.0.0.1", primary.port)
    assert (status["Auto_Position"], status["Source_SSL_Allowed"]) == (1, "Yes")
    assert (status["Replica_IO_Running"], status["Replica_SQL_Running"]) == ("Yes", "Yes")
    # A clone of the primary carries no replication metadata: the sidecar points it at the primary.
    assert f"no source configured; pointing at 127.0.0.1:{primary.port}" in replica.log("sidecar")


def test_identities_are_unique(cluster: Cluster) -> None:
    rows = [pod.sql("SELECT @@server_id, @@server_uuid")[0] for pod in cluster.pods]
    assert [row[0] for row in rows] == [100, 101]
    assert rows[0][1] != rows[1][1], "the clone generated its own server_uuid (auto.cnf is not cloned)"


def test_replica_is_super_read_only_and_ready(cluster: Cluster) -> None:
    replica = cluster.pod(1)
    assert replica.sql("SELECT @@global.read_only, @@global.super_read_only") == [(1, 1)]
    assert cluster.primary.sql("SELECT @@global.read_only, @@global.super_read_only") == [(0, 0)]
    with pytest.raises(pymysql.err.OperationalError) as refused:
        replica.sql("INSERT INTO app.t VALUES (99)", via="tcp")
    assert refused.value.args[0] == 1290  # --super-read-only binds root too
    result = replica.probe("readiness")
    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith(f"ready: replica of 127.0.0.1:{cluster.primary.port}")
    assert cluster.primary.probe("readiness").stdout.startswith("ready: primary")


def test_replica_resumes_after_a_server_restart(cluster: Cluster) -> None:
    primary, replica = cluster.primary, cluster.pod(1)
    wait_until(lambda: int(replica.sql("SHOW GLOBAL STATUS LIKE 'Uptime'")[0][1]) > 4, 30, what="uptime")
    replica.kill_server()
    primary.sql("INSERT INTO app.t VALUES (4)")
    replica.start_server()  # skip_replica_start: the sidecar starts replication again
    wait_until(lambda: ids(replica) == [1, 2, 3, 4], 60, what="row 4 after the restart")
    replica.wait_ready(30)


def test_no_password_in_any_command_line_or_log(cluster: Cluster, watch: CommandLineWatch) -> None:
    assert watch.leaks == []
    assert {"mysqld", "mysql", "openssl"} <= watch.seen  # the clone port: no socat in MySQL images
    # clone.sh itself lives for milliseconds (it execs clone-plugin.sh): too short to be sampled reliably.
    assert {"clone-plugin.sh", "server.sh", "sidecar.sh"} <= watch.seen
    logs = cluster.logs()
    for secret in cluster.passwords.all():
        assert secret not in logs


def test_clone_plugin_seeds_a_replica_from_a_replica(cluster: Cluster) -> None:
    """CLONE from mysql-1 (a replica) into mysql-2 with DATA DIRECTORY: the donor's data and GTID state
    arrive, the copy gets its own server_uuid, and the sidecar points it at the primary, where replication
    continues exactly (SOURCE_AUTO_POSITION) from the cloned GTID set."""
    primary, donor = cluster.primary, cluster.pod(1)
    wait_until(lambda: ids(donor) == ids(primary), 30, what="the donor to have caught up")
    pod = cluster.add_replica(start=False)
    pod.env["CLONE_DONORS"] = "1"  # by default the primary is asked first
    pod.init()  # init-config, then clone.sh: mysql-2 clones mysql-1
    cloned = f"complete after 1 attempt(s): {pod.data_dir} is a clone of ordinal 1 (127.0.0.1:{donor.port})"
    assert cloned in pod.log("clone")
    assert not (pod.data_root / ".clone-tmp").exists()
    primary.sql("INSERT INTO app.t VALUES (5)")  # after the clone: arrives by replication, exactly once
    pod.start(init=False, timeout=90)
    wait_until(lambda: ids(pod) == ids(primary), 30, what="mysql-2 to hold the primary's rows")
    assert pod.sql("CHECKSUM TABLE app.t") == primary.sql("CHECKSUM TABLE app.t")
    status = pod.replica_status()
    assert (status["Source_Port"], status["Auto_Position"], status["Source_SSL_Allowed"]) == (
        primary.port, 1, "Yes",
    )  # fmt: skip
    assert (status["Last_SQL_Errno"], status["Last_IO_Errno"]) == (0, 0)
    assert len({p.sql("SELECT @@server_uuid")[0][0] for p in cluster.pods}) == 3
    # A clone of a replica carries its replication metadata (8.0.19+): here the donor's source, the primary,
    # so the sidecar only starts it (a clone of a differently configured replica would be re-pointed).
    assert f"configured for 127.0.0.1:{primary.port} but not running" in pod.log("sidecar")
    assert pod.sql("SELECT @@global.read_only, @@global.super_read_only") == [(1, 1)]
    pod.wait_ready(30)


def test_clone_plugin_failures_are_retried_then_fail_loudly_without_a_secret(cluster: Cluster) -> None:
    primary = cluster.primary
    pod = cluster.replace_pod(2)  # an empty volume again
    assert pod.run_script("init-config.sh").returncode == 0
    wrong = "Wrong-backup-pw END-WRONG"
    # Another backup password: no donor vouches over the clone port, so no CLONE is tried (cheap, polled).
    result = pod.run_script("clone.sh", env={"MYSQL_BACKUP_PASSWORD": wrong, "CLONE_WAIT_TIMEOUT": "2"})
    assert result.returncode == 1
    assert "donor 0 (127.0.0.1) failed authentication: its certificate is not the cluster's" in result.stderr
    assert "no donor started a backup within 2s" in result.stderr
    assert wrong not in result.stderr + pod.logs()
    # A CLONE the donor's server refuses (its backup account locked): it backs off, and counts.
    primary.sql("ALTER USER 'backup'@'%' ACCOUNT LOCK")
    try:
        result = pod.run_script(
            "clone.sh", env={"CLONE_DONORS": "0", "CLONE_RETRIES": "2", "CLONE_RETRY_DELAY": "1"}
        )
    finally:
        primary.sql("ALTER USER 'backup'@'%' ACCOUNT UNLOCK")
    assert result.returncode == 1
    donor = "donor 0 (127.0.0.1)"
    # ERROR 3862 (Clone Donor Error) wraps the donor's refusal.
    assert f"{donor} refused the clone: ERROR 3862" in result.stderr, result.stderr
    assert "failed backup 1/2, next attempt in 1s" in result.stderr
    assert f"{donor} refused the clone" in result.stderr
    assert "giving up after 2 failed backups" in result.stderr
    assert cluster.passwords.backup not in result.stderr + pod.logs()
    assert not pod.data_dir.exists()
    # The failed attempts' work is discarded by the next run, which succeeds.
    work = pod.data_root / ".clone-tmp"
    assert work.is_dir()
    result = pod.run_script("clone.sh")
    assert result.returncode == 0, result.stderr
    assert f"discarding {work} left by an interrupted clone; cloning again" in result.stderr
    assert (pod.data_dir / "mysql").is_dir()
    assert not work.exists()


def test_clone_plugin_passes_over_a_replica_that_is_not_ready(cluster: Cluster) -> None:
    """The same donor choice as the backup stream (scripts/donor.sh): the donor vouches over the clone port
    first, and a replica whose applier is stopped refuses before any CLONE starts."""
    donor = cluster.pod(1)
    vouched = donor.log("sidecar").count("vouched for a CLONE")
    donor.sql(f"{cluster.flavor.stop_replica} SQL_THREAD")
    try:
        wait_until(lambda: donor.probe().returncode != 0, 30, what="mysql-1 to be not ready")
        pod = cluster.replace_pod(2)
        assert pod.run_script("init-config.sh").returncode == 0
        result = pod.run_script("clone.sh", env={"CLONE_DONORS": "1 0"})
    finally:
        donor.sql(cluster.flavor.start_replica)
    assert result.returncode == 0, result.stderr
    assert "donor 1 (127.0.0.1) refuses to be cloned: it is not ready (" in result.stderr
    assert f"complete after 2 attempt(s): {pod.data_dir} is a clone of ordinal 0" in result.stderr
    assert "refused a backup to 127.0.0.1:" in donor.log("sidecar")
    assert donor.log("sidecar").count("vouched for a CLONE") == vouched, "it vouched for no CLONE now"
