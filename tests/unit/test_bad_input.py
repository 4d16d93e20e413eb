"""Bad input, by class: every mistyped value is refused naming its key, bounds follow what the pods can run
and parse, secrets stay out of errors, keys set where the program never looks are reported."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pulumi
import pytest

from mysql_cluster import ConfigError, MySQLCluster, MySQLClusterArgs
from mysql_cluster.config import CONFIG_KEYS
from mysql_cluster.limits import INTEGER_RANGES, RESERVED_NAMESPACES
from mysql_cluster.validation import secret_values

from .conftest import PROJECT, RecordingMocks
from .mistyped import MISTAKES, SHA, Mistake, as_config, verdict

pytestmark = pytest.mark.unit
LIB_SH = Path(__file__).resolve().parents[2] / "mysql_cluster" / "scripts" / "lib.sh"


def read(values: dict[str, Any], secret: tuple[str, ...] = ()) -> MySQLClusterArgs:
    """What the engine hands the program: every key of `values`, the `secret` ones set with --secret."""
    qualified = [key if ":" in key else f"{PROJECT}:{key}" for key in secret]
    pulumi.runtime.set_all_config(as_config(values, PROJECT), secret_keys=qualified)
    try:
        return MySQLClusterArgs.from_config(pulumi.Config(PROJECT))
    finally:
        pulumi.runtime.set_all_config({}, secret_keys=[])


def read_mistake(mistake: Mistake) -> MySQLClusterArgs:
    return read({**mistake.values, **mistake.extra}, mistake.secret)


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.label for m in MISTAKES])
def test_mistyped_value_is_refused_naming_its_key(mistake: Mistake) -> None:
    assert verdict(mistake, read_mistake, ConfigError) is None


def test_every_key_has_mistakes_tried() -> None:
    tried = {key.split(".")[0] for mistake in MISTAKES for key in mistake.values if ":" not in key}
    assert set(CONFIG_KEYS) <= tried
    assert len(MISTAKES) >= 200


@pytest.mark.parametrize(
    "values",
    [
        {"replicas": "64", "maxLagSeconds": "3600", "deployTimeoutSeconds": "604800"},
        {"replicas": "1", "maxLagSeconds": "1", "deployTimeoutSeconds": "60", "serverIdOffset": "4294967295"},
        {"storageSize": "1Gi"},
        {"storageSize": "1Pi"},
        {"storageSize": "20G"},
        {"storageSize": "1.5Ti"},
        {"image": "mysql:latest@sha256:" + SHA, "backupImage": "percona/percona-xtrabackup@sha256:" + SHA},
        {"version": "8.4", "image": "registry.example.com:5000/db/mysql:8.4@sha512:" + SHA * 2},
        {"flavor": "mariadb", "image": "mariadb:10.11.6", "backupImage": "docker.io/library/mariadb:10.11"},
        {
            "version": "8.4",
            "image": "mysql:8",
            "backupImage": "percona/percona-xtrabackup:8.4.0-1",
        },  # a major alone floats
        {"version": "9.7", "image": "mysql:9.7.4-oracle", "backupImage": "mysql:9.7.4"},
        {"flavor": "mariadb", "version": "11.8", "image": "mariadb:11.8.3", "backupImage": "mariadb:11.8"},
        {
            "image": "registry.example.com/team/db-server:2.3",
            "backupImage": "registry.example.com/team/tools:1",
        },
        {"namespace": "default", "createNamespace": "false"},
        {"namespace": "kube-system", "createNamespace": "false"},
        {
            "flavor": "mariadb",
            "resources": {"server": {"requests": {"memory": "256Mi"}, "limits": {"memory": "256Mi"}}},
        },
        {
            "resources": {
                "server": {"requests": {"cpu": "100m", "memory": "500M"}, "limits": {"memory": "512Mi"}}
            }
        },
        {"resources": {"server": {"limits": {"cpu": "256", "memory": "32Ti", "ephemeral-storage": "64Mi"}}}},
        {"resources": {"sidecar": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "8"}}}},
        {"resources": {"server": {"requests": {"cpu": 2, "memory": "4e9"[:0] + "4Gi"}}}},
        {"kubernetes:namespace": "apps", "pulumi:tags": '{"team": "db"}', "aws:region": "eu-west-1"},
    ],
    ids=lambda values: json.dumps(values)[:60],
)
def test_good_values_at_the_bounds_are_accepted(values: dict[str, Any]) -> None:
    read(values)


def test_secret_values_are_read_like_others() -> None:
    args = read(
        {"replicas": "5", "existingSecret": "db", "createNamespace": "false"}, ("replicas", "existingSecret")
    )
    assert (args.replicas, args.existing_secret) == (5, "db")


def test_secret_listed_by_the_engine_is_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    # `pulumi up` hands the program its configuration and the secret keys in two environment variables.
    config = {f"{PROJECT}:image": "Zq9:latest", f"{PROJECT}:typo": "Zq8-secret", "mysql:replicas": "Zq7"}
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(config))
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(list(config)))
    pulumi.runtime.set_all_config({}, secret_keys=[])
    with pytest.raises(ConfigError) as raised:
        MySQLClusterArgs.from_config(pulumi.Config(PROJECT))
    message = str(raised.value)
    assert [problem.split(":")[0] for problem in raised.value.problems] == ["typo", "mysql", "image"]
    assert "Zq" not in message
    assert message.count("set as a secret (not shown)") == 3


def test_values_of_python_callers_are_hidden_within_secret_values() -> None:
    with secret_values({"flavor"}), pytest.raises(ConfigError) as raised:
        MySQLClusterArgs(flavor="mariadb", version="Zq.1")
    # The versions allowed would tell the flavor: the error lists every flavor's.
    assert "mysql: 8.4 | 9.7; mariadb: 10.11 | 11.4 | 11.8" in str(raised.value)
    assert "for flavor 'mariadb'" not in str(raised.value)


def test_other_namespaces_are_allowed_when_the_configuration_is_shared() -> None:
    pulumi.runtime.set_all_config(as_config({"mysql:replicas": "2", "replicas": "4"}, PROJECT))
    try:
        args = MySQLClusterArgs.from_config(pulumi.Config(PROJECT), reject_unknown_keys=False)
    finally:
        pulumi.runtime.set_all_config({})
    assert args.replicas == 4


@pytest.mark.parametrize("key", sorted(INTEGER_RANGES))
def test_every_integer_maximum_is_readable_by_the_pods_scripts(key: str) -> None:
    # The pods read these numbers with `require_number` (scripts/lib.sh); the maximum must pass it.
    maximum = INTEGER_RANGES[key][1]
    script = f'source "{LIB_SH}"; VALUE={maximum}; require_number VALUE; echo "$((VALUE + 1))"'
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(maximum + 1)


@pytest.mark.parametrize("name", [*RESERVED_NAMESPACES, "kube-db"])
def test_a_cluster_named_like_a_reserved_namespace_needs_create_namespace_false(
    name: str, mocks: RecordingMocks
) -> None:
    # Without `namespace`, the namespace is the cluster's name: creating `default` would adopt it.
    with pytest.raises(ConfigError, match=f"namespace: got '{name}'.*set createNamespace to false"):
        MySQLCluster(name, MySQLClusterArgs())
    assert mocks.resources == []


def test_no_resource_is_declared_when_one_key_is_bad(mocks: RecordingMocks) -> None:
    good = {"replicas": "3", "storageSize": "20Gi", "namespace": "databases"}
    with pytest.raises(ConfigError, match="maxLagSeconds: got 60000"):
        MySQLCluster("mysql", read({**good, "maxLagSeconds": "60000"}))
    assert mocks.resources == []
