"""The redeploy guard (issue 7, defect 7): a first deploy over data a destroy kept is refused with the fix.

The decision runs here on fake views of a namespace; the e2e tier (test_redeploy_retained.py) runs it against
the real cluster through the real engine.
"""

from __future__ import annotations

import base64
from dataclasses import replace
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from mysql_cluster import (
    MySQLCluster,
    MySQLClusterArgs,
    PvcRetention,
    cluster_facts,
    cluster_view,
    redeploy_guard,
)
from mysql_cluster.cluster_view import ClusterView, KubeSettings
from mysql_cluster.redeploy_guard import Intent, RedeployGuardProvider, RedeployRefused, refusal

from .conftest import Deploy, RecordingMocks, RecordingMonitor
from .fake_kube import FakeApiServer

pytestmark = pytest.mark.unit

GUARD = "pulumi-python:dynamic/mysql-cluster:RedeployGuard"
CLAIMS = ("data-mysql-0", "data-mysql-1")
DESTROYED = ClusterView(state_config_map=True, secret=True, claims=CLAIMS)  # what a destroy keeps
RUNNING = ClusterView(statefulset=True, state_config_map=True, secret=True, claims=CLAIMS)
PLAIN_UP = Intent("mysql", "shop", create_namespace=True, existing_secret=None, when_deleted="Retain")
DOCUMENTED_REDEPLOY = Intent(
    "mysql", "shop", create_namespace=False, existing_secret="mysql-credentials", when_deleted="Retain"
)


@pytest.mark.parametrize(
    "intent",
    [
        PLAIN_UP,
        Intent("mysql", "shop", create_namespace=False, existing_secret=None, when_deleted="Delete"),
        DOCUMENTED_REDEPLOY,
    ],
)
@pytest.mark.parametrize("view", [ClusterView(), RUNNING], ids=["fresh-or-empty", "running-cluster"])
def test_a_namespace_without_kept_data_is_not_refused(intent: Intent, view: ClusterView) -> None:
    assert refusal(intent, view) is None


def test_plain_up_after_destroy_is_refused_naming_what_was_kept_and_the_fix() -> None:
    message = refusal(PLAIN_UP, DESTROYED)
    assert message is not None
    assert message.startswith('namespace "shop" holds the data of cluster "mysql" kept by an earlier')
    for found in ("the state ConfigMap mysql-state", "the Secret mysql-credentials",
                  "2 volumes (data-mysql-0, data-mysql-1)", "create the namespace, which exists",
                  "generate new passwords", "nothing was changed"):  # fmt: skip
        assert found in message, found
    commands = [line.strip() for line in message.splitlines() if line.startswith("    ")]
    assert commands == [
        "pulumi config set createNamespace false",
        "pulumi config set --plaintext existingSecret mysql-credentials",
        "pulumi up",
    ]
    assert message.splitlines()[-1] == (
        "To start empty instead (the kept data is lost): kubectl -n shop delete pvc/data-mysql-0 "
        "pvc/data-mysql-1 secret/mysql-credentials configmap/mysql-state"
    )


def test_existing_namespace_with_generated_passwords_needs_only_the_secret() -> None:
    intent = Intent("mysql", "shop", create_namespace=False, existing_secret=None, when_deleted="Retain")
    message = refusal(intent, DESTROYED)
    assert message is not None
    assert "createNamespace" not in message
    assert "    pulumi config set --plaintext existingSecret mysql-credentials" in message.splitlines()


def test_documented_redeploy_and_a_secret_of_the_users_are_accepted() -> None:
    assert refusal(DOCUMENTED_REDEPLOY, DESTROYED) is None
    own = Intent("mysql", "shop", create_namespace=False, existing_secret="mine", when_deleted="Retain")
    assert refusal(own, DESTROYED) is None


def test_redeploy_with_when_deleted_delete_would_collide_with_the_kept_state() -> None:
    intent = Intent(
        "mysql", "shop", create_namespace=False, existing_secret="mysql-credentials", when_deleted="Delete"
    )
    message = refusal(intent, DESTROYED)
    assert message is not None
    assert "create a ConfigMap mysql-state over the kept one" in message
    assert "    pulumi config set --path pvcRetention.whenDeleted Retain" in message.splitlines()


def test_volumes_without_their_secret_ask_for_the_passwords() -> None:
    message = refusal(PLAIN_UP, ClusterView(claims=("data-mysql-0",)))
    assert message is not None
    assert "1 volume (data-mysql-0)" in message
    assert "The Secret mysql-credentials that held the kept data's passwords is gone" in message
    assert "existingSecret mysql-credentials" not in message
    assert message.endswith("kubectl -n shop delete pvc/data-mysql-0")


def test_data_claims_are_this_clusters_by_ordinal() -> None:
    claims = ["data-mysql-10", "data-mysql-2", "data-mysql-0", "data-mysqlx-0", "data-mysql-01",
              "data-mysql-backup-0", "data-orders-0", "other"]  # fmt: skip
    assert cluster_view.data_claims("mysql", claims) == ("data-mysql-0", "data-mysql-2", "data-mysql-10")


KEPT = {
    "/api/v1/namespaces/shop/persistentvolumeclaims": {"items": [{"metadata": {"name": n}} for n in CLAIMS]},
    "/api/v1/namespaces/shop/secrets/mysql-credentials": {"metadata": {"name": "mysql-credentials"}},
    "/api/v1/namespaces/shop/configmaps/mysql-state": {"metadata": {"name": "mysql-state"}},
}


def test_cluster_view_reads_metadata_only_through_the_configured_context() -> None:
    api = FakeApiServer(KEPT)
    try:
        settings = KubeSettings(kubeconfig=api.kubeconfig(), context="e2e")
        assert cluster_view.read(settings, "mysql", "shop") == DESTROYED
    finally:
        api.close()
    assert {r["path"] for r in api.requests} == {
        *KEPT, "/apis/apps/v1/namespaces/shop/statefulsets/mysql"
    }  # fmt: skip
    for request in api.requests:
        assert "as=PartialObjectMetadata" in request["accept"], request  # never a Secret's data
        assert request["authorization"] == "Bearer t0ken"


def test_an_empty_namespace_answers_items_null() -> None:
    api = FakeApiServer({"/api/v1/namespaces/shop/persistentvolumeclaims": {"items": None}})
    try:
        view = cluster_view.read(KubeSettings(kubeconfig=api.kubeconfig(), context="e2e"), "mysql", "shop")
    finally:
        api.close()
    assert view == ClusterView()


def test_kubernetes_cluster_setting_replaces_the_contexts_cluster(tmp_path: Any) -> None:
    api = FakeApiServer({})
    try:
        path = tmp_path / "config"
        path.write_text(api.kubeconfig())
        # The current context points nowhere; kubernetes:cluster moves it to the server that answers.
        settings = KubeSettings(kubeconfig=str(path), cluster="local")
        assert cluster_view.read(settings, "mysql", "shop") == ClusterView()
    finally:
        api.close()


def test_objects_being_deleted_are_not_kept_data() -> None:
    going = {"deletionTimestamp": "2026-11-29T22:00:00Z"}
    api = FakeApiServer({
        "/api/v1/namespaces/shop/persistentvolumeclaims": {"items": [
            {"metadata": {"name": "data-mysql-0", **going}}, {"metadata": {"name": "data-mysql-1"}},
        ]},
        "/api/v1/namespaces/shop/configmaps/mysql-state": {"metadata": {"name": "mysql-state", **going}},
    })  # fmt: skip
    try:
        view = cluster_view.read(KubeSettings(kubeconfig=api.kubeconfig(), context="e2e"), "mysql", "shop")
    finally:
        api.close()
    assert view == ClusterView(claims=("data-mysql-1",))


def test_cluster_view_fails_on_a_refused_read() -> None:
    api = FakeApiServer({}, status=403)
    try:
        with pytest.raises(RuntimeError, match="cannot read /api/v1/namespaces/shop/persistentvolumeclaims"):
            cluster_view.read(KubeSettings(kubeconfig=api.kubeconfig(), context="e2e"), "mysql", "shop")
    finally:
        api.close()


def test_kube_settings_follow_the_stack_config() -> None:
    settings = KubeSettings.from_config(
        {"kubernetes:kubeconfig": "/k/config", "kubernetes:context": "", "kubernetes:cluster": "c"}
    )
    assert settings == KubeSettings(kubeconfig="/k/config", context=None, cluster="c")


def test_a_kubeconfig_document_is_not_taken_for_a_path(tmp_path: Any, monkeypatch: Any) -> None:
    path = tmp_path / "config"
    path.write_text("apiVersion: v1\n")
    assert cluster_view._kubeconfig_paths(str(path)) == [str(path)]
    assert cluster_view._kubeconfig_paths("apiVersion: v1\nkind: Config\n") == []
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'missing'}:{path}")
    assert cluster_view._kubeconfig_paths(None) == [str(path)]


def test_provider_refuses_or_creates_from_what_it_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    views = {"shop": DESTROYED, "fresh": ClusterView()}
    monkeypatch.setattr(cluster_view, "read", lambda _settings, _cluster, namespace: views[namespace])
    provider = RedeployGuardProvider()
    with pytest.raises(RedeployRefused, match='namespace "shop" holds the data of cluster "mysql"'):
        provider.create(PLAIN_UP.inputs())
    with pytest.raises(RuntimeError, match=r'the redeploy guard cannot read namespace "gone".*KeyError'):
        provider.create({**PLAIN_UP.inputs(), "namespace": "gone"})
    fresh = Intent("mysql", "fresh", create_namespace=True, existing_secret=None, when_deleted="Retain")
    created = provider.create(fresh.inputs())
    assert created.id == "fresh/mysql"
    assert created.outs == fresh.inputs()


def test_only_another_namespace_checks_again() -> None:
    provider = RedeployGuardProvider()
    olds = PLAIN_UP.inputs()
    moved = provider.diff("shop/mysql", olds, {**olds, "namespace": "elsewhere"})
    assert moved.changes
    assert moved.replaces == ["namespace"]
    switched = provider.diff("shop/mysql", olds, {**olds, "createNamespace": False})
    assert switched.changes
    assert switched.replaces == []
    assert not provider.diff("shop/mysql", olds, dict(olds)).changes


def test_guard_is_declared_first_and_every_other_child_depends_on_it(deploy: Deploy) -> None:
    args = MySQLClusterArgs(namespace="shop")
    rendered = deploy(args)
    guard = rendered.one(GUARD, "mysql-redeploy-guard")
    expected = replace(PLAIN_UP, facts=cluster_facts.configured(args)).inputs()
    assert {k: v for k, v in guard.inputs.items() if k != "__provider"} == expected
    assert rendered.resources[1] is guard  # right after the component
    for resource in rendered.resources:
        if resource.typ.startswith(("kubernetes:", "random:")) and resource.read_id is None:
            assert any(dep.endswith("::mysql-redeploy-guard") for dep in resource.options["dependencies"]), (
                resource.name
            )


def test_guard_state_holds_no_secret_and_no_code(deploy: Deploy) -> None:
    rendered = deploy(MySQLClusterArgs(existing_secret="mysql-credentials", create_namespace=False,
                                       pvc_retention=PvcRetention(when_deleted="Retain")))  # fmt: skip
    guard = rendered.one(GUARD, "mysql-redeploy-guard")
    provider = guard.inputs["__provider"]
    assert isinstance(provider, str), "the serialized provider was made a secret"
    pickled = base64.b64decode(provider)
    # By reference: the module and class names, not their code (small, and the current code always runs).
    assert b"mysql_cluster.redeploy_guard" in pickled
    assert b"RedeployGuardProvider" in pickled
    assert len(pickled) < 1000, len(pickled)
    assert guard.inputs["existingSecret"] == "mysql-credentials"


def test_no_guard_with_a_kubernetes_provider_of_the_callers() -> None:
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="mysql-cluster", stack="unit", preview=False,
                             monitor=RecordingMonitor(mocks))  # fmt: skip

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        provider = k8s.Provider("elsewhere", kubeconfig="apiVersion: v1")
        cluster = MySQLCluster("mysql", MySQLClusterArgs(), pulumi.ResourceOptions(providers=[provider]))
        return cluster.namespace

    program()
    assert mocks.resources, "nothing was declared"
    assert not [r for r in mocks.resources if r.typ == GUARD]
    assert redeploy_guard.RESOURCE_NAME == "RedeployGuard"
