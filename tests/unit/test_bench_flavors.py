"""`make bench`'s flavors (bench/flavors.py): the settings that choose them, and the tutorial's manifests each
gets (same image in every container, the MariaDB 11.8 renames applied, nothing of 10.11 left behind)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from bench.flavors import FLAVORS, chosen_flavor, chosen_flavors

pytestmark = pytest.mark.unit


def _statefulset(key: str) -> tuple[str, dict[str, Any]]:
    text = FLAVORS[key].tutorial_manifests()["statefulset.yaml"]
    return text, yaml.safe_load(text)


def test_flavor_settings_default_and_refuse_unknown_values() -> None:
    assert chosen_flavor({}).key == "mariadb-10.11"
    assert [f.key for f in chosen_flavors({})] == ["mariadb-10.11", "mariadb-11.8", "mysql-9.7"]
    assert [f.key for f in chosen_flavors({"BENCH_FLAVOR": "mysql-9.7"})] == ["mysql-9.7"]
    assert [f.key for f in chosen_flavors({"BENCH_FLAVORS": "mysql-9.7, mariadb-11.8"})] == [
        "mysql-9.7",
        "mariadb-11.8",
    ]
    with pytest.raises(
        SystemExit, match=re.escape("BENCH_FLAVOR='mysql-8.4': allowed: mariadb-10.11, mariadb-11.8")
    ):
        chosen_flavor({"BENCH_FLAVOR": "mysql-8.4"})
    with pytest.raises(SystemExit, match="BENCH_FLAVORS='mariadb': allowed: a comma-separated list of"):
        chosen_flavors({"BENCH_FLAVORS": "mariadb"})
    with pytest.raises(SystemExit, match="BENCH_FLAVORS=''"):
        chosen_flavors({"BENCH_FLAVORS": ""})


@pytest.mark.parametrize("key", list(FLAVORS))
def test_every_container_of_the_tutorial_runs_the_flavor_image(key: str) -> None:
    _, statefulset = _statefulset(key)
    spec = statefulset["spec"]["template"]["spec"]
    images = {c["image"] for c in spec["initContainers"] + spec["containers"]}
    assert images == {FLAVORS[key].image}
    names = [c["name"] for c in spec["containers"]]
    assert names == ["mysql", FLAVORS[key].replication_container]


def test_mariadb_11_8_reads_the_renamed_backup_files_and_skips_certificate_verification() -> None:
    text, _ = _statefulset("mariadb-11.8")
    assert "xtrabackup_binlog_info" not in text
    assert "xtrabackup_slave_info" not in text
    assert "mariadb_backup_binlog_info" in text
    assert "mariadb_backup_slave_info" in text
    assert "MASTER_SSL_VERIFY_SERVER_CERT=0" in text
    old, _ = _statefulset("mariadb-10.11")
    assert "mariadb_backup_" not in old
    assert "MASTER_SSL_VERIFY_SERVER_CERT" not in old


def test_mysql_9_7_clones_with_the_plugin_and_replicates_by_gtid() -> None:
    text, _ = _statefulset("mysql-9.7")
    assert "CLONE INSTANCE FROM" in text
    assert "SOURCE_AUTO_POSITION=1" in text
    assert "xtrabackup" not in text
    assert "mbstream" not in text
    config = yaml.safe_load(FLAVORS["mysql-9.7"].tutorial_manifests()["configmap.yaml"])["data"]
    for role in ("primary.cnf", "secondary.cnf"):
        assert "gtid-mode=ON" in config[role]
        assert "plugin-load-add=mysql_clone.so" in config[role]
    assert "super-read-only" in config["secondary.cnf"]
