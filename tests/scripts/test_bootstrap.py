"""The primary without data (scripts/bootstrap.sh, server.sh): it initialises only on the cluster's first
start; with its volume lost it is re-seeded from the most advanced replica by GTID set, keeps every row a
replica had received, and replication resumes; with no replica to re-seed from it refuses to start empty.

The facts label-pod.sh gathers from the API (the claim the cluster was first initialised on, this pod's
claim, the other pods) come from the harness's emulated API (`Cluster.write_bootstrap_facts`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mysql_cluster.flavors import Flavor
from tests.support.pods import Cluster, Pod, wait_until

pytestmark = pytest.mark.scripts


def ids(pod: Pod) -> list[int]:
    return [row[0] for row in pod.sql("SELECT id FROM app.t ORDER BY id")]


def wait_for_ids(pod: Pod, expected: list[int], timeout: float = 60) -> None:
    try:
        wait_until(lambda: ids(pod) == expected, timeout, what=f"{pod.name} to hold rows {expected}")
    except TimeoutError as error:
        raise AssertionError(f"{error}\n{pod.logs()}") from None


def decision(pod: Pod) -> str:
    return (pod.run_dir / "bootstrap-decision").read_text().strip()


@pytest.fixture
def cluster(flavor: Flavor) -> Iterator[Cluster]:
    """A running primary with two rows, on every flavor (MySQL 9.7 re-seeds with the CLONE plugin)."""
    with Cluster(flavor, extra_env={"PEER_WAIT_TIMEOUT": "5"}) as built:
        built.start()
        built.primary.sql("CREATE DATABASE app")
        built.primary.sql("CREATE TABLE app.t (id INT PRIMARY KEY)")
        built.primary.sql("INSERT INTO app.t VALUES (1), (2)")
        yield built


def test_first_start_initialises_and_records_the_claim(cluster: Cluster) -> None:
    assert "bootstrap: initialise: the cluster's first start" in cluster.primary.log("clone")
    # Consumed once data/ exists: a later start without it never reads "initialise" again.
    assert not (cluster.primary.run_dir / "bootstrap-decision").exists()
    assert cluster.initialised_claim == cluster.primary.claim
    assert "the cluster's first start" in cluster.primary.log("clone")


def test_lost_primary_volume_is_reseeded_from_the_most_advanced_replica(cluster: Cluster) -> None:
    behind, ahead = cluster.add_replica(), cluster.add_replica()
    wait_for_ids(behind, [1, 2])
    wait_for_ids(ahead, [1, 2])
    behind.sql(cluster.flavor.stop_replica)  # replica 1 stops receiving: replica 2 becomes the most advanced
    cluster.primary.sql("INSERT INTO app.t VALUES (3), (4)")
    wait_for_ids(ahead, [1, 2, 3, 4])

    primary = cluster.replace_pod(0)  # the primary's volume is lost: a new, empty claim
    primary.start(timeout=180)

    assert decision(primary) == "reseed"
    clone_log = primary.log("clone")
    assert "the primary's volume was lost or replaced" in clone_log
    assert "bootstrap: reseed: from replica 2" in clone_log
    assert "initialising a new datadir" not in primary.log("server")
    assert ids(primary) == [1, 2, 3, 4]  # every row a replica had received
    # The new primary's binary log continues the donor's history: replica 2 resumes and gets new writes.
    primary.sql("INSERT INTO app.t VALUES (5)")
    wait_for_ids(ahead, [1, 2, 3, 4, 5])
    assert ahead.replica_status()[cluster.flavor.last_io_errno_column] == 0
    assert primary.sql("SELECT @@GLOBAL.read_only")[0][0] == 0
    # The primary replicates from nobody, though its data came from a replica.
    wait_until(lambda: primary.replica_status() == {}, 30, what="the primary's replication source to go")
    if variable := cluster.flavor.server_uuid_variable:
        uuids = {pod.sql(f"SELECT @@GLOBAL.{variable}")[0][0] for pod in cluster.pods}
        assert len(uuids) == len(cluster.pods)  # the clone took no donor's identity


def test_primary_without_data_refuses_to_start_empty_when_no_replica_answers(cluster: Cluster) -> None:
    replica = cluster.add_replica()
    wait_for_ids(replica, [1, 2])
    replica.kill()  # its claim exists, but it does not answer
    primary = cluster.replace_pod(0)

    with pytest.raises(RuntimeError, match=r"clone\.sh failed"):
        primary.init()
    assert "replicas 1 (with a claim) did not answer within 5s" in primary.log("clone")
    assert "delete pvc,pod <claim> <pod>; claims: data-mysql-1" in primary.log("clone")
    # And the server, started anyway, does not initialise either.
    server = primary.run_script("server.sh", timeout=60)
    assert server.returncode != 0
    assert "the primary never initialises over a cluster that was initialised before" in server.stderr
    assert not primary.data_dir.exists()
