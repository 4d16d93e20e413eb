"""The upgrade step (issue 7, defect 9): after a version change the sidecar runs the flavor's upgrade tool
(mariadb-upgrade) once, without binary-logging it and without a password on any command line; at every other
start it is a no-op."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.pods import Cluster, CommandLineWatch, Pod, wait_until

pytestmark = pytest.mark.scripts

OLD_VERSION = "10.6.21-MariaDB"
UPGRADED = "upgrade: mariadb-upgrade upgraded"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with Cluster() as built:
        built.start()
        built.add_replica()
        yield built


def binlog_text(pod: Pod) -> str:
    """The Info column of every event of every binary log of the pod."""
    events = []
    for name, *_ in pod.sql("SHOW BINARY LOGS"):
        events += [str(row[5]) for row in pod.sql(f"SHOW BINLOG EVENTS IN '{name}'")]
    return "\n".join(events)


def upgrade_info(cluster: Cluster, ordinal: int) -> str:
    return (cluster.pod(ordinal).data_dir / "mysql_upgrade_info").read_text().strip("\x00\n ")


@pytest.mark.parametrize("ordinal", [1, 0])  # replicas first, the primary last, as a rollout goes
def test_a_version_change_runs_the_upgrade_step_once(cluster: Cluster, ordinal: int) -> None:
    pod = cluster.pod(ordinal)
    version = pod.sql("SELECT VERSION()")[0][0]
    wait_until((pod.data_dir / "mysql_upgrade_info").exists, 30, what="the upgrade info file")
    upgrades = pod.log("sidecar").count(UPGRADED)
    pod.kill_sidecar()
    # The data as an older server left it: the upgrade tool compares this file with the server's version.
    (pod.data_dir / "mysql_upgrade_info").write_text(OLD_VERSION)
    with CommandLineWatch(cluster.passwords.all()) as watch:
        pod.start_sidecar()
        wait_until(lambda: pod.log("sidecar").count(UPGRADED) > upgrades, 120, what="the upgrade")
    assert watch.leaks == []
    assert version.startswith(upgrade_info(cluster, ordinal) + "-")  # the server's version, e.g. 10.11.19
    # Nothing of it was binary-logged: no statement of the upgrade or of its account in any binary log, and
    # no transaction under the pod's own server id on a replica (the heartbeat's are the primary's).
    logged = binlog_text(pod)
    assert "mysql_cluster_upgrade" not in logged
    assert "ALTER TABLE" not in logged.upper()
    if ordinal > 0:
        state = pod.sql("SELECT @@GLOBAL.gtid_binlog_state")[0][0]
        assert f"-{100 + ordinal}-" not in state, state
    pod.wait_ready(60)


def test_a_restart_at_the_same_version_does_not_upgrade(cluster: Cluster) -> None:
    pod = cluster.pod(1)
    upgrades = pod.log("sidecar").count(UPGRADED)
    pod.kill_sidecar()
    pod.start_sidecar()
    wait_until(lambda: "replication: already replicating" in pod.log("sidecar").split("starting for")[-1], 60,
               what="the sidecar to configure replication")  # fmt: skip
    assert pod.log("sidecar").count(UPGRADED) == upgrades
