"""A donor busy with another CLONE (MySQL 9.7, real mysqld in its image's root filesystem): a server serves
one CLONE at a time, and a second recipient's CLONE INSTANCE fails with error 3634 ("Too many concurrent
clone operations") before any data moves. clone-plugin.sh takes that as "busy", keeps its private server up
and asks the next donor at once (scripts/donor.sh), instead of counting a failed backup and backing off.

The first recipient holds the donor with a CLONE throttled by the clone plugin's own cap,
`clone_max_data_bandwidth` (MiB/s, recipient side; the line serverConfig renders, `loose_` included, in its
my.cnf). The cap works in bursts: a thread sleeps at most 1 s per check, so a copy of under ~200 MB at this
host's few hundred MB/s ends in a few seconds whatever the cap; beyond that the cap holds. Hence the ballast.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator

import pytest

from mysql_cluster.flavors import get_flavor
from mysql_cluster.server_config import render
from tests.support.pods import Cluster, Pod, wait_until

pytestmark = pytest.mark.scripts

BALLAST_DOUBLINGS = 17
"""2^17 rows of 1000 bytes: with the system tablespaces about 250 MB to copy, ~0.3 s unthrottled here, more
than a minute at 1 MiB/s (measured on mysqld 9.7.4: at about 160 MB the cap still gave 2 to 15 s)."""


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """mysql-0 holding the ballast, and mysql-1, a ready replica cloned from it."""
    with Cluster(get_flavor("mysql", "9.7")) as built:
        primary = built.start()
        primary.sql("CREATE DATABASE app")
        primary.sql("CREATE TABLE app.ballast (id INT AUTO_INCREMENT PRIMARY KEY, pad VARCHAR(1000))")
        primary.sql("INSERT INTO app.ballast (pad) VALUES (REPEAT('x', 1000))")
        for _ in range(BALLAST_DOUBLINGS):
            primary.sql("INSERT INTO app.ballast (pad) SELECT pad FROM app.ballast")
        built.add_replica(timeout=180)
        yield built


def clones_served(donor: Pod) -> int:
    """How many CLONE connections the donor's server has open (the backup account's sessions)."""
    rows = donor.sql("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'backup'")
    return int(rows[0][0])


@contextlib.contextmanager
def throttled_clone(pod: Pod, donor: int, mib_per_second: int) -> Iterator[subprocess.Popen[str]]:
    """clone.sh of `pod` from `donor` in the background, its CLONE capped by the pod's my.cnf; killed (its
    whole session: the private server too) on exit."""
    assert pod.run_script("init-config.sh").returncode == 0
    cap = render({"clone_max_data_bandwidth": mib_per_second})
    assert cap is not None
    with (pod.conf_dir / "my.cnf").open("a") as my_cnf:  # as custom.cnf would carry it, on this pod only
        my_cnf.write("\n" + cap)
    clone = subprocess.Popen(
        pod.command("clone.sh"),
        env={**pod.env, "CLONE_DONORS": str(donor)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        yield clone
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(clone.pid, signal.SIGKILL)
        clone.communicate(timeout=30)


def test_a_recipient_meeting_a_busy_donor_asks_the_next_one_at_once(cluster: Cluster) -> None:
    primary, replica = cluster.primary, cluster.pod(1)
    slow, pod = cluster.add_replica(start=False), cluster.add_replica(start=False)
    with throttled_clone(slow, donor=0, mib_per_second=1) as holding:
        wait_until(lambda: clones_served(primary) > 0, 60, what="mysql-2's CLONE to reach mysql-0")
        assert pod.run_script("init-config.sh").returncode == 0
        result = pod.run_script("clone.sh", env={"CLONE_DONORS": "0 1"})
        assert holding.poll() is None, "mysql-2's throttled CLONE ended before mysql-3 met the busy donor"
        assert clones_served(primary) > 0
    assert result.returncode == 0, result.stderr
    # ERROR 3862 (Clone Donor Error) carries the donor's 3634: no data moved, no failed backup counted.
    busy = "donor 0 (127.0.0.1) is busy (it serves one CLONE at a time: ERROR 3862"
    assert busy in result.stderr, result.stderr
    assert "3634 : Too many concurrent clone operations" in result.stderr
    assert "failed backup" not in result.stderr, result.stderr
    cloned = f"complete after 2 attempt(s): {pod.data_dir} is a clone of ordinal 1 (127.0.0.1:{replica.port})"
    assert cloned in result.stderr, result.stderr
    assert (pod.data_dir / "app" / "ballast.ibd").is_file()
    assert "loose_clone_max_data_bandwidth = 1" in (slow.conf_dir / "my.cnf").read_text()
