"""Pods restarted in the middle of a password rotation (issue 7, defect 4): the Secret's files changed, and a
pod restarts with a fresh run directory (a deleted or rescheduled pod's new emptyDir) before its data has
the new passwords: the primary before its sidecar applied them, a replica before the new hashes reached it by
replication. Such a pod knows only the Secret's new passwords, which its data still refuses. The primary's
server applies them itself as it starts (server.sh, an init file that writes nothing to the binary log); a
replica's scripts log in as the pod-local administrator (lib.sh root_option_file) until replication brings
them. A new replica, which remembers nothing, is never served a copy that refuses the
Secret's root password (backup-stream.sh check). Tests run in file order.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mysql_cluster.flavors import Flavor
from tests.scripts.test_rotation import NEW, cluster_on_a_secret, ids, logs_in, write_secret
from tests.scripts.test_rotation import assert_rotated as rotated_everywhere
from tests.support.pods import DEFAULT_PASSWORDS, Cluster, CommandLineWatch, Passwords, Pod, wait_until

pytestmark = pytest.mark.scripts

NEWER = Passwords(
    root="Newer-root 'q' \"d\" \\ # & `t` END-NEWERROOT",
    replication='Nwr-repl "q" \\ # & END-NWRREPL',  # MySQL: at most 32 characters
    backup="Newer-backup 'q' \\ # & END-NEWERBACKUP",
)
NEWEST = Passwords(
    root="Newest-root 'q' \\ # & END-NEWESTROOT",
    replication="Nst-repl 'q' \\ # & END-NSTREPL",  # MySQL: at most 32 characters
    backup='Newest-backup "q" \\ # & END-NEWESTBACKUP',
)
# Only root's password changes (an existingSecret edited by hand may change one key).
FINAL = Passwords(root="Final-root 'q' # END-FINALROOT", replication=NEWEST.replication, backup=NEWEST.backup)
EVERY = (*DEFAULT_PASSWORDS.all(), *NEW.all(), *NEWER.all(), *NEWEST.all(), FINAL.root)
REMEMBERED = "not yet to the Secret's root password"
"""The sidecar's line when its data refuses the Secret's root password: the restart hit the window."""


@pytest.fixture(scope="module")
def cluster(flavor: Flavor) -> Iterator[Cluster]:
    with cluster_on_a_secret(flavor) as built:
        yield built


def rotate_without_applying(cluster: Cluster, passwords: Passwords) -> None:
    """The Secret changes while the primary's sidecar is down: nothing applies it yet."""
    cluster.primary.kill_sidecar()
    write_secret(Path(cluster.primary.env["SECRET_DIR"]), passwords, cluster.uid, cluster.gid)


def empty_run_dir(pod: Pod) -> None:
    """What a new pod's emptyDir holds: nothing."""
    for entry in pod.run_dir.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def restart_with_a_fresh_run_dir(pod: Pod, passwords: Passwords, *, wait: bool) -> None:
    """Kills every container of the pod and starts it again as a new pod would: an empty run directory
    (emptyDir), the Secret's current values in its environment (secretKeyRef at container start), the init
    containers first."""
    pod.kill()
    empty_run_dir(pod)
    pod.env.update(
        MYSQL_ROOT_PASSWORD=passwords.root,
        MYSQL_REPLICATION_PASSWORD=passwords.replication,
        MYSQL_BACKUP_PASSWORD=passwords.backup,
    )
    pod.start(wait=wait, timeout=60)


def assert_no_password_kept(pod: Pod, root_password: str) -> None:
    """No root password is kept on the data volume (issue 17, defect 1: every file there is readable by
    whoever gets the volume): the pod-local administrator opens the data whatever its root password, and
    `root_password` is the one the data takes now."""
    assert not list(pod.data_root.glob("*root-password*")), f"{pod.name} keeps a root password on its volume"
    assert logs_in(pod, "root", root_password), pod.name


def assert_rotated(cluster: Cluster, old: Passwords, new: Passwords) -> None:
    rotated_everywhere(cluster, old, new, EVERY)
    for pod in (cluster.primary, cluster.replicas[0]):
        assert_no_password_kept(pod, new.root)


def test_primary_restarted_before_applying_comes_back_and_applies(cluster: Cluster) -> None:
    """The primary's pod is replaced after the Secret changed and before its sidecar applied it: the new pod
    comes back (its server applies the Secret's passwords as it starts), its sidecar applies them binlogged,
    and the replica follows."""
    primary, replica = cluster.primary, cluster.replicas[0]
    assert_no_password_kept(primary, DEFAULT_PASSWORDS.root)
    rotate_without_applying(cluster, NEW)
    with CommandLineWatch(EVERY) as watch:
        try:
            restart_with_a_fresh_run_dir(primary, NEW, wait=True)
            wait_until(lambda: "applied the Secret's passwords" in primary.log("sidecar"), 60,
                       what="the restarted primary to apply the passwords")  # fmt: skip
            wait_until(lambda: "re-pointed with the new replication password" in replica.log("sidecar"), 60,
                       what="the replica to re-point")  # fmt: skip
        except (TimeoutError, RuntimeError) as error:
            raise AssertionError(f"{error}\n{cluster.logs()}") from None
        primary.sql("INSERT INTO app.t VALUES (2)", password=NEW.root)
        wait_until(lambda: ids(replica, NEW.root) == [1, 2], 60, what="row 2 on the replica")
    assert watch.leaks == [], watch.leaks
    replica.wait_ready(30)
    assert_rotated(cluster, DEFAULT_PASSWORDS, NEW)


def test_replica_restarted_before_the_new_hashes_reached_it_follows(cluster: Cluster) -> None:
    """A replica's pod is replaced after the Secret changed and before the primary applied it (so before the
    new hashes could reach it): it logs in with the remembered password, serves, and follows once the
    primary applies the rotation."""
    primary, replica = cluster.primary, cluster.replicas[0]
    rotate_without_applying(cluster, NEWER)
    primary.sql("INSERT INTO app.t VALUES (3)", password=NEW.root)
    wait_until(lambda: ids(replica, NEW.root) == [1, 2, 3], 60, what="row 3 on the replica")
    answered = replica.log("sidecar").count("the local server answers")
    applied = primary.log("sidecar").count("applied the Secret's passwords")
    with CommandLineWatch(EVERY) as watch:
        try:
            restart_with_a_fresh_run_dir(replica, NEWER, wait=False)
            wait_until(lambda: replica.log("sidecar").count("the local server answers") > answered, 60,
                       what="the restarted replica's sidecar to log in")  # fmt: skip
            assert REMEMBERED in replica.log("sidecar")
            alive = replica.probe("liveness")
            assert alive.returncode == 0, alive.stdout
            assert ids(replica, NEW.root) == [1, 2, 3]  # its data still has the old root password
            primary.start_sidecar()
            wait_until(lambda: primary.log("sidecar").count("applied the Secret's passwords") > applied, 60,
                       what="the primary to apply the newer passwords")  # fmt: skip
            primary.sql("INSERT INTO app.t VALUES (4)", password=NEWER.root)
            wait_until(lambda: ids(replica, NEWER.root) == [1, 2, 3, 4], 90, what="row 4 on the replica")
            replica.wait_ready(60)
        except (TimeoutError, RuntimeError) as error:
            raise AssertionError(f"{error}\n{cluster.logs()}") from None
    assert watch.leaks == [], watch.leaks
    assert_rotated(cluster, NEW, NEWER)


def binlogged(pod: Pod, password: str) -> str:
    """The GTIDs in the pod's binary log (MariaDB gtid_binlog_state, MySQL gtid_executed)."""
    variable = pod.cluster.flavor.gtid_history_variable
    return str(pod.sql(f"SELECT @@GLOBAL.{variable}", password=password)[0][0])


def test_primary_server_applies_the_secret_as_it_starts_without_binlogging(cluster: Cluster) -> None:
    """A primary whose data predates the Secret and that remembers no password for it (a copy re-seeded in
    the middle of a rotation, or the files lost): its server applies the Secret's passwords as it starts,
    without a transaction of its own in the binary log; the sidecar's ALTER USER then carries them to the
    replica."""
    primary, replica = cluster.primary, cluster.replicas[0]
    rotate_without_applying(cluster, NEWEST)
    before = binlogged(primary, NEWER.root)
    primary.kill()
    for name in ("last-root-password", "pending-root-password"):
        (primary.data_root / name).unlink(missing_ok=True)
    empty_run_dir(primary)
    primary.env.update(MYSQL_ROOT_PASSWORD=NEWEST.root, MYSQL_REPLICATION_PASSWORD=NEWEST.replication,
                       MYSQL_BACKUP_PASSWORD=NEWEST.backup)  # fmt: skip
    try:
        primary.init()
        primary.start_server()
        wait_until(lambda: logs_in(primary, "root", NEWEST.root), 60, what="the server to take the Secret's")
        assert not logs_in(primary, "root", NEWER.root)
        assert binlogged(primary, NEWEST.root) == before, "the server's own start wrote to the binary log"
        applied = primary.log("sidecar").count("applied the Secret's passwords")
        primary.start_sidecar()
        wait_until(lambda: primary.log("sidecar").count("applied the Secret's passwords") > applied, 60,
                   what="the sidecar to apply them, binlogged")  # fmt: skip
        wait_until(
            lambda: not (primary.run_dir / "init-passwords.sql").exists(), 30, what="the init file gone"
        )
        assert binlogged(primary, NEWEST.root) != before
        primary.sql("INSERT INTO app.t VALUES (5)", password=NEWEST.root)
        wait_until(lambda: ids(replica, NEWEST.root) == [1, 2, 3, 4, 5], 90, what="row 5 on the replica")
        replica.wait_ready(60)
    except (TimeoutError, RuntimeError) as error:
        raise AssertionError(f"{error}\n{cluster.logs()}") from None
    assert_rotated(cluster, NEWER, NEWEST)


def test_no_donor_serves_data_that_refuses_the_secret_root_password(cluster: Cluster) -> None:
    """A new replica cloned in the middle of a rotation of root's password alone: its donor (the replica)
    has seen the new Secret, but its data has not received the rotation yet. It serves no copy its recipient
    could not log in to (all the recipient knows is the Secret's passwords); the clone waits until the
    primary applied the rotation and it reached the donor, then the new replica logs in and serves."""
    donor = cluster.replicas[0]
    rotate_without_applying(cluster, FINAL)
    wait_until(lambda: "rotation is on its way" in donor.run_script("backup-stream.sh", "check").stdout, 30,
               what="the donor to see the new Secret")  # fmt: skip
    recipient = cluster.add_replica(start=False)
    recipient.env["CLONE_DONORS"] = "1"
    timer = threading.Timer(8, cluster.primary.start_sidecar)
    timer.start()
    try:
        recipient.start(timeout=120)
    except (TimeoutError, RuntimeError) as error:
        raise AssertionError(f"{error}\n{cluster.logs()}") from None
    finally:
        timer.join()
    assert "a password rotation is on its way to it" in recipient.log("clone"), recipient.log("clone")
    assert ids(recipient, FINAL.root) == [1, 2, 3, 4, 5]
    assert logs_in(recipient, "root", FINAL.root)
    assert_no_password_kept(recipient, FINAL.root)
    for secret in EVERY:
        assert secret not in recipient.logs(), "a password is in the new replica's logs"
