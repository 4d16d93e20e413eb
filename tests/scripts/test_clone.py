"""Clones fail loudly and are redone, never accepted half-written: refused peers, empty, cut and unfinished
streams, a clone killed mid-stream, a donor without the cluster's credential. A real backup stream of the
primary is recorded once (over the authenticated transport) and replayed by a fake donor that speaks the
transport (tests/support/clone_port.py) and serves one prepared answer per connection.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mysql_cluster.flavors import Flavor, get_flavor
from tests.scripts.conftest import MARIADB_FLAVORS, flavor_id
from tests.support.clone_port import PROTOCOL, FakeDonor, client_context, make_credential, tls_exchange
from tests.support.pods import Cluster, Pod, free_port, wait_until

pytestmark = pytest.mark.scripts

MARKER = b"mysql-cluster-stream-complete"  # lib.sh STREAM_COMPLETE_MARKER
CHUNK_MAGIC = b"XBSTCK01"


@pytest.fixture(scope="module", params=MARIADB_FLAVORS, ids=flavor_id)
def flavor(request: pytest.FixtureRequest) -> Flavor:
    """MariaDB only: the MySQL counterpart of this module is test_mysql.py."""
    name, version = request.param
    return get_flavor(name, version)


@pytest.fixture(scope="module")
def cluster(flavor: Flavor) -> Iterator[Cluster]:
    with Cluster(flavor) as built:
        built.start()
        built.primary.sql("CREATE DATABASE app")
        built.primary.sql("CREATE TABLE app.t (id INT PRIMARY KEY)")
        built.primary.sql("INSERT INTO app.t VALUES (1), (2)")
        built.add_replica(start=False)  # mysql-1: each test recreates it (replace_pod) and clones it
        yield built


@pytest.fixture(scope="module")
def credential(cluster: Cluster) -> Path:
    """The cluster's clone credential (certificate and key), as the primary's sidecar made it."""
    return cluster.primary.run_dir / "clone-tls.pem"


@pytest.fixture(scope="module")
def stream(cluster: Cluster, credential: Path) -> bytes:
    """A complete backup stream of the primary, as its sidecar serves it to a cloning replica."""
    exchange, _, _ = tls_exchange(cluster.primary.clone_port, client_context(credential))
    assert exchange.status_line.startswith(PROTOCOL + b" OK mysql-0 size="), exchange
    recorded = exchange.body
    assert MARKER in recorded[-200:], "the sidecar ends every complete stream with the marker"
    return recorded


def without_marker(stream: bytes) -> bytes:
    """The stream cut exactly before the marker's first chunk: every backup file, cleanly ended."""
    cut = stream.rindex(CHUNK_MAGIC, 0, stream.index(MARKER))
    return stream[:cut]


def new_replica(cluster: Cluster) -> Pod:
    """mysql-1 on an empty volume, its configuration written: ready to clone from mysql-0."""
    pod = cluster.replace_pod(1)
    assert pod.run_script("init-config.sh").returncode == 0
    return pod


def clone(pod: Pod, port: int, retries: int = 6, **env: str) -> subprocess.CompletedProcess[str]:
    """clone.sh with the primary's clone port replaced by `port` (a fake donor), the only donor."""
    settings = {"CLONE_DONORS": "0", "PEER_CLONE_PORT_0": str(port), "CLONE_RETRIES": str(retries),
                "CLONE_RETRY_DELAY": "0"}  # fmt: skip
    return pod.run_script("clone.sh", env={**settings, **env})


def test_refused_peer_is_polled_then_fails_loudly(cluster: Cluster) -> None:
    pod = new_replica(cluster)
    port = free_port()  # nobody listens
    started = time.monotonic()
    result = clone(pod, port, CLONE_WAIT_TIMEOUT="3")
    assert result.returncode == 1
    assert time.monotonic() - started < 30
    # No backup was started: polled about every second (CLONE_POLL_INTERVAL), logged once, not counted.
    refused = f"donor 0 (127.0.0.1) refused the connection (nothing listens on {port}: not started yet?)"
    assert result.stderr.count(f"{refused}; trying the next donor") == 1
    assert "failed backup" not in result.stderr
    assert f"ERROR: no donor started a backup within 3s ({refused}); giving up" in result.stderr
    assert not pod.data_dir.exists()
    assert not (pod.data_root / "clone-gtid-position").exists()


def test_bad_streams_are_rejected_until_a_complete_one_arrives(
    cluster: Cluster, stream: bytes, credential: Path
) -> None:
    pod = new_replica(cluster)
    complete_but_unmarked = without_marker(stream)
    answers = [
        (b"", 0.0),  # the donor's backup could not start
        (stream[: len(stream) // 2], 0.0),  # the connection broke mid-chunk
        (complete_but_unmarked, 0.0),  # the donor's backup tool failed after its last file
        (stream, 0.0),
    ]
    with FakeDonor(answers, credential) as donor:
        result = clone(pod, donor.port)
    assert result.returncode == 0, result.stderr
    assert donor.connections == 4
    peer = "donor 0 (127.0.0.1)"
    assert f"{peer} sent an empty stream" in result.stderr
    assert f"{peer} sent a truncated or corrupt stream (mbstream:" in result.stderr
    assert f"{peer} sent an incomplete stream (no completion marker" in result.stderr
    assert "failed backup 3/6, next attempt in 0s" in result.stderr
    assert "complete after 4 attempt(s)" in result.stderr
    assert not (pod.data_dir / MARKER.decode()).exists()
    # The accepted clone is a working replica.
    pod.start(init=False, timeout=60)
    cluster.primary.sql("INSERT INTO app.t VALUES (3)")
    wait_until(lambda: pod.sql("SELECT COUNT(*) FROM app.t") == [(3,)], 20, what="row 3 on the clone")
    pod.stop()


def test_clone_killed_mid_stream_is_discarded_and_redone(
    cluster: Cluster, stream: bytes, credential: Path
) -> None:
    pod = new_replica(cluster)
    work = pod.data_root / ".clone-tmp"
    # A donor that sends most of the stream, then stalls: the clone is killed while it waits.
    with FakeDonor([(without_marker(stream)[:-4096], 30.0)], credential) as donor:
        env = {**pod.env, "CLONE_DONORS": "0", "PEER_CLONE_PORT_0": str(donor.port)}
        with (pod.root / "logs" / "clone.log").open("a") as log:
            process = subprocess.Popen(pod.command("clone.sh"), env=env, stdout=log, stderr=log,
                                       start_new_session=True)  # fmt: skip
        try:
            wait_until((work / "ibdata1").exists, 30, what="the clone to be under way")
            time.sleep(0.5)
        finally:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    assert work.is_dir(), "the killed clone left its work behind"
    assert any(work.iterdir())
    assert not pod.data_dir.exists()
    (work / "leftover-from-the-killed-clone").write_text("must not survive")

    result = clone(pod, cluster.primary.clone_port)
    assert result.returncode == 0, result.stderr
    assert f"discarding {work} left by an interrupted clone; cloning again" in result.stderr
    assert not work.exists()
    assert not (pod.data_dir / "leftover-from-the-killed-clone").exists()
    assert (pod.data_root / "clone-gtid-position").read_text().count("gtid=") == 1


def test_donor_serves_concurrent_clones_up_to_its_limit(cluster: Cluster, credential: Path) -> None:
    """No max-conns=1: two pods (CLONE_MAX_BACKUPS' default) may clone from one donor at once, each gets a
    complete backup (tests/scripts/test_clone_port.py refuses the one beyond the limit)."""
    results: dict[int, bytes] = {}

    def receive(index: int) -> None:
        exchange, _, _ = tls_exchange(cluster.primary.clone_port, client_context(credential))
        results[index] = exchange.body

    threads = [threading.Thread(target=receive, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sorted(results) == [0, 1]
    for received in results.values():
        assert MARKER in received[-200:]
        assert b"ibdata1" in received
    assert cluster.primary.log("sidecar").count("refused a backup") == 0


def test_donor_without_the_credential_is_never_trusted(
    cluster: Cluster, stream: bytes, tmp_path: Path
) -> None:
    """An impostor at the donor's address (another backup password) gets no clone out of the recipient,
    and the recipient says why."""
    pod = new_replica(cluster)
    impostor = make_credential(tmp_path, "not the cluster's backup password")
    with FakeDonor([(stream, 0.0)], impostor) as donor:
        result = clone(pod, donor.port, retries=2, CLONE_WAIT_TIMEOUT="2")
    assert result.returncode == 1
    assert donor.connections == 0, "the recipient never completed a handshake with the impostor"
    assert "donor 0 (127.0.0.1) failed authentication: its certificate is not the cluster's" in result.stderr
    assert not pod.data_dir.exists()


def test_primary_never_clones(cluster: Cluster) -> None:
    result = cluster.primary.run_script("clone.sh")
    assert result.returncode == 0
    assert "/data is present (complete by construction): not cloning" in result.stderr
    assert Path(cluster.primary.data_dir).is_dir()
