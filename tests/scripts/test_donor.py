"""A replica serves a clone only while it is a faithful copy of the primary (issue 7, defect 5): one holding
errant transactions refuses and says why, so they do not spread to the pod cloned from it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.pods import Cluster, wait_until

pytestmark = pytest.mark.scripts


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with Cluster() as built:
        built.start()
        built.primary.sql("CREATE DATABASE app")
        built.primary.sql("CREATE TABLE app.t (id INT PRIMARY KEY)")
        built.add_replica()
        yield built


def test_a_replica_with_errant_transactions_refuses_to_serve_a_clone(cluster: Cluster) -> None:
    donor = cluster.pod(1)
    wait_until(lambda: bool(donor.sql("SHOW TABLES FROM app")), 30, what="the table on the replica")
    donor.sql("INSERT INTO app.t VALUES (42)")  # root@localhost: binary-logged under the replica's own id
    # The primary's next write meets the errant row and stops the replica's applier (as the primary's
    # heartbeat may do any second): the donor is not ready either, and still names the lasting cause.
    cluster.primary.sql("INSERT INTO app.t VALUES (42)")
    wait_until(lambda: donor.replica_status()[cluster.flavor.sql_running_column] != "Yes", 30,
               what="the replica's applier to stop")  # fmt: skip
    recipient = cluster.add_replica(start=False)
    assert recipient.run_script("init-config.sh").returncode == 0
    result = recipient.run_script("clone.sh", env={"CLONE_DONORS": "1", "CLONE_WAIT_TIMEOUT": "2"})
    assert result.returncode != 0
    assert "donor 1 (127.0.0.1) refuses to be cloned: it holds errant transactions" in result.stderr
    assert "no donor started a backup within 2s" in result.stderr
    assert "refused a backup to 127.0.0.1:" in donor.log("sidecar")
    assert "errant transactions" in donor.log("sidecar")
    assert "streaming a backup" not in donor.log("sidecar"), "refused before any backup started"
    assert not recipient.data_dir.exists()
    # With the primary among the donors, the unfit replica is passed over at once.
    result = recipient.run_script("clone.sh", env={"CLONE_DONORS": "1 0"})
    assert result.returncode == 0, result.stderr
    assert "complete after 2 attempt(s)" in result.stderr
    assert "prepared copy of ordinal 0" in result.stderr


def test_a_faithful_replica_serves_a_clone(cluster: Cluster) -> None:
    donor = cluster.pod(1)
    cluster.primary.sql("INSERT INTO app.t VALUES (7)")
    wait_until(lambda: donor.sql("SELECT id FROM app.t") == [(7,)], 30, what="the row on the replica")
    recipient = cluster.add_replica(start=False)
    recipient.env["CLONE_DONORS"] = "1"
    recipient.start()
    assert recipient.sql("SELECT id FROM app.t") == [(7,)]
    assert "streaming a backup of mysql-1" in donor.log("sidecar")
    assert "refus" not in donor.log("sidecar")
