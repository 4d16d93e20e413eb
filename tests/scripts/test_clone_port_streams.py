"""The clone port's backup streams (MariaDB: socat's listener): a slow recipient is not cut, backups per
donor are bounded (CLONE_MAX_BACKUPS=1 here: the connection beyond the limit is refused with a reason the
recipient logs, and it retries), and socat's log turns into one line per refused connection.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scripts.conftest import donor_cluster
from tests.support.clone_port import PROTOCOL, client_context, tls_exchange
from tests.support.pods import SCRIPTS_DIR, Cluster, Pod, wait_until

pytestmark = pytest.mark.scripts

MARKER = b"mysql-cluster-stream-complete"  # lib.sh STREAM_COMPLETE_MARKER
HANDSHAKE_TIMEOUT = 3  # CLONE_HANDSHAKE_TIMEOUT of this module's donor


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with donor_cluster(None, HANDSHAKE_TIMEOUT) as built:
        yield built


@pytest.fixture(scope="module")
def credential(cluster: Cluster) -> Path:
    return cluster.primary.run_dir / "clone-tls.pem"


def wait_until_idle(donor: Pod) -> None:
    """Until the donor's backup slots are free (a backup whose peer hung up ends at its next write)."""
    limit = int(donor.env["CLONE_MAX_BACKUPS"])
    slots = [donor.run_dir / f"clone-slot-{slot}.lock" for slot in range(1, limit + 1)]

    def idle() -> bool:
        checks = (["flock", "-n", str(slot), "true"] for slot in slots if slot.exists())
        return all(subprocess.run(check, check=False).returncode == 0 for check in checks)

    wait_until(idle, 60, what=f"{donor.name} to finish its backups")


def test_a_slow_recipient_is_not_cut(cluster: Cluster, credential: Path) -> None:
    """The handshake timeout is a receive timeout: the donor never reads after the handshake, so a recipient
    that stops reading for longer still gets the whole stream."""
    wait_until_idle(cluster.primary)
    slow, _, _ = tls_exchange(
        cluster.primary.clone_port,
        client_context(credential),
        receive_buffer=4096,
        pause=HANDSHAKE_TIMEOUT + 2,
    )
    assert slow.error == ""
    assert slow.status_line.startswith(PROTOCOL + b" OK mysql-0 size=")
    assert MARKER in slow.body[-200:]


def test_excess_backups_are_refused_then_the_clone_retries_and_replicates(
    cluster: Cluster, credential: Path
) -> None:
    donor = cluster.primary
    wait_until_idle(donor)
    # One authenticated backup in progress, held open: a tiny receive window keeps the donor's backup
    # blocked on the socket until this test closes it.
    held, _, sock = tls_exchange(donor.clone_port, client_context(credential), limit=1, receive_buffer=4096)
    try:
        assert held.status_line.startswith(PROTOCOL + b" OK mysql-0 size="), held
        wait_until(
            lambda: "streaming a backup of mysql-0" in donor.log("sidecar"), 10, what="the held backup"
        )

        busy, _, _ = tls_exchange(donor.clone_port, client_context(credential))
        assert busy.status_line == PROTOCOL + b" BUSY serving its limit of 1 concurrent backups", busy
        assert busy.body == b""
        assert f"refused a backup to 127.0.0.1:{busy.local_port}: already serving 1" in donor.log("sidecar")

        pod = cluster.replace_pod(1) if len(cluster.pods) > 1 else cluster.new_pod()
        assert pod.run_script("init-config.sh").returncode == 0
        results: list[subprocess.CompletedProcess[str]] = []
        cloning = threading.Thread(
            target=lambda: results.append(pod.run_script("clone.sh", env={"CLONE_RETRIES": "60"})),
            daemon=True,
        )
        cloning.start()
        wait_until(
            lambda: donor.log("sidecar").count("refused a backup to") >= 2,
            30,
            what="the recipient to be refused",
        )
    finally:
        sock.close()
    cloning.join(120)
    assert results, "clone.sh did not finish"
    result = results[0]
    assert result.returncode == 0, result.stderr
    assert "donor 0 (127.0.0.1) is busy (serving its limit of 1 concurrent backups)" in result.stderr
    assert "failed backup" not in result.stderr, "a busy donor costs no attempt"
    assert "complete after" in result.stderr
    pod.start(init=False, timeout=60)
    donor.sql("INSERT INTO app.t VALUES (2)")
    wait_until(lambda: pod.sql("SELECT COUNT(*) FROM app.t") == [(2,)], 20, what="row 2 on the clone")


@pytest.mark.parametrize("error_first", [False, True])
def test_refusal_is_logged_whichever_process_writes_first(error_first: bool) -> None:
    """The listener and its child write socat's log to one pipe: the child's handshake error may come before
    the listener's line naming the child. Either way the refusal names the peer, once."""
    listener = [
        "2026/01/01 00:00:00 socat[10] N listening on AF=2 0.0.0.0:3307",
        "2026/01/01 00:00:01 socat[10] N accepting connection from AF=2 10.0.0.7:40000 on AF=2 10.0.0.5:3307",
        "2026/01/01 00:00:01 socat[10] N forked off child process 11",
    ]
    child = [
        "2026/01/01 00:00:01 socat[11] E SSL_accept(): error:0A0000C7:SSL routines::no certificate",
        "2026/01/01 00:00:01 socat[11] N exit(1)",
    ]
    lines = [*listener[:2], *child, listener[2]] if error_first else [*listener, *child]
    authenticated = [
        "2026/01/01 00:00:02 socat[10] N accepting connection from AF=2 10.0.0.8:40001 on AF=2 10.0.0.5:3307",
        "2026/01/01 00:00:02 socat[10] N forked off child process 12",
        "2026/01/01 00:00:02 socat[12] N starting data transfer loop with FDs [7,7] and [6,6]",
        "2026-01-01T00:00:02+0000 backup-stream: streaming a backup of mysql-0 to 10.0.0.8:40001",
        "2026/01/01 00:00:09 socat[12] E write(7, 0x1, 8192): Broken pipe",
    ]
    script = 'source "$0/lib.sh" && source "$0/transport.sh" && transport_relay_log'
    result = subprocess.run(
        ["bash", "-c", script, str(SCRIPTS_DIR)],
        input="\n".join([*lines, *authenticated]) + "\n",
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    logged = result.stderr.splitlines()
    refusals = [line for line in logged if "refused a connection from" in line]
    assert len(refusals) == 1, logged
    assert refusals[0].endswith(
        "refused a connection from 10.0.0.7:40000: TLS handshake failed, no backup served"
        " (SSL_accept(): error:0A0000C7:SSL routines::no certificate)"
    )
    assert authenticated[3] in logged  # the per-connection scripts' lines pass through unchanged
    assert any(line.endswith("socat: write(7, 0x1, 8192): Broken pipe") for line in logged)  # not a refusal
