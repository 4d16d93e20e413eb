"""A fake Kubernetes API server for the label-pod tests: HTTPS on a free loopback port that records each
request and answers with a scripted status, and the self-signed certificates it presents."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.pods import CommandLineWatch, free_port

TOKEN = "eyJhbGciOiJSUzI1NiJ9.test-service-account-token.SIGNATURE-41f7"
"""The service account token the fake server expects; no command line may show it."""


def make_certificate(directory: Path, name: str, address: str = "127.0.0.1") -> tuple[Path, Path]:
    """A self-signed certificate for `address` (the CA is the certificate itself)."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", f"/CN={name}",
         "-addext", f"subjectAltName=IP:{address}"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


Answer = tuple[int, dict[str, object]]
"""An HTTP status and the JSON body that goes with it."""


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    token_on_a_command_line: list[str] = field(default_factory=list)


class FakeApiServer:
    """HTTPS on a free loopback port; the n-th request gets `statuses[n]` (then the last one again)."""

    def __init__(
        self,
        cert: Path,
        key: Path,
        statuses: list[int],
        routes: dict[tuple[str, str], Answer | list[Answer]] | None = None,
    ) -> None:
        """`routes` answers (method, path) with (status, JSON body), or with each of a list in turn (then the
        last one again); other requests get `statuses`."""
        self.statuses = statuses
        self.routes = routes or {}
        self.requests: list[Request] = []
        self.port = free_port()
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(cert, key)
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._server.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> FakeApiServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._server.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                raw, _ = self._server.accept()
            except (TimeoutError, OSError):
                continue
            try:
                with self._context.wrap_socket(raw, server_side=True) as conn:
                    self._handle(conn)
            except (ssl.SSLError, OSError):
                raw.close()  # e.g. the client rejected our certificate

    def _handle(self, conn: ssl.SSLSocket) -> None:
        conn.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {name.lower(): value for name, value in (line.split(": ", 1) for line in lines[1:])}
        while len(body) < int(headers.get("content-length", "0")):
            body += conn.recv(4096)
        request = Request(method, path, headers, body)
        # The client is connected and waiting for the answer right now: look at every command line.
        with CommandLineWatch((TOKEN,)) as watch:
            watch._stop.wait(0.1)
        request.token_on_a_command_line = watch.leaks
        self.requests.append(request)
        status = self.statuses[min(len(self.requests) - 1, len(self.statuses) - 1)]
        reason = {200: "OK", 403: "Forbidden", 404: "Not Found", 500: "Internal Server Error"}[status]
        payload: dict[str, object] = (
            {"kind": "Pod", "metadata": {"name": "patched"}}
            if status == 200
            else {"kind": "Status", "status": "Failure", "message": f'pods "x" is {reason.lower()} here'}
        )
        if (method, path) in self.routes:
            answers = self.routes[method, path]
            if isinstance(answers, list):
                answers = answers.pop(0) if len(answers) > 1 else answers[0]
            status, payload = answers
            reason = {200: "OK", 404: "Not Found", 409: "Conflict"}[status]
        answer = json.dumps(payload, separators=(",", ":")).encode()  # compact, as the API server writes
        conn.sendall(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(answer)}\r\nConnection: close\r\n\r\n".encode()
            + answer
        )
