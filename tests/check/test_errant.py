"""Errant transactions (issue 7, defect 5): a transaction written on a replica rather than replicated from
the primary is reported by the check, naming the replica and the foreign origin; against real servers."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from mysql_cluster_check import Check
from mysql_cluster_check.checks import evaluate, gtid_origins

from tests.support.pods import Cluster, wait_until

from .conftest import recorded_cluster, recorded_pods, run_check

pytestmark = pytest.mark.check


@pytest.fixture
def pods() -> Iterator[Cluster]:
    with Cluster(name="mysql") as built:
        built.start()
        built.primary.sql("CREATE DATABASE app")
        built.primary.sql("CREATE TABLE app.t (id INT PRIMARY KEY)")
        built.add_replica()
        yield built


def test_a_write_on_a_replica_is_reported_as_errant(pods: Cluster) -> None:
    replica = pods.pod(1)
    wait_until(lambda: bool(replica.sql("SHOW TABLES FROM app")), 30, what="the table on the replica")
    flags = [f"--endpoint={p.name}={p.address[0]}:{p.address[1]}" for p in pods.pods]
    assert run_check(*flags, "--no-canary").code == 0
    # root@localhost keeps READ_ONLY ADMIN on MariaDB: one write there, binary-logged under the replica's id.
    replica.sql("INSERT INTO app.t VALUES (42)")
    result = run_check(*flags, "--no-canary", "--json")
    assert result.code == 1
    [failure] = [f for f in result.json["failures"] if f["check"] == Check.ERRANT]
    assert failure["pod"] == "mysql-1"
    assert "origins the primary lacks: 0-101" in failure["observed"]


def test_origins_of_both_flavors() -> None:
    assert gtid_origins("mariadb", "0-100-57,0-101-3,1-100-2") == {"0-100", "0-101", "1-100"}
    mysql = "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5,\n4e11fa47-71ca-11e1-9e33-c80aa9429562:tag:1-2"
    assert gtid_origins("mysql", mysql) == {
        "3e11fa47-71ca-11e1-9e33-c80aa9429562",
        "4e11fa47-71ca-11e1-9e33-c80aa9429562",
    }


def test_replica_behind_or_ahead_of_the_primarys_reading_is_not_errant() -> None:
    primary, replica = recorded_pods("mariadb-10.11-healthy")
    behind = dataclasses.replace(replica, gtid_variables={"gtid_binlog_state": "0-100-5"})
    ahead = dataclasses.replace(replica, gtid_variables={"gtid_binlog_state": "0-100-900"})
    primary = dataclasses.replace(primary, gtid_variables={"gtid_binlog_state": "0-100-57"})
    for state in (behind, ahead):
        assert [f for f in evaluate(recorded_cluster(), [primary, state]) if f.check == Check.ERRANT] == []
