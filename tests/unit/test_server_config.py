"""serverConfig (issue 7, defect 9): the user's server options reach every pod as custom.cnf, roll the pods on
change, and the options the cluster manages itself are refused with the reason."""

from __future__ import annotations

import pytest

from mysql_cluster import MySQLClusterArgs
from mysql_cluster.config import ConfigError
from mysql_cluster.server_config import canonical, render

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
