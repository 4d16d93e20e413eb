"""The clone port's protocol (mysql_cluster/scripts/transport.sh) from the outside, for the script tests.

Written independently of the scripts from their documented contract: the credential every pod derives from
the backup password (`derived_key`), TLS 1.3 contexts that present it (or not), a client that records what
it sends and receives, and the donor's status line. Credential FILES are made by the real
`transport_credentials` (`make_credential`), so a test exercises the scripts' own derivation.
"""

from __future__ import annotations

import base64
import hashlib
import re
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.pods import SCRIPTS_DIR, free_port

PROTOCOL = b"MYSQL-CLUSTER-CLONE/1"
TLS_NAME = "mysql-cluster-clone"
KDF_ITERATIONS = 600_000
KDF_SALT = b"mysqlcl1"  # transport.sh CLONE_KDF_SALT=6d7973716c636c31
STREAM_CHUNK_MAGIC = b"XBSTCK01"  # every xbstream/mbstream chunk starts with it


def _digest(password: str) -> str:
    return hashlib.sha256(b"mysql-cluster clone credential v1\n" + password.encode()).hexdigest()


def derived_key(password: str) -> bytes:
    """The 32-byte Ed25519 private key every pod derives from the backup password."""
    return hashlib.pbkdf2_hmac("sha256", _digest(password).encode(), KDF_SALT, KDF_ITERATIONS, 32)


def secret_forms(password: str) -> tuple[str, ...]:
    """Every password-equivalent value the derivation handles, as text a leak would show: the digest fed to
    openssl and the key it derives (lower- and upper-case hex)."""
    key = derived_key(password).hex()
    return (_digest(password), key, key.upper())


def make_credential(directory: Path, password: str) -> Path:
    """Runs transport.sh's `transport_credentials` with RUN_DIR=directory; returns the certificate+key file
    (the certificate alone is beside it, `.crt`). The password travels in the environment only."""
    script = 'source "$0/lib.sh" && source "$0/transport.sh" && transport_credentials'
    subprocess.run(
        ["bash", "-c", script, str(SCRIPTS_DIR)],
        env={"PATH": "/usr/bin:/bin", "RUN_DIR": str(directory), "MYSQL_BACKUP_PASSWORD": password},
        check=True,
        capture_output=True,
        timeout=60,
    )
    return directory / "clone-tls.pem"


def private_key_of(pem: Path) -> bytes:
    """The raw 32 key bytes of the PKCS#8 Ed25519 key in a credential file."""
    match = re.search(r"-----BEGIN PRIVATE KEY-----(.*?)-----END PRIVATE KEY-----", pem.read_text(), re.S)
    assert match, f"{pem} holds no private key"
    der = base64.b64decode("".join(match.group(1).split()))
    assert len(der) == 48, "an Ed25519 PKCS#8 key is 48 bytes"
    return der[16:]


def client_context(pem: Path | None, *, verify: bool = True) -> ssl.SSLContext:
    """TLS 1.3 client presenting `pem` (None: no certificate); `verify` checks the donor's certificate
    against the one beside `pem`, as the scripts do (an attacker would not bother)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.check_hostname = False
    if verify and pem is not None:
        context.load_verify_locations(cafile=str(pem.with_suffix(".crt")))
    else:
        context.verify_mode = ssl.CERT_NONE
    if pem is not None:
        context.load_cert_chain(str(pem))
    return context


def server_context(pem: Path) -> ssl.SSLContext:
    """TLS 1.3 server presenting `pem` and requiring the same certificate from its peer, as the donor does."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(str(pem))
    context.load_verify_locations(cafile=str(pem.with_suffix(".crt")))
    context.verify_mode = ssl.CERT_REQUIRED
    return context


@dataclass
class Exchange:
    """One connection: the local port (the donor logs it), bytes sent on the wire (TLS records included),
    plaintext received, and how it ended."""

    local_port: int
    sent: bytearray = field(default_factory=bytearray)
    received: bytearray = field(default_factory=bytearray)
    error: str = ""

    @property
    def status_line(self) -> bytes:
        """The donor's first line (b"" if none)."""
        return bytes(self.received.split(b"\n", 1)[0]) if b"\n" in self.received else b""

    @property
    def body(self) -> bytes:
        """What followed the status line."""
        return bytes(self.received.split(b"\n", 1)[1]) if b"\n" in self.received else b""


def _tcp_sockets(port: int) -> list[tuple[str, str]]:
    """(state, inode) of the TCP sockets whose local port is `port` (hex states of /proc/net/tcp)."""
    sockets = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                sockets.append((fields[3], fields[9]))
    return sockets


_served_by: dict[int, str] = {}
"""port -> the inode of the listening socket `wait_idle` last let a connection through to."""


def wait_idle(port: int, timeout: float = 15) -> None:
    """Until a listener that has served no connection yet listens on `port` and no connection to it is open
    (TIME_WAIT aside). openssl's donor serves one connection per s_server process, which keeps listening
    until it exits: a connection made meanwhile waits in its backlog and is reset when it exits (recipients
    ask again; a test must not race it)."""
    deadline = time.monotonic() + timeout
    while True:
        sockets = _tcp_sockets(port)
        listening = [inode for state, inode in sockets if state == "0A"]
        busy = [state for state, _ in sockets if state not in ("0A", "06")]
        if len(listening) == 1 and not busy and listening[0] != _served_by.get(port):
            _served_by[port] = listening[0]
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"port {port} never became idle: sockets {sockets}")
        time.sleep(0.05)


def connect(
    port: int, timeout: float = 10, make: Callable[[], socket.socket] = socket.socket
) -> socket.socket:
    """A TCP connection to 127.0.0.1:port from a socket `make` returns. openssl's donor (MySQL) serves one
    connection at a time and listens again after each: as its recipients do, a refusal is tried again for
    up to 3 s."""
    deadline = time.monotonic() + 3
    while True:
        sock = make()
        sock.settimeout(timeout)
        try:
            sock.connect(("127.0.0.1", port))
            return sock
        except ConnectionRefusedError:
            sock.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def raw_exchange(
    port: int, payload: bytes = b"", timeout: float = 10, *, hang_up: bool = True, idle: bool = False
) -> Exchange:
    """A plain TCP connection: sends `payload`, half-closes (unless not `hang_up`: then it just waits),
    returns everything received until the donor closes (or `timeout` of silence). `idle`: waits for an idle
    listener first (`wait_idle`)."""
    if idle:
        wait_idle(port)
    with connect(port, timeout=timeout) as sock:
        exchange = Exchange(sock.getsockname()[1])
        sock.sendall(payload)
        exchange.sent += payload
        _drain(sock, exchange, hang_up=hang_up)
    return exchange


def tls_exchange(
    port: int,
    context: ssl.SSLContext,
    *,
    limit: int | None = None,
    receive_buffer: int | None = None,
    pause: float = 0,
    timeout: float = 60,
    greeting: bytes = b"",
    idle: bool = False,
) -> tuple[Exchange, ssl.SSLObject, socket.socket]:
    """A TLS connection driven through memory buffers, so that every byte sent is recorded (for replays).
    Reads plaintext until the donor closes, or only until `limit` bytes arrived (the connection is then
    left open and returned with its TLS object; close the socket to end it). `receive_buffer` shrinks the
    socket's receive buffer (SO_RCVBUF) before connecting; `pause` seconds without reading follow the
    first plaintext received (a slow recipient). `greeting` is written once the handshake is done (the
    HELLO line a donor on a CLONE-plugin flavor waits for: `hello(pod)`); `idle` waits for an idle listener
    first (`wait_idle`)."""
    if idle:
        wait_idle(port)

    def fresh() -> socket.socket:
        sock = socket.socket()
        if receive_buffer is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        return sock

    sock = connect(port, timeout, fresh)
    exchange = Exchange(sock.getsockname()[1])
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=TLS_NAME)

    def flush() -> None:
        data = outgoing.read()
        if data:
            exchange.sent += data
            sock.sendall(data)

    def pump() -> bool:
        data = sock.recv(1 << 16)
        if not data:
            incoming.write_eof()
            return False
        incoming.write(data)
        return True

    try:
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                flush()
                if not pump():
                    raise ConnectionError("closed during the TLS handshake") from None
        if greeting:
            tls.write(greeting)
        flush()
        while limit is None or len(exchange.received) < limit:
            try:
                chunk = tls.read(1 << 16)
            except ssl.SSLWantReadError:
                flush()
                if not pump():
                    break
                continue
            if not chunk:
                break
            if pause and not exchange.received:
                time.sleep(pause)
            exchange.received += chunk
        flush()
    except (OSError, ssl.SSLError, ConnectionError) as error:
        exchange.error = f"{type(error).__name__}: {error}"
    if limit is None:
        sock.close()
    return exchange, tls, sock


def hello(pod: str) -> bytes:
    """The line a recipient writes first to a donor of a CLONE-plugin flavor (transport-openssl.sh)."""
    return PROTOCOL + b" HELLO " + pod.encode() + b"\n"


def _drain(sock: socket.socket, exchange: Exchange, *, hang_up: bool = True) -> None:
    try:
        if hang_up:
            sock.shutdown(socket.SHUT_WR)
        while data := sock.recv(1 << 16):
            exchange.received += data
    except OSError as error:
        exchange.error = f"{type(error).__name__}: {error}"


class FakeDonor:
    """Listens on a free loopback port and speaks the clone transport with the credential `pem` (mutual TLS,
    then the OK status line); the n-th authenticated connection gets `answers[n]` (then the last one again).

    An answer is bytes to send before closing, optionally followed by a pause (seconds) with the
    connection held open: (payload, hang).
    """

    def __init__(self, answers: list[tuple[bytes, float]], pem: Path) -> None:
        self.answers = answers
        self.connections = 0
        self.port = free_port()
        self._context = server_context(pem)
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> FakeDonor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._server.close()
        self._thread.join(5)

    def _serve(self) -> None:
        self._server.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except (TimeoutError, OSError):
                continue
            conn.settimeout(10)
            try:
                tls = self._context.wrap_socket(conn, server_side=True)
            except (OSError, ssl.SSLError):
                conn.close()
                continue  # the peer failed the handshake
            payload, hang = self.answers[min(self.connections, len(self.answers) - 1)]
            self.connections += 1
            with tls:
                try:
                    tls.sendall(PROTOCOL + b" OK fake-donor\n" + payload)
                    self._stop.wait(hang)
                except OSError:
                    pass
