"""A new replica chooses its donor when it clones (scripts/donor.sh), so scale-out is not an ordered chain
(issue 10): the primary first, then ready replicas, the most advanced first. A donor that is not ready,
busy or unfit is passed over at once; never does a replica seed from a pod that is not ready."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator

import pytest

from tests.support.clone_port import PROTOCOL, client_context, tls_exchange
from tests.support.pods import SCRIPTS_DIR, Cluster, Pod, wait_until

pytestmark = pytest.mark.scripts


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """MariaDB 10.11: mysql-0 and mysql-1, each donor serving one backup at a time."""
    with Cluster(extra_env={"CLONE_MAX_BACKUPS": "1"}) as built:
        built.start_with_a_replica()
        yield built


def ids(pod: Pod) -> list[int]:
    return [row[0] for row in pod.sql("SELECT id FROM app.t ORDER BY id")]


def clone(pod: Pod, **env: str) -> subprocess.CompletedProcess[str]:
    """The pod's init containers up to the clone, on an empty volume; returns clone.sh's run."""
    assert pod.run_script("init-config.sh").returncode == 0
    return pod.run_script("clone.sh", env=env)


def test_a_new_replica_clones_from_the_primary_while_its_predecessor_is_down(cluster: Cluster) -> None:
    """The ordered design waited for ordinal N-1; here mysql-1 is down and mysql-2 seeds from the primary."""
    previous = cluster.pod(1)
    previous.stop()
    try:
        pod = cluster.add_replica(start=False)
        started = time.monotonic()
        result = clone(pod)
        assert result.returncode == 0, result.stderr
        assert time.monotonic() - started < 30
        assert "complete after 1 attempt(s)" in result.stderr
        assert f"prepared copy of ordinal 0 (127.0.0.1:{cluster.primary.clone_port})" in result.stderr
    finally:
        previous.start(init=False)
    pod.start(init=False)
    cluster.primary.sql("INSERT INTO app.t VALUES (2)")
    wait_until(lambda: ids(pod) == [1, 2], 30, what="row 2 on mysql-2")


def test_a_replica_that_is_not_ready_refuses_and_the_next_donor_serves(cluster: Cluster) -> None:
    donor = cluster.pod(1)
    # Its applier stops, its receiver runs: not ready (out of the read Service), the primary being there.
    donor.sql(f"{cluster.flavor.stop_replica} SQL_THREAD")
    try:
        wait_until(lambda: donor.probe().returncode != 0, 30, what="mysql-1 to be not ready")
        pod = cluster.replace_pod(2)
        result = clone(pod, CLONE_DONORS="1 0")
        assert result.returncode == 0, result.stderr
        assert "donor 1 (127.0.0.1) refuses to be cloned: it is not ready (" in result.stderr
        assert "complete after 2 attempt(s)" in result.stderr
        assert "prepared copy of ordinal 0" in result.stderr
        assert "failed backup" not in result.stderr, "a refusal costs no attempt"
        sidecar = donor.log("sidecar")
        assert "refused a backup to 127.0.0.1:" in sidecar
        assert "streaming a backup of mysql-1" not in sidecar, "refused before any backup started"
    finally:
        donor.sql(cluster.flavor.start_replica)
    donor.wait_ready(30)


def test_a_busy_primary_passes_the_recipient_to_a_ready_replica_at_once(cluster: Cluster) -> None:
    primary = cluster.primary
    credential = primary.run_dir / "clone-tls.pem"
    # The primary's only backup slot, held by a reader that does not read (a tiny receive window).
    held, _, sock = tls_exchange(primary.clone_port, client_context(credential), limit=1, receive_buffer=4096)
    try:
        assert held.status_line.startswith(PROTOCOL + b" OK mysql-0 size="), held
        pod = cluster.replace_pod(2)
        started = time.monotonic()
        result = clone(pod)
        elapsed = time.monotonic() - started
    finally:
        sock.close()
    assert result.returncode == 0, result.stderr
    assert "donor 0 (127.0.0.1) is busy (serving its limit of 1 concurrent backups)" in result.stderr
    assert "complete after 2 attempt(s)" in result.stderr
    assert f"prepared copy of ordinal 1 (127.0.0.1:{cluster.pod(1).clone_port})" in result.stderr
    assert elapsed < 30, "no sleep between a busy donor and the next"


def test_three_replicas_are_seeded_at_once(cluster: Cluster) -> None:
    """replicas 3 -> 6 at once (podManagementPolicy Parallel): each finds a donor among the ready pods."""
    pods = [cluster.add_replica(start=False) for _ in range(3)]
    results: dict[str, subprocess.CompletedProcess[str]] = {}
    threads = [threading.Thread(target=lambda p=pod: results.update({p.name: clone(p)})) for pod in pods]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    for pod in pods:
        assert results[pod.name].returncode == 0, results[pod.name].stderr
        assert "failed backup" not in results[pod.name].stderr
    cluster.primary.sql("INSERT INTO app.t VALUES (3)")
    for pod in pods:
        pod.start(init=False)
        wait_until(lambda p=pod: ids(p) == [1, 2, 3], 30, what=f"row 3 on {pod.name}")


@pytest.mark.parametrize(
    ("gtid_set", "count"),
    [
        ("", 0),
        ("0-100-7", 7),
        ("0-100-7,1-101-5", 12),
        ("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5", 5),
        ("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:11-18,4e11fa47-71ca-11e1-9e33-c80aa9429562:1-3", 16),
        ("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:tag_a:1-2", 7),
    ],
)
def test_replicas_are_ranked_by_how_many_transactions_they_hold(gtid_set: str, count: int) -> None:
    script = 'source "$0/lib.sh" && source "$0/donor.sh" && gtid_count "$1"'
    result = subprocess.run(
        ["bash", "-c", script, str(SCRIPTS_DIR), gtid_set], capture_output=True, text=True, check=True
    )
    assert result.stdout == str(count)


def test_a_replica_whose_primary_is_away_still_serves_by_the_faithful_copy_checks() -> None:
    """Re-seeding a lost primary (bootstrap.sh) clones the most advanced replica while no primary runs, when
    its data may be older than MAX_LAG_SECONDS and it is not ready: its receiver being disconnected, the
    faithful-copy checks alone decide."""
    with Cluster(max_lag_seconds=2) as cluster:
        cluster.start()
        cluster.primary.sql("CREATE DATABASE app")
        cluster.primary.sql("CREATE TABLE app.t (id INT PRIMARY KEY)")
        cluster.primary.sql("INSERT INTO app.t VALUES (1)")
        donor = cluster.add_replica()
        wait_until(lambda: ids(donor) == [1], 30, what="row 1 on mysql-1")
        cluster.primary.stop()
        wait_until(lambda: donor.probe().returncode != 0, 30, what="mysql-1's data to be too old")
        pod = cluster.add_replica(start=False)
        result = clone(pod, CLONE_DONORS="1")
        assert result.returncode == 0, result.stderr
        assert "prepared copy of ordinal 1" in result.stderr
        assert "streaming a backup of mysql-1" in donor.log("sidecar")
