"""The end-to-end scenarios, in order, on one stack: deploy, scale up, no-op, scale down, a configuration
change that rolls every pod, the primary's pod deleted, a scale to zero and back, the primary's volume lost,
destroy.

Replication state is asserted through the post-deploy check tool (`scripts/check.py --json`), the same command
an operator runs; what the tool does not cover (a write rejected by a replica, a row through the write
Service, the read Service's endpoints, table checksums, PVC retention, an empty state after destroy) is
asserted here. Every scenario prints what it measured.
"""

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
import pytest

from .harness import CLIENT, CLUSTER_NAME, LOCAL_IMAGE, REPO, Kube, Stack

pytestmark = pytest.mark.e2e

Report = Callable[[str], None]
TABLE = "e2e.items"


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


def run_client_pod(kube: Kube, stack: Stack, name: str, sql: str) -> str:
    """Run `sql` from a pod inside the cluster against the write Service, by its in-cluster DNS name."""
    outputs = stack.outputs()
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": kube.namespace},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "client",
                    "image": LOCAL_IMAGE,
                    "imagePullPolicy": "Never",
                    "command": [CLIENT, "-h", outputs["writeEndpoint"], "-uroot", "-e", sql],
                    "env": [
                        {
                            "name": "MYSQL_PWD",
                            "valueFrom": {
                                "secretKeyRef": {"name": outputs["secretName"], "key": "root-password"}
                            },
                        }
                    ],
                }
            ],
        },
    }
    apply = subprocess.run(
        ["kubectl", "apply", "-f", "-"],
        check=False,
        input=json.dumps(manifest),
        capture_output=True,
        text=True,
        env=kube.env,
    )
    assert apply.returncode == 0, apply.stderr
    deadline = time.monotonic() + 120
    phase = ""
    while time.monotonic() < deadline:
        phase = kube.run("get", "pod", name, "-o", "jsonpath={.status.phase}").stdout
        if phase in ("Succeeded", "Failed"):
            break
        time.sleep(2)
    logs = kube.run("logs", name, check=False).stdout
    kube.run("delete", "pod", name, "--wait=false")
    assert phase == "Succeeded", f"client pod ended {phase!r}: {logs}"
    return logs


def ready_read_endpoints(kube: Kube, read_service: str) -> list[str]:
    """The pods behind the read Service that are ready, by name."""
    slices = kube.json("get", "endpointslices", "-l", f"kubernetes.io/service-name={read_service}")
    return sorted(
        ep["targetRef"]["name"]
        for s in slices["items"]
        for ep in s.get("endpoints") or []
        if (ep.get("conditions") or {}).get("ready")
    )


def wait_for(what: str, probe: Callable[[], bool], timeout: float = 120) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if probe():
            return time.monotonic() - start
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_fresh_stack_deploys_a_replicating_cluster(stack: Stack, kube: Kube, report: Report) -> None:
    seconds = stack.up()
    report(f"pulumi up of a fresh stack with 3 pods took {seconds:.0f}s")
    state = stack.pulumi("stack", "export").stdout  # what the backend stores, secrets left encrypted
    for secret in stack.all_passwords():
        encoded = base64.b64encode(secret.encode()).decode()
        assert secret not in state, "a password is in the Pulumi state in clear"
        assert encoded not in state, "a password is in the Pulumi state in clear (base64)"
    report(f"none of the 3 passwords is in the exported state ({len(state)} bytes), raw or base64")
    checked = assert_healthy(stack, pods=3)
    delays = {p["name"]: (p.get("canary") or {}).get("delay_seconds") for p in checked["pods"]}
    report(f"check: healthy; canary replication delay per pod (s): {delays}")

    password = stack.password()
    ips = pod_ips(kube)
    replicas = [f"{CLUSTER_NAME}-1", f"{CLUSTER_NAME}-2"]
    for pod in replicas:
        with pytest.raises(pymysql.err.MySQLError) as rejected:
            query(ips[pod], password, "CREATE DATABASE e2e_must_not_exist")
        assert rejected.value.args[0] in (1290, 1836), rejected.value  # read-only
    report("both replicas rejected a client write")

    run_client_pod(
        kube,
        stack,
        "e2e-writer",
        f"CREATE DATABASE IF NOT EXISTS e2e; CREATE TABLE IF NOT EXISTS {TABLE} "
        "(id INT PRIMARY KEY AUTO_INCREMENT, note VARCHAR(64)) ENGINE=InnoDB; "
        f"INSERT INTO {TABLE} (note) VALUES ('through the write service')",
    )
    for pod in replicas:
        delay = wait_for(
            f"the row on {pod}",
            lambda pod=pod: bool(
                query(ips[pod], password, f"SELECT 1 FROM {TABLE} WHERE note='through the write service'")
            ),
        )
        report(f"row written through the write Service read on {pod} after {delay:.1f}s")

    ready = ready_read_endpoints(kube, stack.outputs()["readService"])
    assert ready == replicas, f"read Service endpoints {ready}, expected the ready replicas {replicas}"
    report(f"read Service endpoints are exactly {ready}")


def test_scale_up_clones_a_new_replica(stack: Stack, kube: Kube, report: Report) -> None:
    password = stack.password()
    primary = pod_ips(kube)[f"{CLUSTER_NAME}-0"]
    with connect(primary, password) as conn, conn.cursor() as cur:
        rows = [(f"row {i}",) for i in range(2000)]
        cur.executemany(f"INSERT INTO {TABLE} (note) VALUES (%s)", rows)
    (count,) = query(primary, password, f"SELECT COUNT(*) FROM {TABLE}")[0]
    report(f"{count} rows on the primary before scaling")

    stack.config_set("replicas", "4")
    seconds = stack.up()
    report(f"pulumi up 3 -> 4 pods (clone and catch-up included) took {seconds:.0f}s")
    assert_healthy(stack, pods=4)

    ips = pod_ips(kube)
    assert sorted(ips) == [f"{CLUSTER_NAME}-{i}" for i in range(4)]
    expected = query(primary, password, f"CHECKSUM TABLE {TABLE}")[0][1]
    for pod, ip in sorted(ips.items()):
        wait_for(
            f"checksum on {pod}",
            lambda ip=ip: query(ip, password, f"CHECKSUM TABLE {TABLE}")[0][1] == expected,
        )
        (pod_count,) = query(ip, password, f"SELECT COUNT(*) FROM {TABLE}")[0]
        assert pod_count == count, (pod, pod_count, count)
    report(f"CHECKSUM TABLE {expected} and {count} rows equal on all 4 pods")


def test_second_up_changes_nothing(stack: Stack, report: Report) -> None:
    start = time.monotonic()
    result = stack.pulumi("up", "--yes", "--skip-preview", "--expect-no-changes", check=False)
    assert result.returncode == 0, f"a second `pulumi up` wanted changes:\n{result.stdout}\n{result.stderr}"
    report(f"second pulumi up reported no changes in {time.monotonic() - start:.0f}s")


def test_scale_down_keeps_cluster_healthy_and_follows_pvc_retention(
    stack: Stack, kube: Kube, report: Report
) -> None:
    when_scaled = stack.pulumi("config", "get", "--path", "pvcRetention.whenScaled").stdout.strip()
    stack.config_set("replicas", "3")
    seconds = stack.up()
    report(f"pulumi up 4 -> 3 pods took {seconds:.0f}s")
    assert_healthy(stack, pods=3)
    claim = f"data-{CLUSTER_NAME}-3"

    def claim_exists() -> bool:
        return kube.run("get", "pvc", claim, check=False).returncode == 0

    if when_scaled == "Delete":
        waited = wait_for(f"PVC {claim} to be deleted", lambda: not claim_exists())
        report(f"pvcRetention.whenScaled=Delete: {claim} deleted after {waited:.0f}s")
    else:
        time.sleep(10)
        assert claim_exists(), f"pvcRetention.whenScaled={when_scaled} but {claim} is gone"
        report(f"pvcRetention.whenScaled={when_scaled}: {claim} kept")


def test_config_change_rolls_every_pod_before_the_check_passes(
    stack: Stack, kube: Kube, report: Report
) -> None:
    """A configuration change rolls the pods (checksum annotation). The provider's await returns early on
    StatefulSet updates (pulumi-kubernetes#3329): the check waits until every pod runs the new revision."""
    stack.config_set("maxLagSeconds", "45")
    stack.config_set("serverConfig.max_connections", "321", path=True)
    seconds = stack.up()
    report(f"pulumi up of a maxLagSeconds and serverConfig change took {seconds:.0f}s")
    start = time.monotonic()
    checked = assert_healthy(stack, pods=3)
    rollout = checked["cluster"]["rollout"]
    assert rollout["complete"] is True, rollout
    report(
        f"check saw the rollout finish {time.monotonic() - start:.0f}s later, at {rollout['update_revision']}"
    )
    statefulset = kube.json("get", "statefulset", CLUSTER_NAME)
    revision = statefulset["status"]["updateRevision"]
    pods = kube.json("get", "pods", "-l", f"app.kubernetes.io/instance={CLUSTER_NAME}")["items"]
    hashes = {p["metadata"]["name"]: p["metadata"]["labels"]["controller-revision-hash"] for p in pods}
    assert set(hashes.values()) == {revision}, hashes
    for pod in pods:
        env = {e["name"]: e.get("value") for c in pod["spec"]["containers"] for e in c.get("env", [])}
        assert env["MAX_LAG_SECONDS"] == "45", pod["metadata"]["name"]
    password = stack.password()
    for name, ip in pod_ips(kube).items():
        assert query(ip, password, "SELECT @@max_connections")[0][0] == 321, name
    report(f"all {len(pods)} pods run revision {revision} with the new settings (max_connections 321)")


def test_deleted_primary_pod_comes_back_and_replication_resumes(
    stack: Stack, kube: Kube, report: Report
) -> None:
    password = stack.password()
    primary = f"{CLUSTER_NAME}-0"
    old_uid = kube.json("get", "pod", primary)["metadata"]["uid"]
    start = time.monotonic()
    kube.run("delete", "pod", primary, "--wait=false")
    # While the primary is away, the replicas keep serving reads (their data is fresh: issue 7, defect 6).
    samples: list[int] = []
    read_service = stack.outputs()["readService"]

    def primary_back() -> bool:
        samples.append(len(ready_read_endpoints(kube, read_service)))
        pod = kube.json("get", "pods", "-l", f"statefulset.kubernetes.io/pod-name={primary}")["items"]
        return (
            bool(pod)
            and pod[0]["metadata"]["uid"] != old_uid
            and any(
                c["type"] == "Ready" and c["status"] == "True" for c in pod[0]["status"].get("conditions", [])
            )
        )

    wait_for("the primary to be back and ready", primary_back, timeout=300)
    report(
        f"primary pod deleted: back and ready after {time.monotonic() - start:.0f}s; ready read endpoints"
        f" sampled meanwhile (min {min(samples)}, {len(samples)} samples)"
    )
    assert min(samples) >= 1, f"the read Service had no ready endpoint while the primary was away: {samples}"
    assert_healthy(stack, pods=3)
    ips = pod_ips(kube)
    query(
        ips[f"{CLUSTER_NAME}-0"],
        password,
        f"INSERT INTO {TABLE} (note) VALUES ('after the primary came back')",
    )
    for pod in (f"{CLUSTER_NAME}-1", f"{CLUSTER_NAME}-2"):
        delay = wait_for(
            f"the new row on {pod}",
            lambda pod=pod: bool(
                query(ips[pod], password, f"SELECT 1 FROM {TABLE} WHERE note='after the primary came back'")
            ),
        )
        report(f"row written on the restarted primary read on {pod} after {delay:.1f}s")


def table_state(kube: Kube, password: str) -> dict[str, tuple[int, int]]:
    """(row count, CHECKSUM TABLE) of the test table on every pod."""
    state = {}
    for pod, ip in sorted(pod_ips(kube).items()):
        (count,) = query(ip, password, f"SELECT COUNT(*) FROM {TABLE}")[0]
        state[pod] = (count, query(ip, password, f"CHECKSUM TABLE {TABLE}")[0][1])
    return state


def wait_for_equal_tables(kube: Kube, password: str, expected: tuple[int, int]) -> None:
    wait_for(
        f"{expected} (rows, checksum) on every pod",
        lambda: set(table_state(kube, password).values()) == {expected},
        timeout=180,
    )


def test_scale_to_zero_and_back_keeps_every_row(stack: Stack, kube: Kube, report: Report) -> None:
    """Pausing a cluster with `kubectl scale --replicas=0` and resuming it keeps all data (issue 7, defect
    2: with whenScaled=Delete every volume, the primary's included, went with the pods)."""
    password = stack.password()
    primary = pod_ips(kube)[f"{CLUSTER_NAME}-0"]
    with connect(primary, password) as conn, conn.cursor() as cur:
        cur.executemany(
            f"INSERT INTO {TABLE} (note) VALUES (%s)", [(f"before pause {i}",) for i in range(500)]
        )
    (count,) = query(primary, password, f"SELECT COUNT(*) FROM {TABLE}")[0]
    expected = (count, query(primary, password, f"CHECKSUM TABLE {TABLE}")[0][1])
    wait_for_equal_tables(kube, password, expected)
    start = time.monotonic()
    kube.run("scale", "statefulset", CLUSTER_NAME, "--replicas=0")
    wait_for("every pod to go", lambda: not pod_ips(kube), timeout=300)
    report(f"scaled to 0: every pod gone after {time.monotonic() - start:.0f}s")
    claims = kube.json("get", "pvc", "-l", f"app.kubernetes.io/instance={CLUSTER_NAME}")["items"]
    assert f"data-{CLUSTER_NAME}-0" in {c["metadata"]["name"] for c in claims}, "the primary's volume is gone"
    start = time.monotonic()
    kube.run("scale", "statefulset", CLUSTER_NAME, "--replicas=3")
    assert_healthy(stack, pods=3)
    report(f"scaled back to 3: healthy after {time.monotonic() - start:.0f}s")
    wait_for_equal_tables(kube, password, expected)
    report(f"{count} rows, CHECKSUM TABLE {expected[1]} on all 3 pods after the pause")


def test_lost_primary_volume_is_reseeded_from_a_replica(stack: Stack, kube: Kube, report: Report) -> None:
    """The primary's volume is lost (its claim deleted): pod 0 must not initialise an empty database; it is
    re-seeded from the most advanced replica and replication resumes (issue 7, defect 1)."""
    password = stack.password()
    ips = pod_ips(kube)
    (count,) = query(ips[f"{CLUSTER_NAME}-0"], password, f"SELECT COUNT(*) FROM {TABLE}")[0]
    expected = (count, query(ips[f"{CLUSTER_NAME}-0"], password, f"CHECKSUM TABLE {TABLE}")[0][1])
    wait_for_equal_tables(kube, password, expected)
    claim = f"data-{CLUSTER_NAME}-0"
    old_uid = kube.json("get", "pvc", claim)["metadata"]["uid"]
    start = time.monotonic()
    kube.run("delete", "pvc", claim, "--wait=false")
    kube.run("delete", "pod", f"{CLUSTER_NAME}-0", "--wait=true")
    wait_for(
        "a new claim for pod 0",
        lambda: (
            kube.run("get", "pvc", claim, "-o", "jsonpath={.metadata.uid}", check=False).stdout
            not in ("", old_uid)
        ),
        timeout=180,
    )
    assert_healthy(stack, pods=3)
    report(f"primary volume lost: re-seeded and healthy after {time.monotonic() - start:.0f}s")
    clone_log = kube.run("logs", f"{CLUSTER_NAME}-0", "-c", "clone").stdout
    assert "re-seeding from the most advanced replica" in clone_log, clone_log
    assert "bootstrap: reseed: from replica" in clone_log, clone_log
    wait_for_equal_tables(kube, password, expected)
    report(f"{count} rows, CHECKSUM TABLE {expected[1]} on the re-seeded primary and both replicas")
    ips = pod_ips(kube)
    query(ips[f"{CLUSTER_NAME}-0"], password, f"INSERT INTO {TABLE} (note) VALUES ('after the re-seed')")
    for pod in (f"{CLUSTER_NAME}-1", f"{CLUSTER_NAME}-2"):
        delay = wait_for(
            f"the new row on {pod}",
            lambda pod=pod: bool(
                query(ips[pod], password, f"SELECT 1 FROM {TABLE} WHERE note='after the re-seed'")
            ),
        )
        report(f"row written on the re-seeded primary read on {pod} after {delay:.1f}s")
