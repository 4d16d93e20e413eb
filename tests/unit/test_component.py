"""The component as a whole: what it declares, how children are named and parented, what it exports."""

from __future__ import annotations

import runpy
from collections import Counter
from pathlib import Path
from typing import Any

import pulumi
import pytest

from mysql_cluster import MySQLCluster, MySQLClusterArgs, PvcRetention

from .conftest import Deploy, RecordingMocks

pytestmark = pytest.mark.unit

EXPECTED_CHILDREN = {
    ("pulumi-python:dynamic/mysql-cluster:RedeployGuard", "mysql-redeploy-guard"),
    ("kubernetes:core/v1:Namespace", "mysql-namespace"),
    ("random:index/randomPassword:RandomPassword", "mysql-root-password"),
    ("random:index/randomPassword:RandomPassword", "mysql-replication-password"),
    ("random:index/randomPassword:RandomPassword", "mysql-backup-password"),
    ("kubernetes:core/v1:Secret", "mysql-credentials"),
    ("kubernetes:core/v1:ConfigMap", "mysql-config"),
    ("kubernetes:core/v1:ConfigMapPatch", "mysql-state"),  # whenDeleted: Retain (the default)
    ("kubernetes:core/v1:Service", "mysql-headless"),
    ("kubernetes:core/v1:Service", "mysql-primary"),
    ("kubernetes:core/v1:Service", "mysql-read"),
    ("kubernetes:core/v1:ServiceAccount", "mysql"),
    ("kubernetes:rbac.authorization.k8s.io/v1:Role", "mysql-label-pod"),
    ("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "mysql-label-pod"),
    ("kubernetes:policy/v1:PodDisruptionBudget", "mysql"),
    ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "mysql"),
    ("kubernetes:apps/v1:StatefulSet", "mysql"),
}
COMPONENT = "mysql-cluster:index:MySQLCluster"


def test_declares_exactly_the_expected_children(deploy: Deploy) -> None:
    rendered = deploy(MySQLClusterArgs())
    children = {(r.typ, r.name) for r in rendered.resources if r.typ != COMPONENT}
    assert children == EXPECTED_CHILDREN
    assert [r.name for r in rendered.all(COMPONENT)] == ["mysql"]


def test_every_child_is_parented_to_the_component(deploy: Deploy) -> None:
    rendered = deploy(MySQLClusterArgs())
    for resource in rendered.resources:
        if resource.typ != COMPONENT:
            assert resource.options["parent"].endswith(f"{COMPONENT}::mysql"), resource.name


def test_every_kubernetes_object_has_an_explicit_name_and_namespace(deploy: Deploy) -> None:
    rendered = deploy(MySQLClusterArgs(namespace="databases"))
    for resource in rendered.resources:
        if not resource.typ.startswith("kubernetes:"):
            continue
        metadata = resource.inputs["metadata"]
        assert metadata.get("name"), f"{resource.typ} {resource.name} would be auto-named"
        if resource.typ != "kubernetes:core/v1:Namespace":
            assert metadata["namespace"] == "databases", resource.name
        assert metadata["labels"]["app.kubernetes.io/instance"] == "mysql"


def test_namespace_is_created_with_the_configured_name(deploy: Deploy) -> None:
    rendered = deploy(MySQLClusterArgs(namespace="databases"))
    namespace = rendered.one("kubernetes:core/v1:Namespace", "mysql-namespace").inputs
    assert namespace["metadata"]["name"] == "databases"
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/warn"] == "restricted"
    assert rendered.outputs["namespace"] == "databases"


def test_namespace_defaults_to_the_cluster_name(deploy: Deploy) -> None:
    rendered = deploy(MySQLClusterArgs(), names=("orders",))
    assert (
        rendered.one("kubernetes:core/v1:Namespace", "orders-namespace").inputs["metadata"]["name"]
        == "orders"
    )


def test_existing_namespace_is_not_created(deploy: Deploy) -> None:
    rendered = deploy(MySQLClusterArgs(namespace="shared", create_namespace=False))
    assert rendered.all("kubernetes:core/v1:Namespace") == []
    assert rendered.statefulset()["metadata"]["namespace"] == "shared"
    assert rendered.outputs["namespace"] == "shared"


@pytest.mark.parametrize(("when_deleted", "retained"), [("Retain", True), ("Delete", False)])
def test_namespace_and_secret_are_kept_with_retained_volumes(
    deploy: Deploy, when_deleted: str, retained: bool
) -> None:
    # Deleting a namespace deletes its volumes; retained data without its passwords cannot be redeployed.
    rendered = deploy(MySQLClusterArgs(pvc_retention=PvcRetention(when_deleted=when_deleted)))  # type: ignore[arg-type]
    assert (
        rendered.one("kubernetes:core/v1:Namespace", "mysql-namespace").options["retain_on_delete"]
        is retained
    )
    assert (
        rendered.one("kubernetes:core/v1:Secret", "mysql-credentials").options["retain_on_delete"] is retained
    )
    assert rendered.one("kubernetes:apps/v1:StatefulSet", "mysql").options["retain_on_delete"] is False


@pytest.mark.parametrize(
    ("when_deleted", "kind"),
    [("Retain", "kubernetes:core/v1:ConfigMapPatch"), ("Delete", "kubernetes:core/v1:ConfigMap")],
)
def test_state_config_map_is_adopted_on_a_redeploy_of_retained_data(
    deploy: Deploy, when_deleted: str, kind: str
) -> None:
    """With retained volumes the state ConfigMap is a server-side apply patch: a redeploy after `pulumi
    destroy` adopts the one that was kept (a plain create is refused: it exists) and never writes its data,
    which records the claim the cluster was first initialised on. With Delete it goes with the volumes."""
    rendered = deploy(MySQLClusterArgs(pvc_retention=PvcRetention(when_deleted=when_deleted)))  # type: ignore[arg-type]
    state = rendered.one(kind, "mysql-state")
    assert state.inputs["metadata"]["name"] == "mysql-state"
    assert "data" not in state.inputs
    assert state.options["ignore_changes"] == ["data"]
    assert state.options["retain_on_delete"] is (when_deleted == "Retain")
    assert state.name in {r.name for r in rendered.all(kind)}


@pytest.mark.parametrize(
    ("when_deleted", "other"),
    [("Retain", "kubernetes:core/v1:ConfigMap"), ("Delete", "kubernetes:core/v1:ConfigMapPatch")],
)
def test_switching_when_deleted_keeps_the_state_config_map(
    deploy: Deploy, when_deleted: str, other: str
) -> None:
    """Issue 15, defect 9: the state ConfigMap is a ConfigMap (Delete) or a ConfigMapPatch (Retain) under one
    name. Each aliases the other type, so that a switch is an update of the same resource: without it the
    engine created the new one and deleted the old, and with it the object and its record (seen on the local
    cluster: Delete -> Retain deleted it; Retain -> Delete failed to create it over the existing one)."""
    rendered = deploy(MySQLClusterArgs(pvc_retention=PvcRetention(when_deleted=when_deleted)))  # type: ignore[arg-type]
    (state,) = [r for r in rendered.resources if r.name == "mysql-state"]
    assert state.options["aliases"] == [(other, "")]


def test_outputs_name_the_services_and_in_cluster_endpoints(deploy: Deploy) -> None:
    out = deploy(MySQLClusterArgs(namespace="db", replicas=2, cluster_domain="k8s.example.org")).outputs
    assert out["statefulSetName"] == "mysql"
    assert (out["headlessService"], out["writeService"], out["readService"]) == (
        "mysql-headless",
        "mysql-primary",
        "mysql-read",
    )
    assert out["writeEndpoint"] == "mysql-primary.db.svc.k8s.example.org"
    assert out["readEndpoint"] == "mysql-read.db.svc.k8s.example.org"
    assert out["port"] == 3306
    assert out["podNames"] == ["mysql-0", "mysql-1"]
    assert out["podHosts"] == [
        "mysql-0.mysql-headless.db.svc.k8s.example.org",
        "mysql-1.mysql-headless.db.svc.k8s.example.org",
    ]
    assert (out["replicas"], out["maxLagSeconds"], out["secretName"]) == (2, 60, "mysql-credentials")
    assert out["configMapName"].startswith("mysql-config-")


def test_exactly_the_passwords_are_secret_outputs(deploy: Deploy) -> None:
    secret = deploy(MySQLClusterArgs()).secret_outputs
    assert secret == {"rootPassword", "replicationPassword", "backupPassword"}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (MySQLClusterArgs(), ("mysql", "9.7", "mysql:9.7", "mysql:9.7")),
        (MySQLClusterArgs(version="8.4"), ("mysql", "8.4", "mysql:8.4", "percona/percona-xtrabackup:8.4")),
        (MySQLClusterArgs(flavor="mariadb"), ("mariadb", "10.11", "mariadb:10.11", "mariadb:10.11")),
        (
            MySQLClusterArgs(
                flavor="mariadb", version="11.4", image="r.io/m:11.4.2", backup_image="r.io/b:1"
            ),
            ("mariadb", "11.4", "r.io/m:11.4.2", "r.io/b:1"),
        ),
    ],
)
def test_outputs_name_flavor_version_and_images(
    deploy: Deploy, args: MySQLClusterArgs, expected: tuple[str, str, str, str]
) -> None:
    out = deploy(args).outputs
    assert (out["flavor"], out["version"], out["image"], out["backupImage"]) == expected


@pulumi.runtime.test
def test_passwords_are_exported_as_secrets(mocks: RecordingMocks) -> pulumi.Output[Any]:
    cluster = MySQLCluster("mysql", MySQLClusterArgs())
    passwords = [cluster.root_password, cluster.replication_password, cluster.backup_password]
    assert all(p is not None for p in passwords)

    async def check() -> None:
        for password in passwords:
            assert password is not None
            assert await password.is_secret()
            value = await password.future()
            assert value  # never an empty password
            assert value.startswith("Pwmysql")  # the mocked RandomPassword result
        assert not await cluster.write_endpoint.is_secret()

    return pulumi.Output.from_input(check())


@pulumi.runtime.test
def test_endpoints_follow_the_service_names(mocks: RecordingMocks) -> pulumi.Output[Any]:
    cluster = MySQLCluster("orders", MySQLClusterArgs(namespace="shop"))

    def check(values: list[Any]) -> None:
        write, read = values
        assert write == "orders-primary.shop.svc.cluster.local"
        assert read == "orders-read.shop.svc.cluster.local"

    return pulumi.Output.all(cluster.write_endpoint, cluster.read_endpoint).apply(check)


def test_two_clusters_in_one_stack_do_not_collide(deploy: Deploy) -> None:
    rendered = deploy(MySQLClusterArgs(), names=("orders", "billing"))
    pulumi_names = Counter((r.typ, r.name) for r in rendered.resources)
    assert [key for key, count in pulumi_names.items() if count > 1] == []
    assert len(rendered.all("kubernetes:apps/v1:StatefulSet")) == 2
    assert rendered.outputs["orders.writeEndpoint"] != rendered.outputs["billing.writeEndpoint"]


def test_two_clusters_share_a_namespace_without_colliding(deploy: Deploy) -> None:
    rendered = deploy(
        MySQLClusterArgs(namespace="shared", create_namespace=False), names=("orders", "billing")
    )
    kube_names = Counter(
        (r.typ, r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"])
        for r in rendered.resources
        if r.typ.startswith("kubernetes:")
    )
    assert [key for key, count in kube_names.items() if count > 1] == []
    # Selectors are per cluster: neither cluster's Services can pick the other's pods.
    orders = rendered.service("orders-read")["spec"]["selector"]
    billing = rendered.service("billing-read")["spec"]["selector"]
    assert orders["app.kubernetes.io/instance"] == "orders"
    assert billing["app.kubernetes.io/instance"] == "billing"


def test_stack_program_reads_config_and_exports_outputs(deploy: Deploy) -> None:
    rendered = deploy(config={"replicas": "4", "flavor": "mariadb", "namespace": "from-config"})
    assert rendered.statefulset()["spec"]["replicas"] == 4
    assert rendered.outputs["flavor"] == "mariadb"
    assert rendered.outputs["namespace"] == "from-config"


@pulumi.runtime.test
def test_stack_program_exports_every_component_output(mocks: RecordingMocks) -> pulumi.Output[Any]:
    runpy.run_path(str(Path(__file__).resolve().parents[2] / "__main__.py"))
    stack = pulumi.runtime.get_root_resource()
    assert stack is not None
    exported: dict[str, Any] = stack.outputs  # type: ignore[attr-defined]
    expected = {
        "namespace", "statefulSetName", "headlessService", "writeService", "readService", "writeEndpoint",
        "readEndpoint", "port", "podNames", "podHosts", "replicas", "maxLagSeconds", "flavor", "version",
        "image", "backupImage", "configMapName", "secretName", "rootPassword", "replicationPassword",
        "backupPassword",
    }  # fmt: skip
    assert set(exported) == expected
    return pulumi.Output.from_input(exported["writeEndpoint"]).apply(
        lambda endpoint: endpoint == "mysql-primary.mysql.svc.cluster.local" or pytest.fail(endpoint)
    )
