"""Volumes under writes on the real cluster (issue 7): (h) a scale to zero and back, the routine pause, keeps
every row; (g) the primary's volume lost: pod 0 never initialises an empty database, it is re-seeded from the
most advanced replica and keeps every row a replica had received (asynchronous replication promises no more).
A writer records every acknowledged row throughout; a fixed set of rows written beforehand is checked too.
After the chaos scenarios (test_scenarios_chaos.py), before destroy.
"""

from __future__ import annotations

import time

import pytest

from .checks import Report, assert_healthy, connect, pod_ips, query, wait_for
from .harness import CLUSTER_NAME, Kube, Stack
from .writer import TABLE as ACKED
from .writer import Writer, assert_every_acked_row_everywhere

pytestmark = pytest.mark.e2e

TABLE = "e2e.items"  # test_scenarios.py creates it


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


def written_before(kube: Kube, password: str, rows: int) -> tuple[int, int]:
    """Writes `rows` rows on the primary; returns the table's (count, checksum) once every pod has them."""
    primary = pod_ips(kube)[f"{CLUSTER_NAME}-0"]
    with connect(primary, password) as conn, conn.cursor() as cur:
        cur.executemany(f"INSERT INTO {TABLE} (note) VALUES (%s)", [(f"before {i}",) for i in range(rows)])
    (count,) = query(primary, password, f"SELECT COUNT(*) FROM {TABLE}")[0]
    expected = (count, query(primary, password, f"CHECKSUM TABLE {TABLE}")[0][1])
    wait_for_equal_tables(kube, password, expected)
    return expected


def test_h_scale_to_zero_and_back_under_writes(stack: Stack, kube: Kube, report: Report) -> None:
    """Pausing a cluster with `kubectl scale --replicas=0` and resuming it keeps all data (issue 7, defect
    2: with whenScaled=Delete every volume, the primary's included, went with the pods)."""
    password = stack.password()
    expected = written_before(kube, password, 500)
    with Writer(kube, password) as writer:
        writer.wait_for_rows(100)
        start = time.monotonic()
        kube.run("scale", "statefulset", CLUSTER_NAME, "--replicas=0")
        wait_for("every pod to go", lambda: not pod_ips(kube), timeout=300)
        report(f"scaled to 0 under writes: every pod gone after {time.monotonic() - start:.0f}s")
        claims = kube.json("get", "pvc", "-l", f"app.kubernetes.io/instance={CLUSTER_NAME}")["items"]
        assert f"data-{CLUSTER_NAME}-0" in {c["metadata"]["name"] for c in claims}, (
            "the primary's volume is gone"
        )
        start = time.monotonic()
        kube.run("scale", "statefulset", CLUSTER_NAME, "--replicas=3")
        assert_healthy(stack, pods=3)
        report(f"scaled back to 3: healthy after {time.monotonic() - start:.0f}s")
        writer.wait_for_rows(100)
    wait_for_equal_tables(kube, password, expected)
    report(f"{expected[0]} rows written before the pause, CHECKSUM TABLE {expected[1]}, on all 3 pods")
    assert_every_acked_row_everywhere(kube, password, writer, report)


def ids_on(kube: Kube, password: str) -> dict[str, set[int]]:
    return {
        pod: {row[0] for row in query(ip, password, f"SELECT id FROM {ACKED}")}
        for pod, ip in pod_ips(kube).items()
    }


def test_g_lost_primary_volume_under_writes(stack: Stack, kube: Kube, report: Report) -> None:
    """The primary's volume is lost (its claim deleted) while a writer writes: pod 0 must not initialise an
    empty database; it is re-seeded from the most advanced replica and replication resumes (issue 7, defect
    1). What the old primary acknowledged but no replica had received is lost: only the newest rows, never
    one in between."""
    password = stack.password()
    expected = written_before(kube, password, 200)
    claim = f"data-{CLUSTER_NAME}-0"
    old_uid = kube.json("get", "pvc", claim)["metadata"]["uid"]
    with Writer(kube, password) as writer:
        writer.wait_for_rows(200)
        start = time.monotonic()
        kube.run("delete", "pvc", claim, "--wait=false")
        kube.run("delete", "pod", f"{CLUSTER_NAME}-0", "--wait=true")
        acked_before_loss = set(writer.acked)
        wait_for(
            "a new claim for pod 0",
            lambda: (
                kube.run("get", "pvc", claim, "-o", "jsonpath={.metadata.uid}", check=False).stdout
                not in ("", old_uid)
            ),
            timeout=180,
        )
        assert_healthy(stack, pods=3)
        report(
            f"primary volume lost under writes: re-seeded and healthy after {time.monotonic() - start:.0f}s"
        )
        writer.wait_for_rows(100)
    clone_log = kube.run("logs", f"{CLUSTER_NAME}-0", "-c", "clone").stdout
    assert "re-seeding from the most advanced replica" in clone_log, clone_log
    assert "bootstrap: reseed: from replica" in clone_log, clone_log
    assert "initialising a new datadir" not in kube.run("logs", f"{CLUSTER_NAME}-0", "-c", "mysql").stdout
    wait_for_equal_tables(kube, password, expected)
    report(f"{expected[0]} rows written before, CHECKSUM TABLE {expected[1]}, on all 3 pods")

    def converged() -> bool:
        return len({frozenset(ids) for ids in ids_on(kube, password).values()}) == 1

    wait_for("the same acknowledged rows on every pod", converged, timeout=180)
    kept = next(iter(ids_on(kube, password).values()))
    lost = acked_before_loss - kept
    acked_after = set(writer.acked) - acked_before_loss
    assert acked_after <= kept, f"{len(acked_after - kept)} rows acknowledged after the re-seed are missing"
    assert not lost or min(lost) > max(acked_before_loss & kept), (
        f"rows lost in between: {sorted(lost)[:20]} while later ones were kept"
    )
    before, after = len(acked_before_loss), len(acked_after)
    report(
        f"{before} rows acknowledged before the loss: {before - len(lost)} kept, {len(lost)} (the newest,"
        f" never received by a replica) lost; {after} acknowledged after, all kept"
    )
