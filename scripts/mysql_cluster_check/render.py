"""A report as a table for people (coloured only on a terminal) or as JSON for machines.

Everything the table prints comes through `printable`: error messages, host names, thread states, versions
and GTID sets are the servers' (and anyone's who can name a table or a replication source), and a terminal
obeys the control characters in them. JSON escapes them itself.

The JSON schema is documented in README.md beside this file; its `schema` field changes when a field
changes meaning or disappears (new fields may be added without a change).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, fields
from typing import IO, Any

from .model import CanaryResult, Failure, PodState, Report, Rollout

SCHEMA = "mysql-cluster-check/v1"

RED, GREEN, YELLOW, BOLD = "31", "32", "33", "1"
Paint = Callable[[str, str], str]


def use_colour(stream: IO[str], mode: str = "auto") -> bool:
    """`always`/`never`, or `auto`: only on a terminal and only when NO_COLOR is unset or empty."""
    if mode != "auto":
        return mode == "always"
    return stream.isatty() and not os.environ.get("NO_COLOR")


def printable(text: str, *, lines: bool = False) -> str:
    """`text` with every character a terminal would not just print (controls, line and paragraph
    separators, bidirectional overrides) written as its Python escape, visibly: `\\x1b[2J`, `\\r`,
    `\\u202e`. `lines` keeps line breaks (a multi-line message of our own making)."""
    if text.isprintable():
        return text
    return "".join(
        char if char.isprintable() or (lines and char == "\n") else char.encode("unicode_escape").decode()
        for char in text
    )


def _painter(colour: bool) -> Paint:
    def paint(text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if colour and text else text

    return paint


# --- table ---------------------------------------------------------------------------------------------

HEADER: tuple[str, ...] = (
    *("POD", "ROLE", "ENDPOINT", "SERVER_ID", "SERVER_UUID", "READ_ONLY"),
    *("IO", "SQL", "SOURCE", "LAG", "CANARY", "GTID"),
)


def render_table(report: Report, colour: bool = False) -> str:
    """One line per pod, one line per failed check, and a verdict line."""
    paint = _painter(colour)
    lines = []
    if report.pods:
        rows = [
            tuple(printable(cell) for cell in _pod_row(pod, report.canary.get(pod.name)))
            for pod in report.pods
        ]
        widths = [max(len(row[i]) for row in [HEADER, *rows]) for i in range(len(HEADER))]
        lines.append(_line(HEADER, widths, lambda _column, cell: paint(cell, BOLD)))
        lines.extend(
            _line(row, widths, lambda column, cell: _colour_cell(column, cell, paint)) for row in rows
        )
    lines.extend(_failure_line(failure, paint) for failure in report.failures)
    lines.append(_verdict(report, paint))
    return "\n".join(lines) + "\n"


def _line(row: tuple[str, ...], widths: list[int], colour: Callable[[str, str], str]) -> str:
    cells = [
        colour(column, cell) + " " * (width - len(cell))
        for column, cell, width in zip(HEADER, row, widths, strict=True)
    ]
    return "  ".join(cells).rstrip()


def _pod_row(pod: PodState, canary: CanaryResult | None) -> tuple[str, ...]:
    if not pod.reachable:
        return (pod.name, pod.role, pod.endpoint or "-", "unreachable") + ("-",) * (len(HEADER) - 4)
    replication = pod.replication
    return (
        pod.name,
        pod.role,
        pod.endpoint or "-",
        _text(pod.server_id),
        _text(pod.server_uuid),
        "SUPER" if pod.super_read_only else ("ON" if pod.read_only else "OFF"),
        replication.io_running if replication else "-",
        replication.sql_running if replication else "-",
        _text(replication.source) if replication else "-",
        _lag(replication.lag_seconds) if replication else "-",
        _canary_cell(canary),
        pod.gtid_position or "-",
    )


def _text(value: object) -> str:
    return "-" if value is None or value == "" else str(value)


def _lag(seconds: int | None) -> str:
    return "NULL" if seconds is None else f"{seconds}s"


def _canary_cell(canary: CanaryResult | None) -> str:
    if canary is None:
        return "-"
    if canary.status == "seen" and canary.delay_seconds is not None:
        return f"{canary.delay_seconds:.3f}s"
    return canary.status


def _colour_cell(column: str, cell: str, paint: Paint) -> str:
    if cell == "unreachable":
        return paint(cell, RED)
    if column in {"IO", "SQL"} and cell != "-":
        return paint(cell, {"Yes": GREEN, "No": RED}.get(cell, YELLOW))
    if column == "CANARY" and cell != "-":
        return paint(
            cell, {"timeout": RED, "failed": RED, "skipped": YELLOW, "written": GREEN}.get(cell, GREEN)
        )
    return cell


def _failure_line(failure: Failure, paint: Paint) -> str:
    line = f"{failure.subject} {failure.check}: observed {failure.observed}, expected {failure.expected}"
    line += f" ({failure.detail})" if failure.detail else ""
    return f"{paint('FAIL', RED)} {printable(line)}"


def _verdict(report: Report, paint: Paint) -> str:
    if report.error is not None:
        return f"{paint('ERROR', RED)}: {printable(report.error, lines=True)}"
    if report.healthy:
        replicas = len(report.pods) - 1
        text = f"{paint('HEALTHY', GREEN)}: {printable(report.cluster.primary)} is the only writable pod"
        text += f", {replicas} replica{'s' if replicas != 1 else ''} replicating from it"
        delays = [c.delay_seconds for c in report.canary.values() if c.delay_seconds is not None]
        if delays:
            text += f", canary seen on every replica in at most {max(delays):.3f}s"
        if report.rollout is not None:
            text += f", rollout complete at revision {printable(report.rollout.update_revision or '-')}"
        return text
    unreachable = sum(not pod.reachable for pod in report.pods)
    word = paint("UNREACHABLE", RED) if unreachable else paint("UNHEALTHY", RED)
    count = len(report.failures)
    text = f"{word}: {count} failed check{'s' if count != 1 else ''}"
    return text + (f", {unreachable} pod{'s' if unreachable != 1 else ''} unreachable" if unreachable else "")


# --- JSON ----------------------------------------------------------------------------------------------


def report_to_json(report: Report) -> dict[str, Any]:
    """The report as the documented JSON object (schema `mysql-cluster-check/v1`)."""
    cluster = report.cluster
    return {
        "schema": SCHEMA,
        "healthy": report.healthy,
        "exit_code": int(report.exit_code),
        "error": report.error,
        "cluster": {
            "namespace": cluster.namespace,
            "statefulset": cluster.statefulset,
            "flavor": cluster.flavor,
            "version": cluster.version,
            "pod_count": len(cluster.pods),
            "primary": cluster.primary if cluster.pods else None,
            "primary_sources": [str(address) for address in cluster.primary_sources],
            "max_lag_seconds": cluster.max_lag_seconds,
            "canary_timeout_seconds": report.canary_timeout_seconds,
            "rollout": _rollout_json(report),
        },
        "pods": [_pod_json(pod, report.canary.get(pod.name)) for pod in report.pods],
        "failures": [
            {
                "pod": f.pod,
                "statefulset": f.statefulset,
                "check": f.check,
                "observed": f.observed,
                "expected": f.expected,
                "detail": f.detail,
            }
            for f in report.failures
        ],
    }


def _rollout_json(report: Report) -> dict[str, Any]:
    """The StatefulSet's rollout under Rollout's own field names (the schema test pins them); every field
    null and `skipped` saying why when it was not read."""
    if report.rollout is None:
        why = "the run stopped" if report.error else "no namespace known: the StatefulSet was not read"
        return dict.fromkeys(field.name for field in fields(Rollout)) | {"complete": None, "skipped": why}
    return asdict(report.rollout) | {"complete": report.rollout_complete, "skipped": None}


def _pod_json(pod: PodState, canary: CanaryResult | None) -> dict[str, Any]:
    replication = pod.replication
    return {
        "name": pod.name,
        "ordinal": pod.ordinal,
        "role": pod.role,
        "endpoint": pod.endpoint,
        "reachable": pod.reachable,
        "error": pod.error,
        "flavor": pod.flavor,
        "version": pod.version,
        "server_id": pod.server_id,
        "server_uuid": pod.server_uuid,
        "read_only": pod.read_only,
        "super_read_only": pod.super_read_only,
        "gtid_position": pod.gtid_position,
        "gtid_variables": dict(pod.gtid_variables),
        "replication": None
        if replication is None
        else {
            "io_running": replication.io_running == "Yes",
            "io_state": replication.io_running,
            "sql_running": replication.sql_running == "Yes",
            "sql_state": replication.sql_running,
            "source": _text(replication.source) if replication.source else None,
            "source_server_id": replication.source_server_id,
            "lag_seconds": replication.lag_seconds,
            "last_io_errno": replication.last_io_errno,
            "last_io_error": replication.last_io_error,
            "last_sql_errno": replication.last_sql_errno,
            "last_sql_error": replication.last_sql_error,
        },
        "canary": None
        if canary is None
        else {"status": canary.status, "delay_seconds": canary.delay_seconds, "detail": canary.detail},
    }


def render_json(report: Report) -> str:
    return json.dumps(report_to_json(report), indent=2, sort_keys=False) + "\n"
