"""The clone port refusing strangers from the node, on the stack the scenarios before it left running."""

from __future__ import annotations

import socket
import ssl
import time

import pytest

from mysql_cluster.flavors import get_flavor

from .checks import Report, pod_ips, wait_for
from .harness import CLUSTER_NAME, FLAVOR_NAME, FLAVOR_VERSION, Kube

pytestmark = pytest.mark.e2e

CLONE_PORT = 3307


def stranger_exchange(host: str, payload: bytes | None) -> tuple[int, bytes]:
    """One connection to a clone port: plain TCP sending `payload`, or (None) TLS without a certificate.
    Returns the local port (the donor logs it) and every byte received until the donor hung up. MySQL's
    donor (openssl) serves one connection at a time: a refusal between two is tried again for up to 3 s."""
    deadline = time.monotonic() + 3
    while True:
        try:
            sock = socket.create_connection((host, CLONE_PORT), timeout=30)
            break
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    with sock:
        port = int(sock.getsockname()[1])
        received = bytearray()
        try:
            if payload is None:
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
                with context.wrap_socket(sock) as tls:
                    while data := tls.recv(1 << 16):
                        received += data
            else:
                sock.sendall(payload)
                sock.shutdown(socket.SHUT_WR)
                while data := sock.recv(1 << 16):
                    received += data
        except (OSError, ssl.SSLError):
            pass  # the donor's alert, or a reset: what matters is what arrived before
    return port, bytes(received)


@pytest.mark.smoke
def test_clone_port_serves_no_stranger(kube: Kube, report: Report) -> None:
    """From the node, which no NetworkPolicy stops (nor does this CNI enforce any): a plain connection, an
    HTTP request and TLS without the cluster's credential get no backup byte, and the donor logs each (one
    after the other: MySQL's donor serves one connection at a time, and names a peer that hung up within
    milliseconds "a peer gone before its address was read")."""
    donor = f"{CLUSTER_NAME}-0"
    ip = pod_ips(kube)[donor]
    attempts = {"plain TCP": b"", "HTTP": b"GET / HTTP/1.0\r\n\r\n", "TLS without a certificate": None}
    one_at_a_time = get_flavor(FLAVOR_NAME, FLAVOR_VERSION).seeding == "clone-plugin"

    def refusals() -> list[str]:
        logs = kube.run("logs", donor, "-c", "backup").stdout.splitlines()
        return [line for line in logs if "TLS handshake failed, no backup served" in line]

    for kind, payload in attempts.items():
        before = len(refusals())
        port, received = stranger_exchange(ip, payload)
        assert b"XBSTCK01" not in received, kind  # no backup chunk
        assert b"MYSQL-CLUSTER-CLONE" not in received, kind  # not even the status line
        assert len(received) < 16 * 1024, (kind, len(received))  # a TLS alert or handshake, not a backup

        def logged(port: int = port, before: int = before) -> bool:
            new = refusals()[before:] if one_at_a_time else refusals()
            return any(f":{port}: " in line or (one_at_a_time and "a peer gone" in line) for line in new)

        seconds = wait_for(f"the donor to log the refused {kind}", logged, timeout=30)
        report(
            f"clone port, {kind} from the node: {len(received)} bytes received, no backup data; "
            f"{donor}'s sidecar logged the refusal within {seconds:.1f}s"
        )
