"""A writer that records every acknowledged row: the witness of the chaos scenarios.

It inserts rows one by one (autocommit) into `e2e.acked` on whichever pod is the primary now (ordinal 0, its
address looked up again after every failure, since a restarted pod has a new IP), and keeps the id of every
insert the server acknowledged. Failures are expected during a scenario; they are counted, never raised.
Afterwards every acknowledged id must be on the primary and on every replica.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from typing import Any

import pymysql

from .checks import Report, pod_ips, query, wait_for
from .harness import CLUSTER_NAME, Kube

TABLE = "e2e.acked"
CREATE = (
    "CREATE DATABASE IF NOT EXISTS e2e",
    f"CREATE TABLE IF NOT EXISTS {TABLE} (id BIGINT PRIMARY KEY AUTO_INCREMENT, written_at TIMESTAMP(6)"
    " NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB",
)
INSERT = f"INSERT INTO {TABLE} () VALUES ()"


def primary_ip(kube: Kube) -> str | None:
    """Ordinal 0's address; None while it has none, or while the API server does not answer."""
    selector = f"statefulset.kubernetes.io/pod-name={CLUSTER_NAME}-0"
    result = kube.run("get", "pods", "-l", selector, "-o", "json", check=False)
    if result.returncode != 0:
        return None
    pods = json.loads(result.stdout)["items"]
    return (pods[0]["status"].get("podIP") or None) if pods else None


class Writer:
    """`with Writer(kube, password) as writer:` writes until the block ends; then `writer.acked` holds the
    acknowledged ids and `writer.failures` the number of failed attempts."""

    def __init__(self, kube: Kube, password: str, pause: float = 0.02) -> None:
        self.kube, self.pause = kube, pause
        # Tried in order at each (re)connection: a rotation scenario puts the new root password first.
        self.passwords = [password]
        self.acked: list[int] = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._conn: pymysql.Connection[Any] | None = None

    def __enter__(self) -> Writer:
        self._connect(create=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(60)
        if self._conn is not None:
            with contextlib.suppress(pymysql.MySQLError):
                self._conn.close()

    def wait_for_rows(self, count: int, timeout: float = 120) -> None:
        """Returns once `count` more rows were acknowledged (the writer is making progress)."""
        target, deadline = len(self.acked) + count, time.monotonic() + timeout
        while len(self.acked) < target:
            if time.monotonic() > deadline:
                raise AssertionError(f"the writer acknowledged {len(self.acked)}/{target} rows in {timeout}s")
            time.sleep(0.2)

    def _connect(self, *, create: bool = False) -> None:
        host = primary_ip(self.kube)
        if host is None:
            raise pymysql.err.OperationalError(2003, "the primary pod has no IP yet")
        for password in list(self.passwords):
            try:
                self._conn = pymysql.connect(
                    host=host, port=3306, user="root", password=password, autocommit=True,
                    connect_timeout=5, read_timeout=10, write_timeout=10,
                )  # fmt: skip
                break
            except pymysql.err.OperationalError as error:
                if error.args[0] != 1045 or password == self.passwords[-1]:
                    raise
        assert self._conn is not None
        if create:
            with self._conn.cursor() as cursor:
                for statement in CREATE:
                    cursor.execute(statement)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self._conn is None:
                    self._connect()
                assert self._conn is not None
                with self._conn.cursor() as cursor:
                    cursor.execute(INSERT)
                    self.acked.append(int(cursor.lastrowid))
            except (pymysql.MySQLError, OSError, ValueError):
                # The server or the pod away (primary_ip: no address): count it, try again.
                self.failures += 1
                self._conn = None
                self._stop.wait(0.5)
            self._stop.wait(self.pause)


def assert_every_acked_row_everywhere(kube: Kube, password: str, writer: Writer, report: Report) -> None:
    """Every acknowledged id on every pod, and one checksum of the table on all of them."""
    acked = set(writer.acked)
    assert acked, "the writer acknowledged nothing"

    def converged() -> bool:
        sums = set()
        for ip in pod_ips(kube).values():
            ids = {row[0] for row in query(ip, password, f"SELECT id FROM {TABLE}")}
            missing = acked - ids
            if missing:
                return False
            sums.add(query(ip, password, f"CHECKSUM TABLE {TABLE}")[0][1])
        return len(sums) == 1

    waited = wait_for("every acknowledged row on every pod, equal checksums", converged, timeout=180)
    report(
        f"{len(acked)} acknowledged rows ({writer.failures} failed attempts) on all "
        f"{len(pod_ips(kube))} pods with one checksum, {waited:.1f}s after the writer stopped"
    )
