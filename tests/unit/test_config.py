"""Stack configuration: every key is read, every bad value is refused before anything is declared."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from mysql_cluster import ConfigError, ContainerResources, MySQLClusterArgs, NetworkPolicyArgs, PvcRetention
from mysql_cluster.config import CONFIG_KEYS, DEFAULT_SERVER_RESOURCES, DEFAULT_SIDECAR_RESOURCES, Resources

from .conftest import PROJECT, Deploy

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[2]


def from_config(values: dict[str, Any], *, reject_unknown_keys: bool = True) -> MySQLClusterArgs:
    """What the engine hands the program for these stack values: text, objects as JSON text."""
    pulumi.runtime.set_all_config(
        {f"{PROJECT}:{key}": v if isinstance(v, str) else json.dumps(v) for key, v in values.items()}
    )
    try:
        return MySQLClusterArgs.from_config(pulumi.Config(PROJECT), reject_unknown_keys=reject_unknown_keys)
    finally:
        pulumi.runtime.set_all_config({})


def stack_file_config(path: Path) -> dict[str, Any]:
    """A stack file's project keys, as `pulumi` would hand them to the program."""
    document = yaml.safe_load(path.read_text())
    prefix = f"{PROJECT}:"
    return {key[len(prefix) :]: value for key, value in document["config"].items() if key.startswith(prefix)}


def test_defaults_are_the_documented_ones() -> None:
    args = from_config({})
    assert args == MySQLClusterArgs()
    assert (args.replicas, args.flavor, args.resolved_version) == (3, "mysql", "9.7")
    assert (args.image, args.backup_image, args.namespace, args.create_namespace) == (None, None, None, True)
    assert (args.storage_size, args.storage_class) == ("10Gi", None)
    assert (args.server_id_offset, args.max_lag_seconds, args.primary_serves_reads) == (100, 60, False)
    assert args.pvc_retention == PvcRetention(when_deleted="Retain", when_scaled="Retain")
    assert args.resources == Resources(DEFAULT_SERVER_RESOURCES, DEFAULT_SIDECAR_RESOURCES)
    assert args.resources.server.limits == {"memory": "2Gi"}
    assert "cpu" not in args.resources.server.limits  # no CPU throttling of the database by default
    assert (args.anti_affinity, args.network_policy) == ("soft", NetworkPolicyArgs(True, "namespace"))
    assert (args.existing_secret, args.image_pull_policy) == (None, "IfNotPresent")
    assert (args.deploy_timeout_seconds, args.cluster_domain) == (1200, "cluster.local")


EVERY_KEY = [
    ("replicas", "5", "replicas", 5),
    ("flavor", "mariadb", "flavor", "mariadb"),
    ("version", "8.4", "version", "8.4"),
    (
        "image",
        "registry.example.com:5000/db/mysql:9.7.4",
        "image",
        "registry.example.com:5000/db/mysql:9.7.4",
    ),
    (
        "backupImage",
        "registry.example.com:5000/db/mysql:9.7.4",
        "backup_image",
        "registry.example.com:5000/db/mysql:9.7.4",
    ),
    ("namespace", "databases", "namespace", "databases"),
    ("createNamespace", "false", "create_namespace", False),
    ("storageSize", "100Gi", "storage_size", "100Gi"),
    ("storageClass", "fast-ssd", "storage_class", "fast-ssd"),
    ("storageClass", "", "storage_class", ""),
    ("serverIdOffset", "1000", "server_id_offset", 1000),
    ("maxLagSeconds", "5", "max_lag_seconds", 5),
    ("primaryServesReads", "true", "primary_serves_reads", True),
    ("pvcRetention", {"whenDeleted": "Delete"}, "pvc_retention", PvcRetention("Delete", "Retain")),
    (
        "pvcRetention",
        {"whenDeleted": "Delete", "whenScaled": "Retain"},
        "pvc_retention",
        PvcRetention("Delete", "Retain"),
    ),
    (
        "resources",
        {"server": {"requests": {"cpu": 2, "memory": "8Gi"}, "limits": {"memory": "8Gi"}}},
        "resources",
        Resources(server=ContainerResources({"cpu": "2", "memory": "8Gi"}, {"memory": "8Gi"})),
    ),
    ("antiAffinity", "hard", "anti_affinity", "hard"),
    ("networkPolicy", {"enabled": False}, "network_policy", NetworkPolicyArgs(enabled=False)),
    ("networkPolicy", {"allowDatabaseFrom": "any"}, "network_policy", NetworkPolicyArgs(True, "any")),
    (
        "networkPolicy",
        {"allowDatabaseFrom": ["apps", "jobs"]},
        "network_policy",
        NetworkPolicyArgs(True, ("apps", "jobs")),
    ),
    ("existingSecret", "db-credentials", "existing_secret", "db-credentials"),
    ("passwordRotation", "2026-11", "password_rotation", "2026-11"),
    ("imagePullPolicy", "Always", "image_pull_policy", "Always"),
    ("deployTimeoutSeconds", "600", "deploy_timeout_seconds", 600),
    ("clusterDomain", "k8s.example.org", "cluster_domain", "k8s.example.org"),
    ("serverConfig", {"max_connections": 500}, "server_config", {"max_connections": 500}),
]


@pytest.mark.parametrize(("key", "raw", "attribute", "expected"), EVERY_KEY)
def test_every_key_is_read(key: str, raw: Any, attribute: str, expected: Any) -> None:
    extra = {"createNamespace": "false"} if key == "existingSecret" else {}
    args = from_config({key: raw, **extra})
    assert getattr(args, attribute) == expected
    assert getattr(MySQLClusterArgs(), attribute) != expected  # not the default: the read is what set it


def test_every_key_is_covered_by_the_table() -> None:
    assert {row[0] for row in EVERY_KEY} == set(CONFIG_KEYS)


def test_path_set_values_are_read_like_yaml_values() -> None:
    # `pulumi config set --path networkPolicy.enabled false` stores text inside the object.
    args = from_config(
        {"networkPolicy": {"enabled": "false"}, "replicas": " 4 ", "primaryServesReads": "True"}
    )
    assert (args.network_policy.enabled, args.replicas, args.primary_serves_reads) == (False, 4, True)


def test_local_stack_file_is_valid_and_says_what_the_local_cluster_needs() -> None:
    args = from_config(stack_file_config(REPO / "Pulumi.local.yaml"))
    assert (args.flavor, args.resolved_version) == ("mariadb", "10.11")
    assert args.image == args.backup_image == "localhost/mysql-cluster/mariadb:10.11"
    assert args.image_pull_policy == "Never"
    assert args.storage_size == "2Gi"
    assert args.pvc_retention == PvcRetention(when_deleted="Delete", when_scaled="Retain")
    assert args.resources.server == ContainerResources(
        {"cpu": "100m", "memory": "256Mi"}, {"memory": "768Mi"}
    )
    assert args.anti_affinity != "hard"  # one node
    # The default path end to end: passwords generated by the random provider, in a namespace of the stack's.
    assert (args.existing_secret, args.create_namespace) == (None, True)


def test_dev_stack_file_is_valid_with_official_images() -> None:
    args = from_config(stack_file_config(REPO / "Pulumi.dev.yaml"))
    assert (args.flavor, args.resolved_version, args.image) == ("mysql", "9.7", None)
    assert args.pvc_retention.when_deleted == "Retain"


BAD_INPUTS = [
    ({"replicas": "-1"}, ["replicas", "-1", "integer from 1 to 64"]),
    ({"replicas": "0"}, ["replicas: got 0", "integer from 1 to 64"]),
    ({"replicas": "2.5"}, ["replicas", "'2.5'", "an integer"]),
    ({"replicas": "three"}, ["replicas", "'three'", "an integer"]),
    ({"flavor": "postgres"}, ["flavor", "'postgres'", "mysql | mariadb"]),
    ({"version": "5.7"}, ["version", "'5.7'", "8.4 | 9.7", "'mysql'"]),
    ({"version": "8.0"}, ["version", "'8.0'", "8.4 | 9.7", "MySQL 8.0 reached its end of life in April"]),
    ({"flavor": "mariadb", "version": "8.4"}, ["version", "'8.4'", "10.11 | 11.4 | 11.8", "'mariadb'"]),
    ({"image": "mysql"}, ["image", "'mysql'", "explicit tag"]),
    ({"image": "mysql:latest"}, ["image", "'mysql:latest'", "other than 'latest'"]),
    ({"image": "MySQL:8.4"}, ["image", "'MySQL:8.4'"]),
    ({"backupImage": "percona xtrabackup:8.4"}, ["backupImage", "'percona xtrabackup:8.4'"]),
    ({"namespace": "Databases"}, ["namespace", "'Databases'", "DNS-1123 label"]),
    ({"namespace": "db_prod"}, ["namespace", "'db_prod'", "DNS-1123 label"]),
    ({"namespace": "a" * 64}, ["namespace", "DNS-1123 label"]),
    ({"createNamespace": "yes"}, ["createNamespace", "'yes'", "true | false"]),
    ({"storageSize": "10GB"}, ["storageSize", "'10GB'", "a size with a unit"]),
    ({"storageSize": "10 Gi"}, ["storageSize", "'10 Gi'", "a size with a unit"]),
    ({"storageSize": "-1Gi"}, ["storageSize", "'-1Gi'", "from 1Gi to 1Pi"]),
    ({"storageSize": "0"}, ["storageSize", "'0'", "from 1Gi"]),
    ({"storageSize": "1500m"}, ["storageSize", "'1500m'", "whole number of bytes"]),
    ({"storageClass": "Fast_SSD"}, ["storageClass", "'Fast_SSD'", "StorageClass name"]),
    ({"serverIdOffset": "0"}, ["serverIdOffset", "0", "from 1 to 4294967295"]),
    ({"serverIdOffset": "4294967295"}, ["serverIdOffset", "4294967295", "<= 4294967293 with 3 replicas"]),
    ({"serverIdOffset": "4294967296"}, ["serverIdOffset", "4294967296", "to 4294967295"]),
    ({"maxLagSeconds": "0"}, ["maxLagSeconds", "0", "from 1 to 3600"]),
    ({"primaryServesReads": "1"}, ["primaryServesReads", "'1'", "true | false"]),
    ({"pvcRetention": {"whenDeleted": "Keep"}}, ["pvcRetention.whenDeleted", "'Keep'", "Retain | Delete"]),
    ({"pvcRetention": {"whenScale": "Delete"}}, ["pvcRetention.whenScale", "did you mean 'whenScaled'"]),
    # A scale to zero (a routine pause) would delete the primary's volume too.
    (
        {"pvcRetention": {"whenScaled": "Delete"}},
        ["pvcRetention.whenScaled", "'Delete'", "Retain (Delete would"],
    ),
    ({"pvcRetention": "Retain"}, ["pvcRetention", "'Retain'", "an object with keys whenDeleted, whenScaled"]),
    (
        {"resources": {"server": {"requests": {"memory": "512m"}}}},
        ["resources.server.requests.memory", "'512m'", "whole number of bytes"],
    ),
    (
        {"resources": {"server": {"requests": {"cpu": "half"}}}},
        ["resources.server.requests.cpu", "'half'", "a number of CPUs"],
    ),
    (
        {"resources": {"sidecar": {"limits": {"gpu": "1"}}}},
        ["resources.sidecar.limits.gpu", "only keys cpu, memory, ephemeral-storage"],
    ),
    (
        {"resources": {"server": {"request": {"cpu": "1"}}}},
        ["resources.server.request", "did you mean 'requests'"],
    ),
    ({"resources": {"mysql": {}}}, ["resources.mysql", "only keys server, sidecar"]),
    (
        {"resources": {"server": {"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}}}},
        ["resources.server.requests.memory", "'2Gi'", "<= the limit 1Gi"],
    ),
    ({"antiAffinity": "strict"}, ["antiAffinity", "'strict'", "soft | hard | none"]),
    (
        {"networkPolicy": {"allowDatabaseFrom": "cluster"}},
        ["networkPolicy.allowDatabaseFrom", "'cluster'", "namespace | any | a list"],
    ),
    (
        {"networkPolicy": {"allowDatabaseFrom": []}},
        ["networkPolicy.allowDatabaseFrom", "[]", "non-empty list"],
    ),
    (
        {"networkPolicy": {"allowDatabaseFrom": ["Apps"]}},
        ["networkPolicy.allowDatabaseFrom", "['Apps']", "namespace names"],
    ),
    ({"networkPolicy": {"allowDatabaseFrom": ["a", "a"]}}, ["networkPolicy.allowDatabaseFrom", "distinct"]),
    ({"networkPolicy": {"enable": True}}, ["networkPolicy.enable", "did you mean 'enabled'"]),
    (
        {"existingSecret": "db_credentials", "createNamespace": "false"},
        ["existingSecret", "'db_credentials'", "Secret name"],
    ),
    (
        {"existingSecret": "db-credentials"},
        ["existingSecret", "'db-credentials'", "only with createNamespace=false"],
    ),
    ({"imagePullPolicy": "never"}, ["imagePullPolicy", "'never'", "Always | IfNotPresent | Never"]),
    ({"deployTimeoutSeconds": "30"}, ["deployTimeoutSeconds", "30", "from 60 to 604800"]),
    ({"clusterDomain": "cluster..local"}, ["clusterDomain", "'cluster..local'", "DNS domain"]),
    ({"replica": "3"}, ["replica: unknown configuration key", "did you mean 'replicas'"]),
    ({"storagesize": "1Gi"}, ["storagesize: unknown configuration key", "did you mean 'storageSize'"]),
]


@pytest.mark.parametrize(("values", "fragments"), BAD_INPUTS, ids=[json.dumps(v) for v, _ in BAD_INPUTS])
def test_bad_input_is_one_clear_error_naming_the_key(values: dict[str, Any], fragments: list[str]) -> None:
    with pytest.raises(ConfigError) as raised:
        from_config(values)
    assert len(raised.value.problems) == 1, raised.value.problems
    message = str(raised.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_all_problems_come_in_one_error() -> None:
    with pytest.raises(ConfigError) as raised:
        from_config({"replicas": "-2", "storageSize": "lots", "flavor": "oracle", "typo": "x"})
    keys = sorted(problem.split(":")[0] for problem in raised.value.problems)
    assert keys == ["flavor", "replicas", "storageSize", "typo"]


def test_unknown_keys_can_be_allowed_when_the_namespace_is_shared() -> None:
    assert from_config({"region": "eu", "replicas": "2"}, reject_unknown_keys=False).replicas == 2


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"replicas": True}, "replicas: got True"),
        ({"replicas": "3"}, "replicas: got '3'"),
        ({"create_namespace": "false"}, "createNamespace: got 'false'"),
        ({"version": 8.4}, "version: got 8.4"),
        (
            {"pvc_retention": {"whenDeleted": "Delete"}},
            "pvcRetention: got {'whenDeleted': 'Delete'}; allowed: a PvcRetention",
        ),
        ({"resources": Resources(server={"requests": {}})}, "resources.server"),  # type: ignore[arg-type]
        ({"anti_affinity": "Soft"}, "antiAffinity: got 'Soft'"),
    ],
)
def test_python_callers_get_the_same_validation(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError, match="invalid mysql-cluster configuration") as raised:
        MySQLClusterArgs(**kwargs)
    assert fragment in str(raised.value)


def test_args_are_immutable() -> None:
    args = MySQLClusterArgs(network_policy=NetworkPolicyArgs(allow_database_from=["apps"]))  # type: ignore[arg-type]
    assert args.network_policy.allow_database_from == ("apps",)
    with pytest.raises(TypeError):
        args.resources.server.requests["cpu"] = "4"  # type: ignore[index]


def test_bad_configuration_fails_before_the_component_exists(deploy: Deploy) -> None:
    with pytest.raises(ConfigError, match="replicas: got 0"):
        deploy(config={"replicas": "0"})
