"""Password rotation (issue 7, defect 4): the Secret's files change under running pods (as the kubelet
updates a mounted Secret), and the cluster applies the new passwords without a restart or broken replication.

One primary and one replica read their passwords from SECRET_DIR (lib.sh refresh_passwords); their
environment keeps the old values, as a running container's does. Tests run in file order.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest

from mysql_cluster.flavors import Flavor
from tests.scripts.test_restart import wait_for_log
from tests.support.pods import DEFAULT_PASSWORDS, Cluster, CommandLineWatch, Passwords, Pod, wait_until

pytestmark = pytest.mark.scripts

# Template placeholders and SQL keywords inside a password are data, never rendered again (lib.sh render_sql).
NEW = Passwords(
    root="New-root 'q' \"d\" \\ # & $HOME {{BACKUP_USER}} ALTER USER x END-NEWROOT",
    replication="New-repl 'q' \\ # & END-NEWREPL",
    backup='New-backup "q" \\\\ # & END-NEWBACKUP',
)
KEYS = {"root-password": "root", "replication-password": "replication", "backup-password": "backup"}


def write_secret(directory: Path, passwords: Passwords, uid: int, gid: int) -> None:
    """What the kubelet does to a mounted Secret: each key's file replaced at once (here by a rename)."""
    for key, field in KEYS.items():
        folder = directory / key
        folder.mkdir(parents=True, exist_ok=True)
        os.chown(folder, uid, gid)
        tmp = folder / ".value.tmp"
        tmp.write_text(getattr(passwords, field))
        os.chown(tmp, uid, gid)
        tmp.chmod(0o400)
        tmp.rename(folder / "value")


@contextlib.contextmanager
def cluster_on_a_secret(flavor: Flavor) -> Iterator[Cluster]:
    """A primary and a replica whose scripts read their passwords from a mounted Secret's files."""
    with Cluster(flavor) as built:
        secret = built.root / "secret"
        write_secret(secret, DEFAULT_PASSWORDS, built.uid, built.gid)
        built.extra_env["SECRET_DIR"] = str(secret)
        built.start_with_a_replica()
        yield built


@pytest.fixture(scope="module")
def cluster(flavor: Flavor) -> Iterator[Cluster]:
    with cluster_on_a_secret(flavor) as built:
        yield built


def logs_in(pod: Pod, user: str, password: str) -> bool:
    """Whether `user` logs in to the pod's server over TCP with `password` (root@'%', the replicator)."""
    try:
        pod.sql("SELECT 1", via="tcp", user=user, password=password)
    except pymysql.err.OperationalError as error:
        if error.args[0] == 1045:
            return False
        raise
    return True


def ids(pod: Pod, password: str) -> list[int]:
    return [row[0] for row in pod.sql("SELECT id FROM app.t ORDER BY id", password=password)]


def assert_rotated(cluster: Cluster, old: Passwords, new: Passwords, every: tuple[str, ...]) -> None:
    """Both pods take the new root password and refuse the old one, the primary the new replication password;
    the replica replicates with it; none of `every` password is in a log."""
    primary, replica = cluster.primary, cluster.replicas[0]
    for pod in (primary, replica):
        assert logs_in(pod, "root", new.root), pod.name
        assert not logs_in(pod, "root", old.root), pod.name
    assert logs_in(primary, "replicator", new.replication)
    assert not logs_in(primary, "replicator", old.replication)
    row = replica.replica_status(password=new.root)
    assert row.get(cluster.flavor.io_running_column) == "Yes", row
    assert row.get(cluster.flavor.sql_running_column) == "Yes", row
    for secret in every:
        for pod in (primary, replica):
            assert secret not in pod.logs(), f"a password is in {pod.name}'s logs"


def replication_threads(pod: Pod, password: str) -> set[int]:
    """Connection ids of the replica's replication threads: the receiver, the applier and its workers."""
    rows = pod.sql(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = 'system user'", password=password
    )
    return {row[0] for row in rows}


def test_rotation_waits_for_the_primary_and_keeps_replicas_serving(cluster: Cluster) -> None:
    """The new passwords reach the replica's files before the primary applies them (its sidecar is down): the
    replica keeps serving (its probes log in with the last working root password) and keeps replicating
    (it does not switch to a replication password the primary refuses)."""
    primary, replica = cluster.primary, cluster.replicas[0]
    primary.kill_sidecar()
    write_secret(Path(primary.env["SECRET_DIR"]), NEW, cluster.uid, cluster.gid)
    try:
        wait_until(
            lambda: "not accepted by the primary yet" in replica.log("sidecar"),
            30,
            what="the replica to wait",
        )
    except TimeoutError as error:
        raise AssertionError(f"{error}\n{replica.logs()}") from None
    primary.sql("INSERT INTO app.t VALUES (2)")
    wait_until(lambda: ids(replica, DEFAULT_PASSWORDS.root) == [1, 2], 30, what="row 2 on the replica")
    ready = replica.probe("readiness")
    assert ready.returncode == 0, ready.stdout
    assert replica.probe("liveness").returncode == 0


def test_the_primary_applies_the_new_passwords_and_replication_follows(cluster: Cluster) -> None:
    primary, replica = cluster.primary, cluster.replicas[0]
    every = (*DEFAULT_PASSWORDS.all(), *NEW.all())
    before = replication_threads(replica, DEFAULT_PASSWORDS.root)
    with CommandLineWatch(every) as watch:
        primary.start_sidecar()
        try:
            wait_until(lambda: "applied the Secret's passwords" in primary.log("sidecar"), 60,
                       what="the primary to apply the passwords")  # fmt: skip
            wait_until(lambda: "re-pointed with the new replication password" in replica.log("sidecar"), 60,
                       what="the replica to re-point")  # fmt: skip
        except TimeoutError as error:
            raise AssertionError(f"{error}\n{cluster.logs()}") from None
        primary.sql("INSERT INTO app.t VALUES (3)", password=NEW.root)
        wait_until(lambda: ids(replica, NEW.root) == [1, 2, 3], 60, what="row 3 on the replica")
    assert watch.leaks == [], watch.leaks
    after = replication_threads(replica, NEW.root)
    if cluster.flavor.change_source_credentials:
        # Only the receiver was restarted to take the new password: the applier (and its workers) ran on,
        # so the replica never left the read Service for it.
        assert len(before - after) == 1, (before, after, replica.log("sidecar"))
    else:
        # Paused whole (MariaDB refuses the change beside a running applier): the pause is over.
        assert before.isdisjoint(after), (before, after)
    assert not (replica.run_dir / "applier-paused").exists()
    assert_rotated(cluster, DEFAULT_PASSWORDS, NEW, every)
    for pod in (primary, replica):
        ready = pod.probe("readiness")
        assert ready.returncode == 0, ready.stdout


def test_a_new_replica_clones_with_the_new_backup_password(cluster: Cluster) -> None:
    """The donor serves backups with the new backup password's credential (its listener restarted; MySQL:
    the backup account's new password replicated to every donor)."""
    donor = cluster.replicas[0]
    if cluster.flavor.seeding != "clone-plugin":
        wait_until(lambda: "serving backups with its new credential" in donor.log("sidecar"), 30,
                   what="the donor's listener to restart")  # fmt: skip
    new = cluster.add_replica()  # its environment holds the old passwords, its Secret files the new ones
    assert ids(new, NEW.root) == [1, 2, 3]


def fragments(password: str) -> list[bytes]:
    """The parts of `password` a file would hold verbatim whatever its quoting (an SQL literal escapes quotes
    and backslashes): the runs between those characters, long enough to be unmistakable."""
    return [part.encode() for part in re.split(r"['\"\\\\]", password) if len(part) >= 8]


def files_holding(root: Path, secrets: tuple[str, ...], *, only: str = "") -> list[str]:
    """Every file under `root` (whose name holds `only`) with a fragment of one of `secrets` in it."""
    found = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or only not in path.name:
            continue
        content = path.read_bytes()
        found += [f"{path.relative_to(root)}: {part!r}" for secret in secrets for part in fragments(secret)
                  if part in content]  # fmt: skip
    return found


def test_no_password_is_in_clear_on_any_volume(cluster: Cluster) -> None:
    """Issue 17, defect 1: the primary applies the Secret's passwords binlogged, and MariaDB logged
    `ALTER USER ... IDENTIFIED BY '<password>'` verbatim, so every binary and relay log of every pod held
    root's and the backup user's passwords, readable by the replication user over the network (MySQL logs
    only hashes). No file on any pod's volume holds root's or the backup user's password, old or new; the
    replication password is on a replica's volume only where the server keeps its source's credentials
    (MariaDB's master.info, MySQL's replication metadata table), never in a binary or relay log."""
    old, new = DEFAULT_PASSWORDS, NEW
    pods = [cluster.primary, *cluster.replicas]
    assert len(pods) == 3, pods  # the replica the test above added was seeded after the rotation
    for pod in pods:
        pod.sql("FLUSH LOGS", password=new.root)  # what the servers buffer is on the volume
    admin = (old.root, old.backup, new.root, new.backup)
    leaks = [f"{pod.name}: {leak}" for pod in pods for leak in files_holding(pod.data_root, admin)]
    replication = (old.replication, new.replication)
    for pod in pods:
        for name in ("bin", "relay"):
            leaks += [f"{pod.name}: {leak}" for leak in files_holding(pod.data_root, replication, only=name)]
    assert leaks == [], leaks


def test_a_replica_whose_secret_lags_the_primarys_stays_ready(flavor: Flavor) -> None:
    """The window the e2e rotation met on MySQL 9.7 (the read Service empty for a moment), forced: the kubelet
    refreshes each pod's mounted Secret on its own schedule, so the primary may apply the new passwords while
    a replica's files still hold the old ones. The replica applies the primary's binlogged ALTER USER at once
    and its data refuses the only root password it knows; every replica is in that window together. Its
    scripts and probes log in as the pod-local administrator (socket authentication, no password): it stays
    ready throughout, and follows the rotation once its own files change. Before, its probe answered
    "Access denied" until its Secret was refreshed."""
    with cluster_on_a_secret(flavor) as cluster:
        primary, replica = cluster.primary, cluster.replicas[0]
        own = cluster.root / "replica-secret"  # the replica's view of the Secret, refreshed later
        write_secret(own, DEFAULT_PASSWORDS, cluster.uid, cluster.gid)
        replica.kill_sidecar()
        replica.env["SECRET_DIR"] = str(own)
        replica.start_sidecar()
        replica.wait_ready(60)
        write_secret(Path(primary.env["SECRET_DIR"]), NEW, cluster.uid, cluster.gid)
        try:
            wait_until(lambda: "applied the Secret's passwords" in primary.log("sidecar"), 60,
                       what="the primary to apply the passwords")  # fmt: skip
            # The replica applied the ALTER USER: its data refuses the root password its files hold.
            wait_until(lambda: not logs_in(replica, "root", DEFAULT_PASSWORDS.root), 60,
                       what="the new hashes to reach the replica")  # fmt: skip
        except TimeoutError as error:
            raise AssertionError(f"{error}\n{cluster.logs()}") from None
        primary.sql("INSERT INTO app.t VALUES (2)", password=NEW.root)
        wait_until(lambda: ids(replica, NEW.root) == [1, 2], 60, what="row 2 on the replica")
        for _ in range(3):  # across the sidecar's checks (MONITOR_INTERVAL): nothing takes it out
            ready = replica.probe("readiness")
            assert ready.returncode == 0, f"{ready.stdout}\n{replica.logs()}"
            assert replica.probe("liveness").returncode == 0
            time.sleep(1.5)
        # Its files catch up: replication re-points with the new password, the old ones open nothing.
        write_secret(own, NEW, cluster.uid, cluster.gid)
        wait_for_log(replica, "sidecar", "re-pointed with the new replication password", 60)
        primary.sql("INSERT INTO app.t VALUES (3)", password=NEW.root)
        wait_until(lambda: ids(replica, NEW.root) == [1, 2, 3], 60, what="row 3 on the replica")
        assert replica.probe("readiness").returncode == 0
        assert_rotated(cluster, DEFAULT_PASSWORDS, NEW, (*DEFAULT_PASSWORDS.all(), *NEW.all()))


def restart_sidecar(pod: Pod) -> None:
    """Kills the pod's sidecar, starts it again and waits until it has looked at its volume's logs."""
    started = pod.log("sidecar").count("the local server answers")
    pod.kill_sidecar()
    pod.start_sidecar()
    wait_until(lambda: pod.log("sidecar").count("the local server answers") > started, 60,
               what=f"{pod.name}'s sidecar to start")  # fmt: skip
    time.sleep(1)  # the search right after the upgrade step


def test_logs_an_earlier_version_filled_with_passwords_are_named_until_a_rotation(flavor: Flavor) -> None:
    """Issue 17, defect 1, on upgrade: an earlier version's sidecar logged the Secret's passwords in clear on
    MariaDB. Every pod names the binary and relay logs on its volume that hold a current password (never the
    password) and what a person must do: rotate. Once rotated, nothing current is there: no warning."""
    if not flavor.account_hashes_sql:
        pytest.skip("MySQL logs only hashes: no earlier version wrote a password into its binary log")
    warning = "passwords: WARNING:"
    with cluster_on_a_secret(flavor) as cluster:
        primary, replica = cluster.primary, cluster.replicas[0]
        # What the earlier sidecar ran, binlogged: the password as an SQL literal (lib.sh sql_literal).
        literal = "'" + DEFAULT_PASSWORDS.root.replace("\\", "\\\\").replace("'", "''") + "'"
        primary.sql(f"ALTER USER root@'%' IDENTIFIED BY {literal}")
        primary.sql("INSERT INTO app.t VALUES (2)")
        wait_until(lambda: ids(replica, DEFAULT_PASSWORDS.root) == [1, 2], 30, what="the replica to apply it")
        for pod in (primary, replica):
            restart_sidecar(pod)
            logged = pod.log("sidecar")
            assert f"{warning} " in logged, logged
            assert "root's current password" in logged
            assert "rotate the passwords" in logged
        write_secret(Path(primary.env["SECRET_DIR"]), NEW, cluster.uid, cluster.gid)
        wait_for_log(replica, "sidecar", "re-pointed with the new replication password", 90)
        for pod in (primary, replica):
            warned = pod.log("sidecar").count(warning)
            restart_sidecar(pod)
            assert pod.log("sidecar").count(warning) == warned, pod.log("sidecar")
        for secret in (*DEFAULT_PASSWORDS.all(), *NEW.all()):
            for pod in (primary, replica):
                assert secret not in pod.logs(), f"a password is in {pod.name}'s logs"
