"""Settings a cluster's data is bound to (issue 15, defect 7): a changed serverIdOffset, a lower version,
another flavor, or another lower_case_table_names or innodb_page_size are refused on an existing cluster, at
preview, by the redeploy guard's check; what it knows of the cluster is read from the state ConfigMap's
record, else (data from before the record) from what its primary runs with. The e2e tier refuses them on a
real cluster (test_scenarios_bound.py) and over kept data after a destroy (test_redeploy_retained.py); the
pods' own check is in the script tier (tests/scripts/test_cluster_facts.py)."""

from __future__ import annotations

from typing import Any

import pytest

from mysql_cluster import MySQLClusterArgs, cluster_facts, known_facts
from mysql_cluster.cluster_facts import Known, refusals
from mysql_cluster.cluster_view import KubeSettings
from mysql_cluster.config import ConfigError
from mysql_cluster.redeploy_guard import BoundSettingChanged, Intent, RedeployGuardProvider

from .conftest import Deploy
from .fake_kube import FakeApiServer

pytestmark = pytest.mark.unit

MARIADB = {"flavor": "mariadb", "newest-version": "10.11", "server-id-offset": "100",
           "lower-case-table-names": "0", "innodb-page-size": "16384"}  # fmt: skip


def facts(**changes: str) -> dict[str, str]:
    return {**MARIADB, **{key.replace("_", "-"): value for key, value in changes.items()}}


def test_facts_of_a_configuration_in_normal_form() -> None:
    args = MySQLClusterArgs(flavor="mariadb", server_config={"Loose-InnoDB-Page-Size": "8K"})
    assert cluster_facts.configured(args) == facts(innodb_page_size="8192")
    mysql = cluster_facts.configured(
        MySQLClusterArgs(server_id_offset=7, server_config={"lower_case_table_names": 1})
    )
    assert mysql == {**MARIADB, "flavor": "mysql", "newest-version": "9.7", "server-id-offset": "7",
                     "lower-case-table-names": "1"}  # fmt: skip


@pytest.mark.parametrize(
    ("option", "value", "allowed"),
    [("innodb_page_size", "3k", "4k | 8k | 16k"), ("innodb_page_size", 1000, "4096 ... 65536"),
     ("lower_case_table_names", 3, "0 | 1 | 2"), ("lower_case_table_names", True, "0 | 1 | 2"),
     ("lower_case_table_nam", 1, "lower_case_table_names written in full"),
     ("loose_innodb_page_si", "8k", "innodb_page_size written in full")],
)  # fmt: skip
def test_a_value_the_server_refuses_at_initialisation_is_refused(
    option: str, value: object, allowed: str
) -> None:
    with pytest.raises(ConfigError, match=rf"serverConfig\.{option}: got .*; allowed: .*{allowed}"):
        MySQLClusterArgs(server_config={option: value})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("change", "setting", "allowed"),
    [({"server_id_offset": "101"}, "serverIdOffset", "100 (recorded by its pods)"),
     ({"lower_case_table_names": "1"}, "serverConfig.lower_case_table_names", "0 (recorded"),
     ({"innodb_page_size": "65536"}, "serverConfig.innodb_page_size", "16384 (recorded")],
)  # fmt: skip
def test_a_changed_setting_the_data_is_bound_to_is_refused(
    change: dict[str, str], setting: str, allowed: str
) -> None:
    [problem] = refusals(facts(**change), Known(recorded=MARIADB, running={}))
    assert problem.startswith(f"{setting}: got {next(iter(change.values()))}; allowed: {allowed}")


def test_a_lower_version_is_refused_a_newer_one_accepted() -> None:
    known = Known(recorded=facts(newest_version="11.8"), running={})
    [problem] = refusals(facts(newest_version="10.11"), known)
    assert problem.startswith("version: got 10.11; allowed: 11.8 or newer (mariadb 11.8 has run on this data")
    assert "an older server cannot open data a newer one has upgraded" in problem
    assert refusals(facts(newest_version="11.8"), known) == []
    assert refusals(facts(newest_version="12.3"), known) == []
    assert refusals({**MARIADB, "flavor": "mysql", "newest-version": "9.7"}, Known({}, {})) == []


def test_another_flavor_is_refused_without_comparing_versions() -> None:
    problems = refusals({**MARIADB, "flavor": "mysql", "newest-version": "9.7"}, Known(MARIADB, {}))
    assert [problem.split(";")[0] for problem in problems] == ["flavor: got mysql"]
    assert "allowed: mariadb (recorded by its pods)" in problems[0]


def test_data_without_a_record_is_bound_to_what_its_primary_runs() -> None:
    running = Known(recorded={"initialised-claim": "uid"}, running=facts(server_id_offset="90"))
    [problem] = refusals(MARIADB, running)
    assert problem.startswith("serverIdOffset: got 100; allowed: 90 (what its primary runs with)")


def test_a_record_is_the_whole_truth_a_removed_key_is_unknown() -> None:
    """A person who removed newest-version (no pod ever ran the newer version) may go back."""
    record = {key: value for key, value in facts(newest_version="11.8").items() if key != "newest-version"}
    assert refusals(MARIADB, Known(recorded=record, running=facts(newest_version="11.8"))) == []


def test_the_message_says_nothing_changed_and_how_to_undo_a_version_record() -> None:
    problems = refusals(facts(newest_version="10.11"), Known(facts(newest_version="11.8"), {}))
    text = cluster_facts.message("mysql", "shop", "mysql-state", problems)
    assert text.startswith('cluster "mysql" in namespace "shop" holds data bound to settings this deployment')
    assert "nothing was changed" in text.splitlines()[0]
    assert "  - version: got 10.11" in text
    assert "remove the key newest-version from ConfigMap mysql-state" in text


GUARDED = Intent("mysql", "shop", create_namespace=True, existing_secret=None, when_deleted="Retain")


def test_guard_check_reads_the_cluster_only_when_a_fact_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[str] = []

    def read(_settings: KubeSettings, _cluster: str, namespace: str) -> Known:
        reads.append(namespace)
        return Known(recorded=MARIADB, running={})

    monkeypatch.setattr(known_facts, "read", read)
    provider = RedeployGuardProvider()
    same = Intent("mysql", "shop", True, None, "Retain", MARIADB).inputs()
    assert provider.check(same, same).inputs == same
    assert reads == []  # the last deployment's facts: checked then
    assert provider.check({}, same).inputs == same  # a first deploy, or a stack from before the facts
    assert reads == ["shop"]
    changed = Intent("mysql", "shop", True, None, "Retain", facts(server_id_offset="99")).inputs()
    with pytest.raises(
        BoundSettingChanged, match=r"(?s)nothing was changed.*serverIdOffset: got 99; allowed: 100"
    ):
        provider.check(same, changed)


def test_guard_check_that_cannot_read_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    def read(*_args: Any) -> Known:
        raise PermissionError("forbidden")

    monkeypatch.setattr(known_facts, "read", read)
    with pytest.raises(RuntimeError, match=r"cannot read namespace \"shop\".*settings its data is bound to"):
        RedeployGuardProvider().check({}, GUARDED.inputs())


STATE = "/api/v1/namespaces/shop/configmaps/mysql-state"
PRIMARY = "/api/v1/namespaces/shop/pods/mysql-0"
STATEFULSET = "/apis/apps/v1/namespaces/shop/statefulsets/mysql"
FILES = "/api/v1/namespaces/shop/configmaps/mysql-config-0123"


def pod_spec(offset: str) -> dict[str, Any]:
    return {"containers": [{"name": "mysql", "env": [{"name": "SERVER_ID_OFFSET", "value": offset}]}],
            "volumes": [{"name": "cluster-config", "configMap": {"name": "mysql-config-0123"}}]}  # fmt: skip


RUNNING_FILES = {"data": {
    "flavor.env": "# flavor\nFLAVOR_NAME='mariadb'\nFLAVOR_VERSION='11.8'\nSERVER_BIN='mariadbd'\n",
    "custom.cnf": "# rendered\n[mysqld]\nloose_innodb_page_size = 8k\nmax_connections = 5\n",
}}  # fmt: skip
BEFORE_THE_RECORD = {STATE: {"data": {"initialised-claim": "uid"}}, FILES: RUNNING_FILES}


def read(objects: dict[str, dict[str, Any]]) -> tuple[Known, list[str]]:
    api = FakeApiServer(objects)
    try:
        known = known_facts.read(KubeSettings(kubeconfig=api.kubeconfig(), context="e2e"), "mysql", "shop")
    finally:
        api.close()
    return known, [request["path"] for request in api.requests]


def test_reader_takes_the_record_and_reads_nothing_else() -> None:
    known, paths = read(
        {STATE: {"data": {**MARIADB, "initialised-claim": "uid"}}, PRIMARY: {"spec": pod_spec("9")}}
    )
    assert known == Known(recorded=MARIADB, running={})
    assert paths == [STATE]


def test_data_from_before_the_record_is_bound_to_what_its_primary_runs() -> None:
    """Not to the StatefulSet: a changed offset the previous program let through stalled at the first replica
    it rolled; the primary, rolled last, still runs the offset the data is bound to."""
    objects = {**BEFORE_THE_RECORD, PRIMARY: {"spec": pod_spec("90")},
               STATEFULSET: {"spec": {"template": {"spec": pod_spec("99")}}}}  # fmt: skip
    known, paths = read(objects)
    assert known == Known(recorded={}, running=facts(newest_version="11.8", server_id_offset="90",
                                                     innodb_page_size="8192"))  # fmt: skip
    assert paths == [STATE, PRIMARY, FILES]


def test_without_a_primary_pod_the_statefulset_tells() -> None:
    known, paths = read({**BEFORE_THE_RECORD, STATEFULSET: {"spec": {"template": {"spec": pod_spec("99")}}}})
    assert known.running[cluster_facts.SERVER_ID_OFFSET] == "99"
    assert paths == [STATE, PRIMARY, STATEFULSET, FILES]


def test_reader_finds_nothing_in_a_namespace_without_the_cluster() -> None:
    assert read({})[0] == Known(recorded={}, running={})


def test_only_label_pod_gets_the_facts(deploy: Deploy) -> None:
    rendered = deploy(MySQLClusterArgs(flavor="mariadb", server_config={"innodb_page_size": "16k"}))
    spec = rendered.pod_spec()
    holders = {c["name"]: e["value"] for c in spec["initContainers"] + spec["containers"]
               for e in c["env"] if e["name"] == "CLUSTER_FACTS"}  # fmt: skip
    assert holders == {"label-pod": " ".join(f"{key}={value}" for key, value in MARIADB.items())}
