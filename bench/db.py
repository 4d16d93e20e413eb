"""SQL the benchmark runs against either cluster: replication state, canary rows, bulk rows, lag sampling."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pymysql

SCHEMA = "bench"
ROW_BYTES = 1024  # one row of the bulk table: a 4-byte key and a 1020-byte incompressible-ish payload
ROWS_PER_CHUNK = 32768  # one transaction of the bulk load (32 MiB): keeps every binlog event moderate


@dataclass(frozen=True)
class Login:
    user: str
    password: str = field(repr=False)


@contextmanager
def connect(host: str, login: Login, timeout: float = 5) -> Iterator[pymysql.connections.Connection[Any]]:
    conn = pymysql.connect(
        host=host,
        port=3306,
        user=login.user,
        password=login.password,
        connect_timeout=timeout,
        read_timeout=600,
        write_timeout=600,
        autocommit=True,
    )
    try:
        yield conn
    finally:
        conn.close()


def query(host: str, login: Login, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    with connect(host, login) as conn, conn.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute(sql, args)
        return list(cur.fetchall())


def replicating(host: str, login: Login) -> bool:
    """Both replication threads run on the server at `host`. SHOW REPLICA STATUS is MySQL's only form and
    MariaDB's alias (10.5+); MySQL names the columns Replica_*, MariaDB Slave_*."""
    try:
        rows = query(host, login, "SHOW REPLICA STATUS")
    except pymysql.MySQLError:
        return False
    if not rows:
        return False
    row = rows[0]
    io = row.get("Replica_IO_Running", row.get("Slave_IO_Running"))
    sql = row.get("Replica_SQL_Running", row.get("Slave_SQL_Running"))
    return io == "Yes" and sql == "Yes"


def has_canary(host: str, login: Login, canary: int) -> bool:
    try:
        rows = query(host, login, f"SELECT 1 AS seen FROM {SCHEMA}.canary WHERE id = %s", (canary,))  # noqa: S608
    except pymysql.MySQLError:
        return False
    return bool(rows)


def prepare_schema(primary: str, login: Login) -> None:
    with connect(primary, login) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE IF NOT EXISTS {SCHEMA}")
        cur.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.canary (id INT PRIMARY KEY, at TIMESTAMP(6))")
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {SCHEMA}.heartbeat (id INT PRIMARY KEY, written_at TIMESTAMP(6))"
        )
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {SCHEMA}.bulk (id INT PRIMARY KEY, pad VARCHAR(1020) NOT NULL)"
        )


def write_canary(primary: str, login: Login) -> int:
    canary = int(time.time() * 1000) % 2_000_000_000
    with connect(primary, login) as conn, conn.cursor() as cur:
        cur.execute(f"REPLACE INTO {SCHEMA}.canary VALUES (%s, NOW(6))", (canary,))  # noqa: S608
    return canary


def bulk_insert(flavor: str, first: int, last: int) -> str:
    """One chunk of the bulk load: the keys first..last from MariaDB's sequence engine, or on MySQL (which has
    none) from a recursive CTE (its recursion depth raised to the chunk's size for the session)."""
    row = "RPAD(SHA2(seq, 512), 1020, SHA2(seq + 1, 512))"
    if flavor == "mysql":
        return (
            f"INSERT INTO {SCHEMA}.bulk WITH RECURSIVE s (seq) AS (SELECT CAST({first} AS UNSIGNED) "  # noqa: S608
            f"UNION ALL SELECT seq + 1 FROM s WHERE seq < {last}) SELECT seq, {row} FROM s"
        )
    return f"INSERT INTO {SCHEMA}.bulk SELECT seq, {row} FROM {SCHEMA}.seq_{first}_to_{last}"  # noqa: S608


def load_rows(primary: str, login: Login, total_bytes: int, flavor: str = "mariadb") -> int:
    """Fill the bulk table on the primary with about `total_bytes` of rows; returns the number of rows.

    The payload is hex of SHA2 digests, so compression or deduplication cannot make a copy cheaper.
    """
    rows = total_bytes // ROW_BYTES
    with connect(primary, login) as conn, conn.cursor() as cur:
        if flavor == "mysql":
            cur.execute(f"SET SESSION cte_max_recursion_depth = {ROWS_PER_CHUNK + 1}")
        for first in range(1, rows + 1, ROWS_PER_CHUNK):
            cur.execute(bulk_insert(flavor, first, min(first + ROWS_PER_CHUNK - 1, rows)))
    return rows


@dataclass
class LagSampler:
    """Writes a heartbeat on the primary every `interval` s and samples its age on every replica.

    Every pod of the single-node cluster shares the host's clock, so the age a replica reads
    (NOW(6) - written_at of the newest heartbeat it applied) is its lag, plus at most one write interval.
    """

    primary: str
    replicas: dict[str, str]  # pod -> address
    login: Login
    interval: float = 0.1
    samples: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> LagSampler:
        self._threads = [threading.Thread(target=self._write, daemon=True)]
        for pod, host in self.replicas.items():
            self.samples[pod] = []
            self._threads.append(threading.Thread(target=self._read, args=(pod, host), daemon=True))
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _write(self) -> None:
        try:
            with connect(self.primary, self.login) as conn, conn.cursor() as cur:
                while not self._stop.is_set():
                    cur.execute(f"REPLACE INTO {SCHEMA}.heartbeat VALUES (1, NOW(6))")  # noqa: S608
                    self._stop.wait(self.interval)
        except pymysql.MySQLError as error:
            self.errors.append(f"heartbeat writer: {error}")

    def _read(self, pod: str, host: str) -> None:
        sql = f"SELECT TIMESTAMPDIFF(MICROSECOND, written_at, NOW(6)) AS age FROM {SCHEMA}.heartbeat"  # noqa: S608
        try:
            with connect(host, self.login) as conn, conn.cursor() as cur:
                while not self._stop.is_set():
                    cur.execute(sql)
                    row = cur.fetchone()
                    if row is not None and row[0] is not None:
                        self.samples[pod].append(max(0, int(row[0])) / 1e6)
                    self._stop.wait(self.interval)
        except pymysql.MySQLError as error:
            self.errors.append(f"lag reader {pod}: {error}")


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]
