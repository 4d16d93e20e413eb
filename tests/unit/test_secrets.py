"""Credentials: generated into one Secret, reaching containers only by reference, never leaking."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from mysql_cluster import ConfigError, MySQLClusterArgs

from .conftest import PASSWORD_TYPE, Deploy, mock_password

pytestmark = pytest.mark.unit

# How the Pulumi wire format marks a secret value (pulumi.runtime.rpc).
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
KEYS = ("root-password", "replication-password", "backup-password")
PASSWORD_VARIABLES = {
    "MYSQL_ROOT_PASSWORD": "root-password",
    "MYSQL_REPLICATION_PASSWORD": "replication-password",
    "MYSQL_BACKUP_PASSWORD": "backup-password",
}


def test_three_strong_passwords_are_generated(deploy: Deploy) -> None:
    rendered = deploy(MySQLClusterArgs())
    passwords = rendered.all(PASSWORD_TYPE)
    assert sorted(p.name for p in passwords) == sorted(f"mysql-{key}" for key in KEYS)
    for password in passwords:
        assert password.inputs["length"] >= 32
        assert password.inputs["special"] is False  # travel through SQL literals and option files unescaped


def test_one_secret_holds_every_password_and_is_marked_secret(deploy: Deploy) -> None:
    rendered = deploy(MySQLClusterArgs())
    secret = rendered.one("kubernetes:core/v1:Secret", "mysql-credentials").inputs
    assert secret["metadata"]["name"] == "mysql-credentials"
    assert secret["type"] == "Opaque"
    assert "stringData" not in secret
    data = secret["data"]
    assert data[SECRET_SIG_KEY] == SECRET_SIG, "the Secret's data is not marked secret"
    decoded = {key: base64.b64decode(value).decode() for key, value in data["value"].items()}
    assert decoded == {key: mock_password(f"mysql-{key}") for key in KEYS}


def test_no_password_appears_outside_the_secret(deploy: Deploy) -> None:
    rendered = deploy(MySQLClusterArgs())
    passwords = [mock_password(f"mysql-{key}") for key in KEYS]
    # The search can find them: they are in the Secret (base64) and in the stack outputs.
    everything = rendered.text()
    assert all(base64.b64encode(p.encode()).decode() in everything for p in passwords)
    rest = rendered.text(exclude_types=(PASSWORD_TYPE, "kubernetes:core/v1:Secret"))
    for password in passwords:
        for form in (password, base64.b64encode(password.encode()).decode()):
            assert form not in rest


def test_containers_get_passwords_from_the_mounted_secret_only(deploy: Deploy) -> None:
    # Issue 17, defect 8: a password variable by secretKeyRef sat in every process's environment of the
    # container, and kept the old password after a rotation. The scripts read the Secret's files only.
    rendered = deploy(MySQLClusterArgs())
    spec = rendered.pod_spec()
    for container in spec["initContainers"] + spec["containers"]:
        for variable in container.get("env", []):
            assert "PASSWORD" not in variable["name"], f"{container['name']}: {variable['name']}"
            assert "secretKeyRef" not in variable.get("valueFrom", {}), f"{container['name']}: {variable}"
        assert not any("PASSWORD" in arg for arg in container["command"] + container.get("args", []))
    assert not any("envFrom" in c for c in spec["initContainers"] + spec["containers"])


def secret_files(container: dict[str, Any]) -> set[str]:
    """The password variables whose Secret file the container mounts (read-only)."""
    keys = {key: variable for variable, key in PASSWORD_VARIABLES.items()}
    mounted = set()
    for mount in container.get("volumeMounts", []):
        key = mount["mountPath"].removeprefix("/var/run/secrets/mysql-cluster/")
        if key in keys:
            assert mount["readOnly"] is True
            mounted.add(keys[key])
    return mounted


ALL = set(PASSWORD_VARIABLES)


@pytest.mark.parametrize(
    ("container", "passwords"),
    [
        ("init-config", set()),
        ("label-pod", set()),
        # Its credential on the donor's clone port, and the replication user's for ordinal 0's bootstrap.
        ("clone", {"MYSQL_BACKUP_PASSWORD", "MYSQL_REPLICATION_PASSWORD"}),
        ("mysql", ALL),
        ("backup", ALL),
    ],
)
def test_each_container_gets_only_the_passwords_it_uses(
    deploy: Deploy, container: str, passwords: set[str]
) -> None:
    # MySQL 8.4 and MariaDB: a streamed backup (the CLONE plugin's recipient needs more: test_statefulset.py).
    assert secret_files(deploy(MySQLClusterArgs(version="8.4")).container(container)) == passwords


def test_existing_secret_replaces_generated_credentials(deploy: Deploy) -> None:
    rendered = deploy(
        MySQLClusterArgs(existing_secret="db-credentials", create_namespace=False, namespace="db")
    )
    assert rendered.all(PASSWORD_TYPE) == []
    secrets = rendered.all("kubernetes:core/v1:Secret")
    assert [(s.name, s.read_id) for s in secrets] == [("mysql-existing-credentials", "db/db-credentials")]
    refs = {v["secret"]["secretName"] for v in rendered.pod_spec()["volumes"] if "secret" in v}
    assert refs == {"db-credentials"}
    assert rendered.outputs["secretName"] == "db-credentials"
    assert "secretName" not in rendered.secret_outputs  # a name, not a secret
    assert rendered.outputs["rootPassword"] is None


def test_existing_secret_without_every_key_fails_the_deployment(deploy: Deploy) -> None:
    args = MySQLClusterArgs(existing_secret="db-credentials", create_namespace=False, namespace="db")
    with pytest.raises(
        Exception, match=r"'db-credentials' lacks .*keys: replication-password, backup-password"
    ):
        deploy(args, existing_secret_keys=("root-password",))


MOUNTED_KEYS = {"MYSQL_ROOT_PASSWORD": "root-password", "MYSQL_REPLICATION_PASSWORD": "replication-password",
                "MYSQL_BACKUP_PASSWORD": "backup-password"}  # fmt: skip


# MySQL 9.7 (the default): the CLONE plugin's recipient logs in to its donor and runs a private server.
USED = {"init-config": set(), "label-pod": set(), "clone": set(MOUNTED_KEYS), "mysql": set(MOUNTED_KEYS),
        "backup": set(MOUNTED_KEYS)}  # fmt: skip


@pytest.mark.parametrize("container", ["init-config", "label-pod", "clone", "mysql", "backup"])
def test_each_container_mounts_the_secret_files_of_exactly_its_passwords(
    deploy: Deploy, container: str
) -> None:
    """Rotation: the kubelet updates mounted Secret files in running pods (never the environment), so every
    password a container uses it reads, as it is now, from SECRET_DIR/<key>/value."""
    rendered = deploy(MySQLClusterArgs())
    spec = rendered.container(container)
    given = {MOUNTED_KEYS[v] for v in USED[container]}
    mounts = {m["name"]: m for m in spec["volumeMounts"] if m["name"].startswith("secret-")}
    assert set(mounts) == {f"secret-{key}" for key in given}
    for key in given:
        mount = mounts[f"secret-{key}"]
        assert mount["mountPath"] == f"/var/run/secrets/mysql-cluster/{key}"
        assert mount["readOnly"] is True
        assert "subPath" not in mount  # a subPath mount is never updated
    env = {v["name"]: v.get("value") for v in spec.get("env", [])}
    assert env["SECRET_DIR"] == "/var/run/secrets/mysql-cluster"
    volumes = {v["name"]: v for v in rendered.pod_spec()["volumes"]}
    for key in KEYS:
        source = volumes[f"secret-{key}"]["secret"]
        assert source["secretName"] == "mysql-credentials"
        assert source["items"] == [{"key": key, "path": "value"}]
        assert source["defaultMode"] == 0o440


def test_existing_secret_is_mounted_too(deploy: Deploy) -> None:
    rendered = deploy(
        MySQLClusterArgs(existing_secret="db-credentials", create_namespace=False, namespace="db")
    )
    volumes = [v for v in rendered.pod_spec()["volumes"] if v["name"].startswith("secret-")]
    assert {v["secret"]["secretName"] for v in volumes} == {"db-credentials"}


def test_passwords_have_no_keeper_until_a_rotation_is_asked_for(deploy: Deploy) -> None:
    """Without passwordRotation no keeper: a stack deployed before the key existed keeps its passwords."""
    for password in deploy(MySQLClusterArgs()).all(PASSWORD_TYPE):
        assert not password.inputs.get("keepers"), password.name


def test_password_rotation_is_refused_unless_the_provider_updates_secrets_in_place(
    deploy: Deploy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seen on the local cluster: without enableSecretMutable the provider replaced the Secret on a rotation,
    and the engine the StatefulSet with it (every pod at once; with whenDeleted: Delete, every volume)."""
    monkeypatch.delenv("PULUMI_K8S_ENABLE_SECRET_MUTABLE", raising=False)
    with pytest.raises(ConfigError, match=r"kubernetes:enableSecretMutable true"):
        deploy(MySQLClusterArgs(password_rotation="2026-11"))


def test_password_rotation_is_every_generated_passwords_keeper(
    deploy: Deploy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new passwordRotation value changes the keepers, which makes the random provider generate new
    passwords (a replacement), and with them the Secret's data (updated in place)."""
    monkeypatch.setenv("PULUMI_K8S_ENABLE_SECRET_MUTABLE", "true")
    passwords = deploy(MySQLClusterArgs(password_rotation="2026-11")).all(PASSWORD_TYPE)
    assert len(passwords) == 3
    for password in passwords:
        assert password.inputs["keepers"] == {"rotation": "2026-11"}, password.name
