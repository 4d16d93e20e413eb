"""Assertions the e2e scenarios share: the operator's check tool, SQL on the pods, the exported state."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pymysql

from .harness import CLUSTER_NAME, REPO, Kube, Stack

Report = Callable[[str], None]


def run_check(stack: Stack, *args: str) -> tuple[int, dict[str, Any]]:
    """Run the operator's check tool against the stack; return its exit code and JSON report."""
    cmd = [sys.executable, str(REPO / "scripts/check.py"), "--stack", stack.name, "--json", *args]
    result = subprocess.run(
        cmd, cwd=stack.workdir, env=stack.env, capture_output=True, text=True, check=False
    )
    stack.log.append(f"$ {' '.join(cmd)}\n{result.stdout}\n{result.stderr}")
    try:
        report: dict[str, Any] = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"check printed no JSON (exit {result.returncode}):\n{result.stderr}") from None
    return result.returncode, report


def assert_healthy(stack: Stack, pods: int) -> dict[str, Any]:
    code, report = run_check(stack, "--wait", "300")
    assert code == 0, f"check says unhealthy: {json.dumps(report.get('failures'), indent=1)}"
    assert len(report["pods"]) == pods
    replicas = [p for p in report["pods"] if p["role"] == "replica"]
    assert len(replicas) == pods - 1
    for pod in replicas:
        assert pod["replication"]["io_running"] is True, pod
        assert pod["replication"]["sql_running"] is True, pod
    ids = [p["server_id"] for p in report["pods"]]
    assert len(set(ids)) == pods, ids
    # MySQL has a server_uuid per server; MariaDB has none (null everywhere) and identifies by server_id.
    uuids = [p["server_uuid"] for p in report["pods"] if p["server_uuid"] is not None]
    assert len(set(uuids)) == len(uuids), uuids
    return report


def pod_ips(kube: Kube) -> dict[str, str]:
    pods = kube.json("get", "pods", "-l", f"app.kubernetes.io/instance={CLUSTER_NAME}")
    return {p["metadata"]["name"]: p["status"].get("podIP", "") for p in pods["items"]}


@contextmanager
def connect(host: str, password: str) -> Iterator[pymysql.connections.Connection[Any]]:
    conn = pymysql.connect(
        host=host, port=3306, user="root", password=password, connect_timeout=10, autocommit=True
    )
    try:
        yield conn
    finally:
        conn.close()


def query(host: str, password: str, sql: str) -> tuple[tuple[Any, ...], ...]:
    with connect(host, password) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return tuple(cur.fetchall())


def ready_read_endpoints(kube: Kube, read_service: str) -> list[str]:
    """The pods behind the read Service that are ready, by name."""
    slices = kube.json("get", "endpointslices", "-l", f"kubernetes.io/service-name={read_service}")
    return sorted(
        ep["targetRef"]["name"]
        for s in slices["items"]
        for ep in s.get("endpoints") or []
        if (ep.get("conditions") or {}).get("ready")
    )


def wait_for(what: str, probe: Callable[[], bool], timeout: float = 120, interval: float = 1) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if probe():
            return time.monotonic() - start
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def assert_no_password_in_state(stack: Stack) -> dict[str, Any]:
    """None of the three passwords is in what the backend stores, raw or base64; returns the state."""
    state = stack.pulumi("stack", "export").stdout  # secrets left encrypted
    passwords = stack.all_passwords()
    assert len(passwords) == 3, "expected the three passwords of the cluster"
    for secret in passwords:
        assert len(secret) >= 16, "a password is suspiciously short"
        encoded = base64.b64encode(secret.encode()).decode()
        assert secret not in state, "a password is in the Pulumi state in clear"
        assert encoded not in state, "a password is in the Pulumi state in clear (base64)"
    parsed: dict[str, Any] = json.loads(state)
    return parsed


def resource_types(state: dict[str, Any]) -> list[str]:
    return [r["type"] for r in state.get("deployment", {}).get("resources") or []]
