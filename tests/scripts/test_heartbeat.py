"""Replica readiness while the primary is away (issue 7, defect 6): a replica keeps serving reads while the
data it serves is no older than MAX_LAG_SECONDS, measured by the newest heartbeat it applied, and leaves the
read Service once that bound is exceeded or its applier stops."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.support.pods import Cluster, wait_until

pytestmark = pytest.mark.scripts

MAX_LAG = 15  # room for the checks made inside the bound on a loaded machine


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with Cluster(max_lag_seconds=MAX_LAG) as built:
        built.start()
        built.add_replica()
        yield built


def heartbeat(cluster: Cluster) -> tuple[int, float]:
    """(server_id, age in seconds) of the heartbeat row on the replica."""
    [(server_id, age)] = cluster.pod(1).sql(
        "SELECT server_id, TIMESTAMPDIFF(MICROSECOND, written_at, NOW(6)) / 1e6 FROM mysql_cluster.heartbeat"
    )
    return int(server_id), float(age)


def test_primary_writes_a_heartbeat_that_replicas_apply(cluster: Cluster) -> None:
    wait_until(lambda: heartbeat(cluster)[1] < 3, 30, what="a fresh heartbeat on the replica")
    server_id, _ = heartbeat(cluster)
    assert server_id == cluster.primary.sql("SELECT @@server_id")[0][0]
    readiness = cluster.pod(1).probe("readiness")
    assert readiness.returncode == 0, readiness.stdout
    assert "data 0." in readiness.stdout or "data 1." in readiness.stdout, readiness.stdout


def test_replica_serves_reads_while_the_primary_is_away_until_its_data_is_too_old(cluster: Cluster) -> None:
    replica = cluster.pod(1)
    wait_until(lambda: heartbeat(cluster)[1] < 2, 30, what="a fresh heartbeat on the replica")
    cluster.primary.kill_server()  # the primary is away: a restart, a node drain
    stopped = time.monotonic()
    wait_until(
        lambda: replica.replica_status()[cluster.flavor.io_running_column] != "Yes",
        30,
        what="the replica to notice the primary is gone",
    )
    readiness = replica.probe("readiness")  # well inside the bound: the primary went seconds ago
    assert readiness.returncode == 0, readiness.stdout
    assert "primary not connected" in readiness.stdout, readiness.stdout
    wait_until(
        lambda: replica.probe("readiness").returncode != 0, MAX_LAG + 10, what="the bound to be exceeded"
    )
    assert time.monotonic() - stopped >= MAX_LAG - 1
    assert f"more than MAX_LAG_SECONDS={MAX_LAG}s" in replica.probe("readiness").stdout


def test_stopped_applier_leaves_the_read_service_at_once(cluster: Cluster) -> None:
    replica = cluster.pod(1)
    wait_until(lambda: replica.probe("readiness").returncode == 0, 30, what="the replica to be ready")
    replica.sql(cluster.flavor.stop_replica)
    readiness = replica.probe("readiness")
    assert readiness.returncode != 0
    assert "SQL thread is not running" in readiness.stdout


def test_applier_paused_by_the_sidecar_to_re_point_stays_ready_for_a_bounded_time(cluster: Cluster) -> None:
    """The sidecar pauses replication for seconds to re-point it with a new replication password (flavors that
    refuse the change beside a running applier): a replica whose data is fresh stays in the read Service
    meanwhile, so replicas re-pointing at once never empty it; a pause older than the bound, or a stop with an
    error, does not count."""
    replica = cluster.pod(1)
    wait_until(lambda: heartbeat(cluster)[1] < 2, 30, what="a fresh heartbeat on the replica")
    replica.sql(cluster.flavor.stop_replica)
    marker = replica.run_dir / "applier-paused"
    marker.write_text(str(int(time.time())))
    readiness = replica.probe("readiness")
    assert readiness.returncode == 0, readiness.stdout
    assert "applier paused by the sidecar" in readiness.stdout, readiness.stdout
    marker.write_text(str(int(time.time()) - 31))  # a pause that outlived APPLIER_PAUSE_SECONDS
    readiness = replica.probe("readiness")
    assert readiness.returncode != 0
    assert "SQL thread is not running" in readiness.stdout
