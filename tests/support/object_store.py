"""A real S3-compatible object store for the script tier: versitygw (Apache-2.0; MinIO and Garage are AGPL and
not used), built and cached by e2e/toolchain/versitygw.sh, serving a posix directory on loopback with its own
credentials; every request must carry a valid signature. Objects are plain files under `root/<bucket>/`, so a
test inspects what was really stored; `request` talks S3 to it (host curl, the credentials on its stdin).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.pods import free_port, listening, wait_until

REPOSITORY = Path(__file__).resolve().parents[2]
BUILD = REPOSITORY / "e2e" / "toolchain" / "versitygw.sh"
REGION = "us-east-1"


@dataclass(frozen=True)
class ObjectStore:
    """A running versitygw: its endpoint, root directory (the posix backend) and root credentials."""

    endpoint: str
    root: Path
    access_key: str
    secret_key: str

    def secrets(self) -> tuple[str, str]:
        """What must never show on a command line or in a log."""
        return (self.secret_key, f"{self.access_key}:{self.secret_key}")

    def write_credentials(self, directory: Path, uid: int, gid: int) -> Path:
        """The credentials as a mounted Secret would hold them (files access-key-id, secret-access-key)."""
        directory.mkdir(mode=0o750)
        for name, value in (("access-key-id", self.access_key), ("secret-access-key", self.secret_key)):
            path = directory / name
            path.write_text(value)
            path.chmod(0o400)
            os.chown(path, uid, gid)
        os.chown(directory, uid, gid)
        return directory

    def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        """A signed S3 request (`path` is `/<bucket>[/<key>][?query]`): (HTTP status, response body)."""
        config = f'user = "{self.access_key}:{self.secret_key}"\naws-sigv4 = "aws:amz:{REGION}:s3"\n'
        body_file = self.root.parent / f"request-{secrets.token_hex(4)}"
        body_file.write_bytes(body)
        payload = f"x-amz-content-sha256: {hashlib.sha256(body).hexdigest()}"  # signed; curl 7.88 needs it
        try:
            done = subprocess.run(
                ["curl", "-K", "-", "--silent", "--request", method, "--upload-file", str(body_file),
                 "--header", "Expect:", "--header", payload, "--output", "-", "--write-out", "\n%{http_code}",
                 f"{self.endpoint}{path}"],
                input=config.encode(), capture_output=True, timeout=60, check=False,
            )  # fmt: skip
        finally:
            body_file.unlink()
        answer, _, code = done.stdout.rpartition(b"\n")
        return int(code or 0), answer

    def make_bucket(self, bucket: str) -> None:
        status, answer = self.request("PUT", f"/{bucket}")
        if status != 200:
            raise RuntimeError(f"creating bucket {bucket} failed: HTTP {status} {answer!r}")

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every complete object under `prefix`, as the backend stores it (uploads in progress excluded)."""
        base = self.root / bucket
        found = (str(path.relative_to(base)) for path in base.rglob("*") if path.is_file())
        return sorted(key for key in found if key.startswith(prefix) and not key.startswith(".sgw"))

    def read(self, bucket: str, key: str) -> bytes:
        """An object's bytes, through the S3 API (a signed GET)."""
        status, answer = self.request("GET", f"/{bucket}/{key}")
        if status != 200:
            raise RuntimeError(f"GET {bucket}/{key}: HTTP {status} {answer[:300]!r}")
        return answer


def versitygw_binary() -> Path:
    """The cached versitygw (built now if missing: about 80 s cold)."""
    built = subprocess.run(["bash", str(BUILD)], capture_output=True, text=True, check=False)
    if built.returncode != 0:
        raise RuntimeError(f"e2e/toolchain/versitygw.sh failed:\n{built.stderr}")
    return Path(built.stdout.strip())


@contextmanager
def object_store(directory: Path) -> Iterator[ObjectStore]:
    """versitygw serving `directory`/objects on a free loopback port, stopped on exit. The credentials are
    random, with characters a careless client would mangle, and reach the server through its environment."""
    root = directory / "objects"
    root.mkdir(parents=True)
    port = free_port()
    store = ObjectStore(
        endpoint=f"http://127.0.0.1:{port}",
        root=root,
        access_key="AK" + secrets.token_hex(9).upper(),
        secret_key=secrets.token_urlsafe(24) + "/+S3-SECRET",
    )
    log = (directory / "versitygw.log").open("ab")
    with log:
        server = subprocess.Popen(
            [str(versitygw_binary()), "--port", f"127.0.0.1:{port}", "--region", REGION, "posix", str(root)],
            env={"PATH": "/usr/bin:/bin", "ROOT_ACCESS_KEY_ID": store.access_key,
                 "ROOT_SECRET_ACCESS_KEY": store.secret_key},
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        wait_until(lambda: listening(port), 30, 0.05, "versitygw to listen")
        yield store
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
