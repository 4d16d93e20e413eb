"""The table people read and the JSON machines read, from recorded server states."""

from __future__ import annotations

import argparse
import io
import json

import pytest
from mysql_cluster_check import CanaryResult, PodState, Report, render_json, render_table, report_to_json
from mysql_cluster_check.checks import evaluate
from mysql_cluster_check.cli import _progress
from mysql_cluster_check.probe import interpret
from mysql_cluster_check.render import use_colour

from .conftest import recorded, recorded_cluster, recorded_pods

pytestmark = pytest.mark.check

ANSI = "\033["


def report_of(
    name: str, canary: dict[str, CanaryResult] | None = None, pods: list[PodState] | None = None
) -> Report:
    cluster = recorded_cluster()
    states = tuple(pods if pods is not None else recorded_pods(name))
    return Report(
        cluster, states, canary or {}, tuple(evaluate(cluster, states)), canary_timeout_seconds=30.0
    )


HEALTHY_CANARY = {"mysql-0": CanaryResult("written"), "mysql-1": CanaryResult("seen", delay_seconds=0.021)}


def test_healthy_table_has_a_line_per_pod_and_a_healthy_verdict() -> None:
    lines = render_table(report_of("mariadb-10.11-healthy", HEALTHY_CANARY)).splitlines()
    assert lines[0].split() == [
        *("POD", "ROLE", "ENDPOINT", "SERVER_ID", "SERVER_UUID", "READ_ONLY"),
        *("IO", "SQL", "SOURCE", "LAG", "CANARY", "GTID"),
    ]
    assert lines[1].split() == ["mysql-0", "primary", "127.0.0.1:33061", "100", "-", "OFF"] + ["-"] * 4 + [
        "written",
        "0-100-13",
    ]
    assert lines[2].split() == [
        *("mysql-1", "replica", "127.0.0.1:33062", "101", "-", "ON"),
        *("Yes", "Yes", "127.0.0.1:33061", "0s", "0.021s", "0-100-13"),
    ]
    assert lines[3] == (
        "HEALTHY: mysql-0 is the only writable pod, 1 replica replicating from it, "
        "canary seen on every replica in at most 0.021s"
    )
    assert len(lines) == 4


def test_columns_line_up() -> None:
    header, _, replica = render_table(report_of("mariadb-10.11-healthy", HEALTHY_CANARY)).splitlines()[:3]
    for column, value in (("SOURCE", "127.0.0.1:33061"), ("CANARY", "0.021s"), ("GTID", "0-100-13")):
        assert header.index(column) == replica.index(value)


def test_failed_check_line_names_pod_check_observed_and_expected() -> None:
    text = render_table(report_of("mariadb-10.11-sql-error"))
    assert "FAIL mysql-1 replication_sql_thread: observed No, expected Yes (last SQL error 1062: " in text
    assert "Error 'Duplicate entry '5029474' for key 'PRIMARY''" in text
    assert text.splitlines()[-1] == "UNHEALTHY: 1 failed check"


def test_unreachable_pod_has_its_own_line_and_verdict() -> None:
    primary = recorded_pods("mariadb-10.11-healthy")[0]
    down = PodState("mysql-1", 1, "replica", "127.0.0.1:1", error="2003 Can't connect")
    lines = render_table(report_of("", pods=[primary, down])).splitlines()
    assert lines[2].split()[:4] == ["mysql-1", "replica", "127.0.0.1:1", "unreachable"]
    assert (
        lines[3]
        == "FAIL mysql-1 reachable: observed 2003 Can't connect, expected a server answering on 127.0.0.1:1"
    )
    assert lines[4] == "UNREACHABLE: 1 failed check, 1 pod unreachable"


def test_misconfiguration_is_one_error_line() -> None:
    report = Report(recorded_cluster(pods=0, pod_addresses=()), (), {}, (), error="no root password")
    assert render_table(report) == "ERROR: no root password\n"


def test_colour_only_when_asked() -> None:
    report = report_of("mariadb-10.11-sql-thread-stopped")
    assert ANSI not in render_table(report, colour=False)
    coloured = render_table(report, colour=True)
    assert "\033[31mFAIL\033[0m" in coloured
    assert "\033[31mNo\033[0m" in coloured


class FakeTerminal(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("tty", "no_color", "mode", "expected"),
    [
        (True, None, "auto", True),
        (False, None, "auto", False),
        (True, "1", "auto", False),
        (True, "", "auto", True),  # NO_COLOR counts only when non-empty
        (False, None, "always", True),
        (True, None, "never", False),
    ],
)
def test_colour_on_a_terminal_unless_no_color(
    monkeypatch: pytest.MonkeyPatch, tty: bool, no_color: str | None, mode: str, expected: bool
) -> None:
    if no_color is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_color)
    assert use_colour(FakeTerminal(tty), mode) is expected


def test_json_schema_fields_are_stable() -> None:
    report = report_of("mariadb-10.11-sql-error", HEALTHY_CANARY)
    document = json.loads(render_json(report))
    assert document == report_to_json(report)
    assert set(document) == {"schema", "healthy", "exit_code", "error", "cluster", "pods", "failures"}
    assert document["schema"] == "mysql-cluster-check/v1"
    assert (document["healthy"], document["exit_code"], document["error"]) == (False, 1, None)
    assert set(document["cluster"]) == {
        *("namespace", "statefulset", "flavor", "version", "pod_count", "primary"),
        *("primary_sources", "max_lag_seconds", "canary_timeout_seconds", "rollout"),
    }
    assert set(document["cluster"]["rollout"]) == {
        *("statefulset", "strategy", "generation", "observed_generation", "replicas", "status_replicas"),
        *("updated", "ready", "current_revision", "update_revision", "partition", "complete", "skipped"),
    }
    primary, replica = document["pods"]
    assert set(primary) == {
        *("name", "ordinal", "role", "endpoint", "reachable", "error", "flavor", "version", "server_id"),
        *("server_uuid", "read_only", "super_read_only", "gtid_position", "gtid_variables", "replication"),
        "canary",
    }
    assert primary["replication"] is None
    assert replica["replication"] == {
        "io_running": True,
        "io_state": "Yes",
        "sql_running": False,
        "sql_state": "No",
        "source": "127.0.0.1:33061",
        "source_server_id": 100,
        "lag_seconds": None,
        "last_io_errno": 0,
        "last_io_error": "",
        "last_sql_errno": 1062,
        "last_sql_error": replica["replication"]["last_sql_error"],
    }
    assert replica["canary"] == {"status": "seen", "delay_seconds": 0.021, "detail": ""}
    assert replica["gtid_variables"].keys() == {"gtid_current_pos", "gtid_slave_pos", "gtid_binlog_state"}
    [failure] = document["failures"]
    assert set(failure) == {"pod", "statefulset", "check", "observed", "expected", "detail"}
    assert failure["statefulset"] is None  # set only on the cluster-level `rollout` check
    assert (failure["pod"], failure["check"], failure["observed"]) == (
        "mysql-1",
        "replication_sql_thread",
        "No",
    )


# Text a server (or anyone who can name a table, a host or a replication source) controls, with what a
# terminal obeys: clear the screen, move to the line's start, retitle the window, reverse the text, a C1
# control sequence introducer, and line breaks that would forge lines of the report.
HOSTILE = "\x1b[2J\rHEALTHY: all good\n\x1b]0;pwned\x07\u202egnp.\x9b31m\x00\t"


def _hostile_pods() -> list[PodState]:
    primary, replica = recorded("mariadb-10.11-sql-error")
    replica = json.loads(json.dumps(replica))
    replica["version"] = "10.11.19-MariaDB" + HOSTILE
    replica["variables"]["gtid_current_pos"] = "0-100-13" + HOSTILE
    row = replica["replica_status"][0]
    row["Master_Host"] = "evil" + HOSTILE
    row["Slave_IO_Running"] = "Connecting" + HOSTILE
    row["Last_IO_Errno"], row["Last_IO_Error"] = 2003, "can't connect" + HOSTILE
    row["Last_SQL_Error"] = "Duplicate entry" + HOSTILE
    pods = [
        interpret(f"mysql-{i}", i, f"127.0.0.1:{33061 + i}", raw) for i, raw in enumerate([primary, replica])
    ]
    down = PodState("mysql-2", 2, "replica", "127.0.0.1:1", error="2003 gone" + HOSTILE)
    return [*pods, down]


def _unprintable(text: str) -> list[str]:
    return [char for char in text if not char.isprintable() and char != "\n"]


@pytest.mark.parametrize("colour", [False, True])
def test_server_supplied_text_reaches_the_terminal_escaped(colour: bool) -> None:
    """Issue 17, defect 8: every string a server supplied (Last_*_Error, Source_Host, the thread states,
    VERSION(), GTID sets, connection errors, canary details) is printed with its control characters
    escaped, visibly: nothing a terminal obeys, no forged line."""
    canary = {"mysql-1": CanaryResult("failed", detail="read failed: 1146" + HOSTILE)}
    report = report_of("", canary, pods=_hostile_pods())
    text = render_table(report, colour=colour)
    own = text.replace("\033[31m", "").replace("\033[32m", "").replace("\033[33m", "").replace("\033[1m", "")
    assert not _unprintable(own.replace("\033[0m", ""))
    assert "\\x1b[2J\\rHEALTHY: all good\\n\\x1b]0;pwned\\x07\\u202egnp.\\x9b31m\\x00\\t" in text
    assert not any(line.startswith("HEALTHY") for line in text.splitlines())
    assert not _unprintable(render_json(report))  # JSON escapes them itself


def test_progress_lines_escape_server_supplied_text() -> None:
    report = report_of("", pods=_hostile_pods())
    args = argparse.Namespace(wait=60.0, interval=5.0)
    line = _progress(1, 3.0, args, report)
    assert not _unprintable(line)
    assert "\\x1b[2J" in line
