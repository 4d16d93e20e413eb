"""The MySQL 9.7 path of the container scripts against a real mysqld 9.7 (inside its image's root filesystem):
initialisation, accounts, read-only replicas, and replication configured by the sidecar over TLS.

MySQL 9.7 replicas are to be seeded by the server's CLONE plugin, which the scripts do not do yet (clone.sh
streams a backup tool's output, and no backup tool exists for 9.x). Until then this module seeds the replica
as a clone would leave it: a copy of the primary's datadir taken while that server was shut down, without
auto.cnf, with the primary's gtid_executed recorded next to it for the sidecar (clone-gtid-position).
Everything after that (init-config, server.sh, sidecar.sh, probe.sh) is the real scripts.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator

import pymysql
import pytest

from mysql_cluster.flavors import get_flavor
from tests.support.pods import DEFAULT_PASSWORDS, Cluster, CommandLineWatch, Pod, wait_until

pytestmark = pytest.mark.scripts


@pytest.fixture(scope="module")
def watch() -> Iterator[CommandLineWatch]:
    with CommandLineWatch(DEFAULT_PASSWORDS.all()) as running:
        yield running


def seed_like_a_clone(cluster: Cluster, replica: Pod) -> str:
    """Copies the primary's datadir (server shut down) to the replica's volume; returns its GTID set."""
    primary = cluster.primary
    gtid = str(primary.sql("SELECT @@global.gtid_executed")[0][0]).replace("\n", "")
    primary.stop_server()
    try:
        subprocess.run(["cp", "-a", str(primary.data_dir), str(replica.data_dir)], check=True)
    finally:
        primary.start_server()
    (replica.data_dir / "auto.cnf").unlink()
    position = replica.data_root / "clone-gtid-position"
    position.write_text(f"# seeded by tests/scripts/test_mysql.py\ngtid={gtid}\n")
    shutil.chown(position, cluster.uid, cluster.gid)
    primary.wait_ready(60)
    return gtid


@pytest.fixture(scope="module")
def cluster(watch: CommandLineWatch) -> Iterator[Cluster]:
    with Cluster(get_flavor("mysql", "9.7")) as built:
        built.start()
        built.primary.sql("CREATE DATABASE app")
        built.primary.sql("CREATE TABLE app.t (id INT PRIMARY KEY)")
        built.primary.sql("INSERT INTO app.t VALUES (1)")
        replica = built.add_replica(start=False)
        assert replica.run_script("init-config.sh").returncode == 0
        seed_like_a_clone(built, replica)
        built.primary.sql("INSERT INTO app.t VALUES (2)")  # after the seed: arrives by replication
        replica.start(init=False, timeout=90)
        yield built


def ids(pod: Pod) -> list[int]:
    return [row[0] for row in pod.sql("SELECT id FROM app.t ORDER BY id")]


def test_primary_is_initialised_with_exactly_the_cluster_accounts(cluster: Cluster) -> None:
    accounts = set(cluster.primary.sql("SELECT User, Host FROM mysql.user WHERE User NOT LIKE 'mysql.%'"))
    assert accounts == {("root", "localhost"), ("root", "%"), ("replicator", "%"), ("backup", "localhost")}
    plugins = {row[0] for row in cluster.primary.sql("SELECT DISTINCT plugin FROM mysql.user")}
    assert plugins == {"caching_sha2_password"}  # 9.x has no mysql_native_password
    assert cluster.primary.sql("SELECT ssl_type FROM mysql.user WHERE User = 'replicator'") == [("ANY",)]
    assert "init: datadir complete" in cluster.primary.log("server")
    assert not (cluster.primary.data_root / ".init-tmp").exists()


def test_every_account_works_with_its_password(cluster: Cluster) -> None:
    primary, passwords = cluster.primary, cluster.passwords
    assert primary.sql("SELECT CURRENT_USER()", via="tcp") == [("root@%",)]
    assert primary.sql("SELECT CURRENT_USER()", user="backup", password=passwords.backup) == [
        ("backup@localhost",)
    ]
    # REQUIRE SSL: the replication account is refused in plain text, accepted over TLS.
    plain = {
        "host": "127.0.0.1",
        "port": primary.port,
        "user": "replicator",
        "password": passwords.replication,
    }
    with pytest.raises(pymysql.err.OperationalError) as refused:
        pymysql.connect(**plain, ssl_disabled=True, connect_timeout=10).close()
    assert refused.value.args[0] == 1045
    with (
        contextlib.closing(pymysql.connect(**plain, ssl={}, connect_timeout=10)) as tls,
        tls.cursor() as cursor,
    ):
        cursor.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        assert cursor.fetchone()[1] != ""


def test_replica_replicates_over_tls_from_the_clone_position(cluster: Cluster) -> None:
    primary, replica = cluster.primary, cluster.pod(1)
    wait_until(lambda: ids(replica) == [1, 2], 30, what="rows 1 and 2 on the replica")
    primary.sql("INSERT INTO app.t VALUES (3)")
    wait_until(lambda: ids(replica) == [1, 2, 3], 30, what="row 3 on the replica")
    status = replica.replica_status()
    assert (status["Source_Host"], status["Source_Port"]) == ("127.0.0.1", primary.port)
    assert (status["Auto_Position"], status["Source_SSL_Allowed"]) == (1, "Yes")
    assert (status["Replica_IO_Running"], status["Replica_SQL_Running"]) == ("Yes", "Yes")
    sidecar = replica.log("sidecar")
    assert "applying the clone's GTID position" in sidecar
    assert not (replica.data_root / "clone-gtid-position").exists()


def test_identities_are_unique(cluster: Cluster) -> None:
    rows = [pod.sql("SELECT @@server_id, @@server_uuid")[0] for pod in cluster.pods]
    assert [row[0] for row in rows] == [100, 101]
    assert rows[0][1] != rows[1][1], "the replica regenerated its server_uuid (auto.cnf removed)"


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
    assert {"mysqld", "mysql", "socat"} <= watch.seen
    logs = cluster.logs()
    for secret in cluster.passwords.all():
        assert secret not in logs
