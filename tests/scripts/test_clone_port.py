"""The clone port serves a backup only to a peer that proves the cluster's credential, over TLS.

Attackers get no byte of backup data and leave a line in the donor's log: a plain TCP connection, TLS
without a certificate, TLS with the credential of another password, a recorded handshake replayed. A pod
with the right secret is refused nothing (the clones of test_clone.py and test_mysql.py).

The attacks run against both listeners: socat's (MariaDB 10.11, whose port streams backups) and openssl's
(MySQL 9.7, whose image has no socat, as the official ones have none: transport-openssl.sh), where the port
only vouches for a CLONE. What concerns the streams is in test_clone_port_streams.py.
"""

from __future__ import annotations

import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mysql_cluster.flavors import Flavor, get_flavor
from tests.scripts.conftest import donor_cluster, flavor_id
from tests.support.clone_port import (
    PROTOCOL,
    STREAM_CHUNK_MAGIC,
    Exchange,
    client_context,
    derived_key,
    hello,
    make_credential,
    private_key_of,
    raw_exchange,
    tls_exchange,
)
from tests.support.pods import Cluster, Pod, wait_until

pytestmark = pytest.mark.scripts

MARKER = b"mysql-cluster-stream-complete"  # lib.sh STREAM_COMPLETE_MARKER
LARGEST_HANDSHAKE = 16 * 1024  # a TLS handshake's bytes; a backup of even this small server is megabytes
HANDSHAKE_TIMEOUT = 3  # CLONE_HANDSHAKE_TIMEOUT of this module's donor


@pytest.fixture(scope="module", params=[("mariadb", "10.11"), ("mysql", "9.7")], ids=flavor_id)
def flavor(request: pytest.FixtureRequest) -> Flavor:
    return get_flavor(*request.param)


@pytest.fixture(scope="module")
def cluster(flavor: Flavor) -> Iterator[Cluster]:
    with donor_cluster(flavor, HANDSHAKE_TIMEOUT) as built:
        yield built


@pytest.fixture(scope="module")
def credential(cluster: Cluster) -> Path:
    return cluster.primary.run_dir / "clone-tls.pem"


def one_at_a_time(cluster: Cluster) -> bool:
    """Whether the donor's listener serves one connection at a time (openssl's): exchanges wait for it."""
    return cluster.flavor.seeding == "clone-plugin"


def greeting(cluster: Cluster) -> bytes:
    """What a genuine recipient writes after the handshake: nothing to socat, HELLO to openssl's donor."""
    return hello("mysql-9") if cluster.flavor.seeding == "clone-plugin" else b""


UNNAMED_PEER = "refused a connection from a peer gone before its address was read:"
"""openssl's donor reads a peer's address from /proc: a peer that hangs up within milliseconds is gone."""


def refusals(donor: Pod) -> int:
    """How many connections the donor has refused so far (a mark for `donor_refused`)."""
    return donor.log("sidecar").count("refused a connection from")


def donor_refused(donor: Pod, exchange: Exchange, mark: int) -> str:
    """The donor's log line about this connection (waits for it); asserts no backup was started for it. On
    openssl's donor, a line that could not name its peer and came after `mark` (`refusals` before the
    connection) counts too."""
    peer = f"127.0.0.1:{exchange.local_port}"

    def refusal() -> str | None:
        lines = [x for x in donor.log("sidecar").splitlines() if "refused a connection from" in x]
        named = next((x for x in lines if f"refused a connection from {peer}:" in x), None)
        if named or donor.cluster.flavor.seeding != "clone-plugin":
            return named
        return next((x for x in lines[mark:] if UNNAMED_PEER in x), None)

    line = wait_until(refusal, 10, what=f"the donor's log line about {peer}")
    assert f"streaming a backup of {donor.name} to {peer}" not in donor.log("sidecar")
    return line


def assert_no_backup_data(exchange: Exchange) -> None:
    assert STREAM_CHUNK_MAGIC not in exchange.received, "backup chunks reached an unauthenticated peer"
    assert MARKER not in exchange.received
    assert PROTOCOL not in exchange.received  # not even the status line
    assert len(exchange.received) < LARGEST_HANDSHAKE


def test_credential_is_derived_from_the_backup_password_and_private(
    cluster: Cluster, credential: Path, tmp_path: Path
) -> None:
    assert private_key_of(credential) == derived_key(cluster.passwords.backup)
    for path in (credential, credential.with_suffix(".crt")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    # Every pod makes the same certificate (fixed template, deterministic Ed25519 signature).
    again = make_credential(tmp_path, cluster.passwords.backup)
    assert again.with_suffix(".crt").read_bytes() == credential.with_suffix(".crt").read_bytes()


def test_plain_tcp_gets_no_backup_byte_and_is_logged(cluster: Cluster) -> None:
    mark = refusals(cluster.primary)
    exchange = raw_exchange(
        cluster.primary.clone_port, idle=one_at_a_time(cluster)
    )  # connect, send nothing, hang up
    assert len(exchange.received) <= 7  # at most a TLS alert record
    assert_no_backup_data(exchange)
    assert "TLS handshake failed, no backup served" in donor_refused(cluster.primary, exchange, mark)
    mark = refusals(cluster.primary)
    probe = raw_exchange(cluster.primary.clone_port, b"GET / HTTP/1.0\r\n\r\n", idle=one_at_a_time(cluster))
    assert_no_backup_data(probe)
    donor_refused(cluster.primary, probe, mark)


def test_a_stalled_handshake_is_cut_and_logged(cluster: Cluster) -> None:
    started = time.monotonic()
    mark = refusals(cluster.primary)
    exchange = raw_exchange(
        cluster.primary.clone_port, b"\x16\x03\x01", timeout=30, hang_up=False, idle=one_at_a_time(cluster)
    )
    waited = time.monotonic() - started
    assert HANDSHAKE_TIMEOUT - 0.5 <= waited < HANDSHAKE_TIMEOUT + 10, waited  # the donor hung up, not us
    assert_no_backup_data(exchange)
    donor_refused(cluster.primary, exchange, mark)


def test_tls_without_a_certificate_gets_nothing_and_is_logged(cluster: Cluster) -> None:
    mark = refusals(cluster.primary)
    exchange, _, _ = tls_exchange(
        cluster.primary.clone_port, client_context(None), idle=one_at_a_time(cluster)
    )
    assert_no_backup_data(exchange)
    assert "peer did not return a certificate" in donor_refused(cluster.primary, exchange, mark)


def test_tls_with_another_password_gets_nothing_and_is_logged(cluster: Cluster, tmp_path: Path) -> None:
    wrong = make_credential(tmp_path, cluster.passwords.backup + "-but-not-quite")
    # An attacker does not check the donor's certificate: it just presents its own.
    mark = refusals(cluster.primary)
    exchange, _, _ = tls_exchange(
        cluster.primary.clone_port, client_context(wrong, verify=False), idle=one_at_a_time(cluster)
    )
    assert_no_backup_data(exchange)
    donor_refused(cluster.primary, exchange, mark)


def test_a_pod_with_another_password_cannot_clone_and_says_why(cluster: Cluster) -> None:
    pod = cluster.replace_pod(1) if len(cluster.pods) > 1 else cluster.new_pod()
    assert pod.run_script("init-config.sh").returncode == 0
    result = pod.run_script(
        "clone.sh",
        env={"MYSQL_BACKUP_PASSWORD": "another password", "CLONE_WAIT_TIMEOUT": "1"},
    )
    assert result.returncode == 1
    assert "donor 0 (127.0.0.1) failed authentication: its certificate is not the cluster's" in result.stderr
    assert "ERROR: no donor started a backup within 1s" in result.stderr
    assert not pod.data_dir.exists()


def test_replayed_handshake_gets_nothing_and_is_logged(cluster: Cluster, credential: Path) -> None:
    genuine, _, sock = tls_exchange(
        cluster.primary.clone_port,
        client_context(credential),
        limit=1,
        greeting=greeting(cluster),
        idle=one_at_a_time(cluster),
    )
    sock.close()
    # What was recorded did authenticate.
    assert genuine.status_line.startswith(PROTOCOL + b" OK mysql-0 size="), genuine
    mark = refusals(cluster.primary)
    replay = raw_exchange(cluster.primary.clone_port, bytes(genuine.sent), idle=one_at_a_time(cluster))
    assert_no_backup_data(replay)
    donor_refused(cluster.primary, replay, mark)


def test_the_clone_plugins_port_vouches_in_one_line_and_names_the_recipient(
    cluster: Cluster, credential: Path
) -> None:
    """openssl's donor: after the handshake and the recipient's HELLO, one status line, then the end; the
    donor's log names the recipient (the pod its HELLO says, and its address as /proc shows it)."""
    if cluster.flavor.seeding != "clone-plugin":
        pytest.skip("socat's donor streams a backup after its status line (test_replication.py)")
    vouched, _, _ = tls_exchange(
        cluster.primary.clone_port,
        client_context(credential),
        greeting=hello("mysql-7"),
        idle=one_at_a_time(cluster),
    )
    assert vouched.error == "", vouched
    assert vouched.status_line.startswith(PROTOCOL + b" OK mysql-0 size="), vouched
    assert vouched.body == b""
    line = f"vouched for a CLONE by 127.0.0.1:{vouched.local_port} (mysql-7)"
    wait_until(lambda: line in cluster.primary.log("sidecar"), 10, what="the donor's log line")
    # Without its HELLO, an authenticated peer gets nothing and is cut off after the handshake timeout.
    mark = refusals(cluster.primary)
    silent, _, _ = tls_exchange(
        cluster.primary.clone_port, client_context(credential), timeout=30, idle=one_at_a_time(cluster)
    )
    assert silent.received == b"", silent
    assert "no TLS handshake and greeting within" in donor_refused(cluster.primary, silent, mark)
    # The port serves the next connection.
    again, _, _ = tls_exchange(
        cluster.primary.clone_port,
        client_context(credential),
        greeting=hello("mysql-8"),
        idle=one_at_a_time(cluster),
    )
    assert again.status_line.startswith(PROTOCOL + b" OK mysql-0 size="), again
