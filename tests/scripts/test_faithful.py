"""A replica that does not apply everything its primary sends (issue 17, defect 2): a replication filter or a
lenient applier set by a client makes it silently diverge while both threads run. Before, its probe said
ready and it served clones (and could seed a lost primary). It now leaves the read Service and refuses to
be cloned, naming the cause; removing the cause brings it back. Real servers, every flavor.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from mysql_cluster.flavors import Flavor
from tests.scripts.test_restart import ids
from tests.support.pods import Cluster, Pod, wait_until

pytestmark = pytest.mark.scripts


@pytest.fixture(scope="module")
def cluster(flavor: Flavor) -> Iterator[Cluster]:
    with Cluster(flavor) as built:
        built.start_with_a_replica()
        yield built


def run(pod: Pod, *statements: str) -> None:
    """The statements in one session of root@localhost (a client with administrative privileges)."""
    with contextlib.closing(pod.connect()) as conn, conn.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def filter_statements(flavor: Flavor, value: str) -> tuple[str, ...]:
    """Statements setting (or, with "", removing) a filter that drops every change to database `app`."""
    if flavor.name == "mysql":
        return (
            "STOP REPLICA SQL_THREAD",
            f"CHANGE REPLICATION FILTER REPLICATE_IGNORE_DB = ({value})",
            "START REPLICA SQL_THREAD",
        )
    return ("STOP SLAVE", f"SET GLOBAL replicate_ignore_db = '{value}'", "START SLAVE")


def assert_unfit(cluster: Cluster, replica: Pod, cause: str) -> None:
    """Not ready and refusing to be cloned, both naming `cause`."""
    probe = replica.probe("readiness")
    assert probe.returncode != 0, probe.stdout
    assert "does not apply everything its primary sends" in probe.stdout, probe.stdout
    assert cause in probe.stdout, probe.stdout
    assert replica.probe("liveness").returncode == 0  # alive: a person decides, nothing restarts it
    check = replica.run_script("backup-stream.sh", "check")
    assert check.returncode != 0, check.stdout
    assert cause in check.stdout, check.stdout


def test_a_replication_filter_takes_the_replica_out_and_stops_it_being_cloned(cluster: Cluster) -> None:
    primary, replica = cluster.primary, cluster.replicas[0]
    replica.wait_ready(60)
    run(replica, *filter_statements(cluster.flavor, "app"))
    primary.sql("INSERT INTO app.t VALUES (2)")
    primary.sql("CREATE TABLE app.marker (id INT PRIMARY KEY)")  # dropped by the filter too
    # Both threads run, the replica is caught up with what it received: it simply lacks row 2.
    status = replica.replica_status()
    assert status[cluster.flavor.sql_running_column] == "Yes", status
    assert ids(replica) == [1]
    assert_unfit(cluster, replica, "filter Replicate_Ignore_DB=app")
    run(replica, *filter_statements(cluster.flavor, ""))
    wait_until(lambda: replica.probe("readiness").returncode == 0, 30, what="the replica ready again")


def test_a_lenient_applier_takes_the_replica_out(cluster: Cluster) -> None:
    replica = cluster.replicas[0]
    mode = "replica_exec_mode" if cluster.flavor.name == "mysql" else "slave_exec_mode"
    run(replica, f"SET GLOBAL {mode} = 'IDEMPOTENT'")
    try:
        assert_unfit(cluster, replica, f"{mode}=IDEMPOTENT, not STRICT")
    finally:
        run(replica, f"SET GLOBAL {mode} = 'STRICT'")
    wait_until(lambda: replica.probe("readiness").returncode == 0, 30, what="the replica ready again")


def test_a_replica_dropping_events_marked_for_skip_takes_the_replica_out(cluster: Cluster) -> None:
    """MariaDB: a client of the primary may mark its events with @@skip_replication; a replica told to
    filter them (replicate_events_marked_for_skip) silently lacks them."""
    if cluster.flavor.name != "mariadb":
        pytest.skip("MySQL has no skip_replication marker")
    replica = cluster.replicas[0]
    variable = "replicate_events_marked_for_skip"
    run(replica, "STOP SLAVE", f"SET GLOBAL {variable} = 'FILTER_ON_SLAVE'", "START SLAVE")
    try:
        assert_unfit(cluster, replica, f"{variable}=FILTER_ON_SLAVE, not REPLICATE")
    finally:
        run(replica, "STOP SLAVE", f"SET GLOBAL {variable} = 'REPLICATE'", "START SLAVE")
    wait_until(lambda: replica.probe("readiness").returncode == 0, 30, what="the replica ready again")
