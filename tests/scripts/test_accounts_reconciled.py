"""Accounts reconciled on data another version initialised (issue 15, defect 4).

Accounts are created at initialisation only. MySQL 8.4's seeding (XtraBackup over the socket) created
`backup@localhost`; 9.7's CLONE plugin recipients connect to the donor over the network as `backup@'%'
REQUIRE SSL`. On a cluster upgraded from 8.4 every CLONE was refused (1045) and every rotation failed on the
missing account, binlogging its first statements again at each check. Emulated here on real servers: the
accounts as the other version left them, written unlogged on every pod (as a clone of the old data has them).
The primary's sidecar creates the account where this version looks for it, drops the other, binlogged, and
a new replica then clones.
"""

from __future__ import annotations

import contextlib

import pytest

from mysql_cluster.flavors import Flavor, get_flavor
from tests.support.pods import Cluster, Pod, wait_until

pytestmark = pytest.mark.scripts

BACKUP_USER = "backup"


def older_accounts(flavor: Flavor, password: str) -> list[str]:
    """Statements turning this version's backup account into the one another version created."""
    if flavor.name == "mysql":
        older = get_flavor("mysql", "8.4")  # XtraBackup: the socket account, its own grants
        table_grants = [f"GRANT SELECT ON {table} TO backup@localhost" for table in older.backup_table_grants]
        return [
            f"DROP USER backup@'{flavor.backup_host}'",
            "CREATE USER backup@localhost IDENTIFIED BY %s",
            f"GRANT {', '.join(older.backup_grants)} ON *.* TO backup@localhost",
            *table_grants,
        ]
    # MariaDB's seeding has always used the socket account; the same class: an account at another host.
    return ["RENAME USER backup@localhost TO backup@'%'"]


def backup_accounts(pod: Pod) -> list[tuple[str, str]]:
    return [(row[0], row[1]) for row in pod.sql("SELECT User, Host FROM mysql.user WHERE User = 'backup'")]


def restart_sidecar_until_applied(pod: Pod, applied: str) -> None:
    """Restarts the pod's sidecar and waits until it applied the Secret's passwords (logged once more)."""
    before = pod.log("sidecar").count(applied)
    pod.kill_sidecar()
    pod.start_sidecar()
    try:
        wait_until(lambda: pod.log("sidecar").count(applied) > before, 60, what="the passwords applied")
    except TimeoutError as error:
        raise AssertionError(f"{error}\n{pod.log('sidecar')}") from None


def test_a_backup_account_another_version_left_is_reconciled_and_clones_work(flavor: Flavor) -> None:
    with Cluster(flavor) as cluster:
        cluster.start_with_a_replica()
        primary = cluster.primary
        password = cluster.passwords.backup
        for pod in (primary, *cluster.replicas):
            with contextlib.closing(pod.connect()) as conn, conn.cursor() as cursor:
                cursor.execute("SELECT @@GLOBAL.super_read_only" if flavor.name == "mysql" else "SELECT 0")
                read_only = cursor.fetchone()[0]
                cursor.execute("SET SESSION sql_log_bin = 0")
                if read_only:
                    cursor.execute("SET GLOBAL super_read_only = OFF")
                for statement in older_accounts(flavor, password):
                    cursor.execute(statement, (password,) if "%s" in statement else None)
                if read_only:
                    cursor.execute("SET GLOBAL super_read_only = ON")
        assert backup_accounts(primary) != [(BACKUP_USER, flavor.backup_host)]
        applied = "applied the Secret's passwords"
        restart_sidecar_until_applied(primary, applied)  # before: "applying them failed" at every check
        assert f"accounts: {BACKUP_USER}@{flavor.backup_host} created" in primary.log("sidecar")
        for pod in (primary, *cluster.replicas):
            assert backup_accounts(pod) == [(BACKUP_USER, flavor.backup_host)], pod.name
        primary.sql("INSERT INTO app.t VALUES (2)")
        new = cluster.add_replica()  # cloned from the replica with the reconciled account
        assert [row[0] for row in new.sql("SELECT id FROM app.t ORDER BY id")] == [1, 2]
        # Checked first: a sidecar start with the account in place writes nothing more.
        restart_sidecar_until_applied(primary, applied)
        assert primary.log("sidecar").count(f"accounts: {BACKUP_USER}@") == 1
