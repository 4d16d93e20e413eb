"""serverConfig (issue 7, defect 9): the user's server options reach every pod as custom.cnf, roll the pods on
change, and the options the cluster manages itself are refused with the reason."""

from __future__ import annotations

import pytest

from mysql_cluster import MySQLClusterArgs
from mysql_cluster.config import ConfigError
from mysql_cluster.server_config import canonical, render, rendered_name

from .conftest import Deploy

pytestmark = pytest.mark.unit


def config_map_data(deploy: Deploy, args: MySQLClusterArgs) -> dict[str, str]:
    data: dict[str, str] = deploy(args).one("kubernetes:core/v1:ConfigMap", "mysql-config").inputs["data"]
    return data


OPTIONS = {"max_connections": 500, "innodb-buffer-pool-size": "6G", "binlog_expire_logs_seconds": 259200}


def test_options_are_rendered_as_custom_cnf_in_the_configmap(deploy: Deploy) -> None:
    data = config_map_data(deploy, MySQLClusterArgs(server_config={**OPTIONS, "performance_schema": False}))
    assert data["custom.cnf"].splitlines()[2:] == [
        "[mysqld]",
        "binlog_expire_logs_seconds = 259200",
        "innodb_buffer_pool_size = 6G",
        "max_connections = 500",
        "performance_schema = OFF",
    ]


def test_no_options_no_custom_cnf(deploy: Deploy) -> None:
    assert "custom.cnf" not in config_map_data(deploy, MySQLClusterArgs())


def test_a_changed_option_rolls_the_pods(deploy: Deploy) -> None:
    def annotations(options: dict[str, int]) -> dict[str, str]:
        template = deploy(MySQLClusterArgs(server_config=options)).statefulset()["spec"]["template"]
        return dict(template["metadata"]["annotations"])

    before, after = annotations({"max_connections": 500}), annotations({"max_connections": 600})
    changed = {key for key in before if before[key] != after[key]}
    assert changed == {"mysql-cluster.io/config-checksum", "mysql-cluster.io/server-config-checksum"}


@pytest.mark.parametrize(
    ("option", "reason"),
    [
        ("server_id", "set per pod by init-config.sh"),
        ("skip-log-bin", "replicas are seeded from and replicate binary logs"),
        ("loose_super_read_only", "keeps replicas read-only"),
        ("gtid_strict_mode", "GTID replication"),
        ("skip_slave_start", "the sidecar starts replication"),
        ("Secure-File-Priv", "bypass the cluster's accounts"),
        ("datadir", "the cluster's volumes"),
    ],
)
def test_options_the_cluster_manages_are_refused_with_the_reason(option: str, reason: str) -> None:
    with pytest.raises(ConfigError) as refused:
        MySQLClusterArgs(server_config={option: "1"})
    [problem] = refused.value.problems
    assert problem.startswith(f"serverConfig.{option}: got '1'; allowed: no option the cluster manages")
    assert reason in problem


def test_option_names_are_compared_the_way_the_server_reads_them() -> None:
    assert canonical("Skip-Slave-Start") == "slave_start"
    assert canonical("loose-max-connections") == "max_connections"
    assert render({}) is None


@pytest.mark.parametrize(
    "option", ["clone_max_data_bandwidth", "Clone-Max-Data-Bandwidth", "loose_clone_max_data_bandwidth"]
)
def test_the_clone_plugins_bandwidth_cap_is_accepted_and_written_with_loose(
    deploy: Deploy, option: str
) -> None:
    """MySQL's recipient-side cap on a CLONE's data rate (MiB/s): `mysqld --initialize` loads no plugin and
    refuses options it does not know (checked on mysqld 9.7.4), so it is written `loose_` (the script tier's
    tests/scripts/test_mysql_clone_busy.py runs a recipient throttled by this very line)."""
    data = config_map_data(deploy, MySQLClusterArgs(server_config={option: 16}))
    assert data["custom.cnf"].splitlines()[2:] == ["[mysqld]", "loose_clone_max_data_bandwidth = 16"]


def test_only_plugin_options_get_loose() -> None:
    assert rendered_name("max-connections") == "max_connections"
    assert rendered_name("skip_clone_autotune_concurrency") == "loose_skip_clone_autotune_concurrency"
    assert rendered_name("LOOSE-clone-buffer-size") == "loose_clone_buffer_size"
