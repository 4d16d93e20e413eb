"""The ConfigMap: the flavor's rendered files and the container scripts, verbatim and content-addressed."""

from __future__ import annotations

from pathlib import Path

import pytest

from mysql_cluster import MySQLClusterArgs, names
from mysql_cluster.configmap import checksum, load_scripts
from mysql_cluster.flavors import get_flavor, render_config_files

from .conftest import Deploy

pytestmark = pytest.mark.unit
SCRIPTS = Path(__file__).resolve().parents[2] / "mysql_cluster" / "scripts"


def test_scripts_are_shipped_byte_for_byte(deploy: Deploy) -> None:
    data = deploy(MySQLClusterArgs()).one("kubernetes:core/v1:ConfigMap", "mysql-config").inputs["data"]
    on_disk = {path.name: path.read_text(encoding="utf-8") for path in SCRIPTS.glob("*.sh")}
    assert on_disk, "no scripts found next to the package"
    assert {name: data[name] for name in on_disk} == on_disk
    assert set(names.ENTRYPOINT_SCRIPTS) <= set(on_disk)


@pytest.mark.parametrize(
    ("flavor", "version"), [("mysql", "8.4"), ("mysql", "9.7"), ("mariadb", "10.11"), ("mariadb", "11.8")]
)
def test_rendered_configuration_is_shipped(deploy: Deploy, flavor: str, version: str) -> None:
    config_map = deploy(MySQLClusterArgs(flavor=flavor, version=version)).one(
        "kubernetes:core/v1:ConfigMap", "mysql-config"
    )
    rendered = render_config_files(get_flavor(flavor, version))
    assert set(rendered) >= {"common.cnf", "primary.cnf", "replica.cnf", "flavor.env"}
    assert {name: config_map.inputs["data"][name] for name in rendered} == rendered
    assert set(config_map.inputs["data"]) == set(rendered) | set(load_scripts())


def test_config_map_is_immutable_and_named_after_its_content(deploy: Deploy) -> None:
    rendered = deploy(MySQLClusterArgs())
    config_map = rendered.one("kubernetes:core/v1:ConfigMap", "mysql-config").inputs
    assert config_map["immutable"] is True
    assert config_map["metadata"]["name"] == f"mysql-config-{checksum(config_map['data'])[:10]}"


def test_checksum_depends_on_names_and_contents_only() -> None:
    assert checksum({"a": "1", "b": "2"}) == checksum({"b": "2", "a": "1"})
    assert checksum({"a": "1"}) != checksum({"a": "2"})
    assert checksum({"a": "1"}) != checksum({"b": "1"})
    assert checksum({"ab": "c"}) != checksum({"a": "bc"})  # length-prefixed: no ambiguity


def test_missing_entrypoint_script_is_a_packaging_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "server.sh").write_text("#!/usr/bin/env bash\n")
    monkeypatch.setattr("mysql_cluster.configmap.resources.files", lambda _package: tmp_path)
    with pytest.raises(RuntimeError, match=r"lacks init-config\.sh, label-pod\.sh, clone\.sh"):
        load_scripts()
