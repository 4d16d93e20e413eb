"""Asks one server what it is: version, identity, read-only flags, GTID position and replication state.

Collecting (`collect`) and reading (`interpret`) are separate so that the reading can be tested on rows
recorded from real servers. The replication status statement and its column names come from
`mysql_cluster.flavors`, for the flavor and version the server itself reports.
"""

from __future__ import annotations

import re
from typing import Any

import pymysql
import pymysql.cursors

from .model import Address, Password, PodState, Replication, Role
from .project import flavors

# What a server reported, as JSON-able data: {"version": str, "variables": {...}, "replica_status": [row],
# "applier_errors": [{"errno": int, "message": str}]} (the last key absent in older recordings).
RawState = dict[str, Any]


def detect_flavor(version: str) -> tuple[str, str]:
    """The flavor name and the supported version whose SQL fits a server reporting `version`.

    A version this project does not list maps to the newest supported one not newer than it (MariaDB 11.8
    reads like 11.4), else to the oldest one.
    """
    name = "mariadb" if "mariadb" in version.lower() else "mysql"
    match = re.search(r"(\d+)\.(\d+)", version.removeprefix("5.5.5-"))
    actual = (int(match[1]), int(match[2])) if match else (0, 0)
    supported = sorted(flavors.SUPPORTED_VERSIONS[name], key=_version_key)
    not_newer = [v for v in supported if _version_key(v) <= actual]
    return name, (not_newer[-1] if not_newer else supported[0])


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def connect(address: Address, user: str, password: Password, timeout: float) -> pymysql.Connection[Any]:
    """A connection with autocommit, so that every SELECT sees the latest committed rows."""
    return pymysql.connect(
        host=address.host,
        port=address.port,
        user=user,
        password=password.reveal(),
        connect_timeout=timeout,
        read_timeout=timeout,
        write_timeout=timeout,
        autocommit=True,
        charset="utf8mb4",
    )


def describe(error: BaseException) -> str:
    """`<errno> <message>` of a server or driver error (PyMySQL's messages never carry the password)."""
    if isinstance(error, pymysql.MySQLError) and len(error.args) >= 2:
        return f"{error.args[0]} {error.args[1]}"
    return str(error) or type(error).__name__


def collect(conn: pymysql.Connection[Any]) -> RawState:
    """Runs the status queries for the server's own flavor and returns the rows as they came."""
    version = str(_rows(conn, "SELECT VERSION() AS version")[0]["version"])
    flavor = flavors.get_flavor(*detect_flavor(version))
    selects = ", ".join(f"@@global.{var} AS {var}" for var in _variables(flavor))
    variables = _rows(conn, f"SELECT {selects}")[0]
    status = [_plain_row(row) for row in _rows(conn, flavor.show_replica_status)]
    return {
        "version": version,
        "variables": {key: _plain(value) for key, value in variables.items()},
        "replica_status": status,
        "applier_errors": _applier_errors(conn, flavor, status),
    }


def _applier_errors(
    conn: pymysql.Connection[Any], flavor: flavors.Flavor, status: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The applier workers' errors (MySQL), asked only when the SQL thread has one: there the status row
    says no more than that a worker failed. Best effort: a server that cannot answer keeps that row's own."""
    if not flavor.applier_errors_sql or not any(
        _int(row.get(flavor.last_sql_errno_column)) for row in status
    ):
        return []
    try:
        return [_plain_row(row) for row in _rows(conn, flavor.applier_errors_sql)]
    except pymysql.MySQLError:
        return []


def _variables(flavor: flavors.Flavor) -> tuple[str, ...]:
    """server_id, the flavor's identity and read-only variables, and its GTID positions: what the server has
    applied, what it purged (MySQL), what it applied as a replica (MariaDB's gtid_slave_pos)."""
    domain = "gtid_domain_id" if flavor.gtid_domain_option else None  # MariaDB
    wanted = (
        "server_id",
        flavor.server_uuid_variable,
        domain,
        *flavor.read_only_variables,
        *_gtid_variables(flavor),
    )
    return tuple(dict.fromkeys(var for var in wanted if var))


def _gtid_variables(flavor: flavors.Flavor) -> tuple[str, ...]:
    wanted = (
        flavor.gtid_executed_variable,
        flavor.gtid_purged_variable,
        flavor.replica_info_gtid_variable,
        flavor.gtid_history_variable,
    )
    return tuple(dict.fromkeys(var for var in wanted if var))


def _rows(conn: pymysql.Connection[Any], sql: str) -> list[dict[str, Any]]:
    with conn.cursor(pymysql.cursors.DictCursor) as cursor:
        cursor.execute(sql)
        return list(cursor.fetchall())


def _plain_row(row: dict[str, Any]) -> dict[str, Any]:
    return {key: _plain(value) for key, value in row.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", "replace")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)  # Decimal, datetime


def interpret(name: str, ordinal: int, endpoint: str, raw: RawState) -> PodState:
    """A pod's state from what its server reported (`collect`)."""
    version = str(raw["version"])
    flavor = flavors.get_flavor(*detect_flavor(version))
    variables: dict[str, Any] = raw["variables"]
    rows: list[dict[str, Any]] = raw["replica_status"]
    role: Role = "primary" if ordinal == 0 else "replica"
    super_read_only = "super_read_only" in flavor.read_only_variables
    return PodState(
        name=name,
        ordinal=ordinal,
        role=role,
        endpoint=endpoint,
        flavor=flavor.name,
        version=version,
        server_id=_int(variables.get("server_id")),
        server_uuid=variables.get(flavor.server_uuid_variable) if flavor.server_uuid_variable else None,
        gtid_domain_id=_int(variables.get("gtid_domain_id")),
        read_only=_flag(variables.get("read_only")),
        super_read_only=_flag(variables.get("super_read_only")) if super_read_only else None,
        gtid_position=_gtid(variables.get(flavor.gtid_executed_variable)),
        gtid_variables={var: _gtid(variables.get(var)) or "" for var in _gtid_variables(flavor)},
        replication=_replication(flavor, rows[0], raw.get("applier_errors", [])) if rows else None,
    )


def _replication(
    flavor: flavors.Flavor, row: dict[str, Any], applier_errors: list[dict[str, Any]]
) -> Replication:
    host = row.get(flavor.source_host_column)
    port = _int(row.get(flavor.source_port_column))
    # Source_Server_Id (MySQL) or Master_Server_Id (MariaDB): the flavors module names no column for it.
    server_id_column = flavor.source_host_column.removesuffix("Host") + "Server_Id"
    sql_errno = _int(row.get(flavor.last_sql_errno_column)) or 0
    return Replication(
        io_running=str(row.get(flavor.io_running_column) or "No"),
        sql_running=str(row.get(flavor.sql_running_column) or "No"),
        source=Address(str(host), port) if host and port else None,
        source_server_id=_int(row.get(server_id_column)),
        lag_seconds=_int(row.get(flavor.lag_column)),
        last_io_errno=_int(row.get(flavor.last_io_errno_column)) or 0,
        last_io_error=str(row.get(flavor.last_io_error_column) or ""),
        last_sql_errno=sql_errno,
        last_sql_error=_sql_error(
            sql_errno, str(row.get(flavor.last_sql_error_column) or ""), applier_errors
        ),
    )


def _sql_error(errno: int, error: str, applier_errors: list[dict[str, Any]]) -> str:
    """The SQL thread's last error; when a worker's error explains it (same number, else the newest), that
    one, which names the transaction, the table and the cause."""
    if not errno or not applier_errors:
        return error
    same = [worker for worker in applier_errors if _int(worker.get("errno")) == errno]
    return str((same or applier_errors)[0].get("message") or error)


def _gtid(value: Any) -> str | None:
    """A GTID set on one line (MySQL breaks gtid_executed after each comma)."""
    return None if value is None else str(value).replace("\n", "")


def _int(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


def _flag(value: Any) -> bool | None:
    if value is None:
        return None
    # MariaDB 11 also knows read_only=NO_LOCK and NO_LOCK_NO_ADMIN: read-only all the same.
    return str(value).upper() not in {"0", "OFF", "FALSE"}
