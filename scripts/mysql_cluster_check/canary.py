"""The canary: a row written on the primary that must appear on every replica, timed per replica.

The row lives in its own schema (`mysql_cluster_check.canary`, created if missing, replicated like any other
write) and is removed after the run; rows left by an interrupted run are removed an hour later.
The statements are plain SQL that every flavor accepts.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any, TypeAlias

import pymysql

from .model import CanaryResult
from .probe import describe

SCHEMA = "mysql_cluster_check"
TABLE = f"{SCHEMA}.canary"
CREATE_SCHEMA = f"CREATE DATABASE IF NOT EXISTS {SCHEMA}"
CREATE_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    " token CHAR(32) NOT NULL PRIMARY KEY,"
    " written_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"
    ") ENGINE=InnoDB"
)
# TABLE is a constant; the token is always a bound parameter.
INSERT = f"INSERT INTO {TABLE} (token) VALUES (%s)"  # noqa: S608
SELECT = f"SELECT 1 FROM {TABLE} WHERE token = %s"  # noqa: S608
DELETE = f"DELETE FROM {TABLE} WHERE token = %s OR written_at < NOW(6) - INTERVAL 1 HOUR"  # noqa: S608
# Unknown database / table: on the primary, create them; on a replica, the CREATE has not arrived yet.
MISSING = {1049, 1146}
POLL_SECONDS = 0.02  # the resolution of the measured delay; a SELECT by primary key costs far less

Connection: TypeAlias = "pymysql.Connection[Any]"


def run_canary(
    primary: tuple[str, Connection],
    replicas: Mapping[str, Connection],
    timeout: float,
) -> dict[str, CanaryResult]:
    """Writes the canary on the primary, waits for it on every replica, removes it. Results by pod name."""
    primary_name, primary_conn = primary
    token = uuid.uuid4().hex
    try:
        _write(primary_conn, token)
    except pymysql.MySQLError as error:
        failed = CanaryResult("failed", detail=f"write failed: {describe(error)}")
        return {primary_name: failed} | {
            name: CanaryResult("skipped", detail="no canary") for name in replicas
        }
    results = {primary_name: CanaryResult("written")} | _await(token, replicas, timeout)
    try:
        with primary_conn.cursor() as cursor:
            cursor.execute(DELETE, (token,))
    except pymysql.MySQLError as error:
        results[primary_name] = CanaryResult("failed", detail=f"clean-up failed: {describe(error)}")
    return results


def _write(conn: Connection, token: str) -> None:
    """Inserts the canary row, creating its schema and table first only when they are missing."""
    with conn.cursor() as cursor:
        try:
            cursor.execute(INSERT, (token,))
        except pymysql.MySQLError as error:
            if not error.args or error.args[0] not in MISSING:
                raise
            cursor.execute(CREATE_SCHEMA)
            cursor.execute(CREATE_TABLE)
            cursor.execute(INSERT, (token,))


def _await(token: str, replicas: Mapping[str, Connection], timeout: float) -> dict[str, CanaryResult]:
    written = time.monotonic()
    deadline = written + timeout
    pending = dict(replicas)
    results: dict[str, CanaryResult] = {}
    while pending:
        for name, conn in list(pending.items()):
            outcome = _seen(conn, token)
            if outcome is True:
                results[name] = CanaryResult("seen", delay_seconds=round(time.monotonic() - written, 3))
            elif isinstance(outcome, str):
                results[name] = CanaryResult("failed", detail=f"read failed: {outcome}")
            else:
                continue
            del pending[name]
        if time.monotonic() >= deadline:
            break
        if pending:
            time.sleep(POLL_SECONDS)
    for name in pending:
        results[name] = CanaryResult("timeout", detail=f"not seen after {timeout:g}s")
    return results


def _seen(conn: Connection, token: str) -> bool | str:
    """True when the row is there, False when not yet, an error description when the read failed."""
    try:
        with conn.cursor() as cursor:
            cursor.execute(SELECT, (token,))
            return cursor.fetchone() is not None
    except pymysql.MySQLError as error:
        return False if error.args and error.args[0] in MISSING else describe(error)
