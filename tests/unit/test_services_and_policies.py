"""Services, RBAC, disruption budget and network policy."""

from __future__ import annotations

from typing import Any

import pytest

from mysql_cluster import MySQLClusterArgs, NetworkPolicyArgs

from .conftest import Deploy, Rendered

pytestmark = pytest.mark.unit

SELECTOR = {"app.kubernetes.io/name": "mysql-cluster", "app.kubernetes.io/instance": "mysql"}
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


CLONE_PORT_FLAVORS = [("mariadb", "10.11", True), ("mysql", "8.4", True), ("mysql", "9.7", True)]
"""(flavor, version, whether its pods listen on the clone port): every flavor's sidecar does (MySQL 9.7's
answers whether the donor is fit before the CLONE plugin copies it over the database port)."""


@pytest.mark.parametrize(("flavor", "version", "clone_port"), CLONE_PORT_FLAVORS)
def test_headless_service_gives_every_pod_stable_dns(
    deploy: Deploy, flavor: str, version: str, clone_port: bool
) -> None:
    headless = deploy(MySQLClusterArgs(flavor=flavor, version=version)).service("mysql-headless")
    assert headless["metadata"]["name"] == "mysql-headless"
    spec = headless["spec"]
    assert spec["clusterIP"] == "None"
    assert spec["publishNotReadyAddresses"] is True
    assert spec["selector"] == SELECTOR
    ports = {p["name"]: (p["port"], p["targetPort"]) for p in spec["ports"]}
    expected = {"mysql": (3306, "mysql"), "clone": (3307, "clone")}
    assert ports == (expected if clone_port else {"mysql": (3306, "mysql")})


def test_write_service_selects_only_the_primary(deploy: Deploy) -> None:
    write = deploy(MySQLClusterArgs(replicas=5)).service("mysql-primary")["spec"]
    assert write["selector"] == {**SELECTOR, "statefulset.kubernetes.io/pod-name": "mysql-0"}
    assert [(p["name"], p["port"], p["targetPort"]) for p in write["ports"]] == [("mysql", 3306, "mysql")]
    assert "clusterIP" not in write


def test_read_service_selects_replicas(deploy: Deploy) -> None:
    read = deploy(MySQLClusterArgs()).service("mysql-read")["spec"]
    assert read["selector"] == {**SELECTOR, "mysql-cluster.io/role": "replica"}
    assert [p["port"] for p in read["ports"]] == [3306]


def test_read_service_selects_every_ready_pod_when_the_primary_serves_reads(deploy: Deploy) -> None:
    read = deploy(MySQLClusterArgs(primary_serves_reads=True)).service("mysql-read")["spec"]
    assert read["selector"] == SELECTOR


@pytest.mark.parametrize("replicas", [1, 3, 5])
def test_pods_may_label_exactly_the_statefulsets_pods(deploy: Deploy, replicas: int) -> None:
    rendered = deploy(MySQLClusterArgs(replicas=replicas))
    role = rendered.one("kubernetes:rbac.authorization.k8s.io/v1:Role", "mysql-label-pod").inputs
    rule, state, statefulset, claims = role["rules"]
    assert state == {
        "apiGroups": [""],
        "resources": ["configmaps"],
        "verbs": ["get", "patch"],
        "resourceNames": ["mysql-state"],
    }
    assert statefulset == {
        "apiGroups": ["apps"],
        "resources": ["statefulsets"],
        "verbs": ["get"],
        "resourceNames": ["mysql"],
    }
    assert claims == {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": ["get"]}
    assert rule["apiGroups"] == [""]
    assert rule["resources"] == ["pods"]
    assert sorted(rule["verbs"]) == ["get", "patch"]
    assert rule["resourceNames"] == [f"mysql-{i}" for i in range(replicas)]
    binding = rendered.one("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "mysql-label-pod").inputs
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "mysql-label-pod",
    }
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "mysql", "namespace": "mysql"}]
    account = rendered.one("kubernetes:core/v1:ServiceAccount", "mysql").inputs
    assert account["automountServiceAccountToken"] is False


def test_disruption_budget_allows_one_pod_down(deploy: Deploy) -> None:
    pdb = deploy(MySQLClusterArgs()).one("kubernetes:policy/v1:PodDisruptionBudget", "mysql").inputs
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    assert "minAvailable" not in pdb["spec"]
    assert pdb["spec"]["selector"]["matchLabels"] == SELECTOR


def ingress(rendered: Rendered) -> dict[str, Any]:
    policy = rendered.one(NETWORK_POLICY, "mysql").inputs["spec"]
    assert policy["podSelector"]["matchLabels"] == SELECTOR
    assert policy["policyTypes"] == ["Ingress"]  # egress unrestricted
    rules = {rule["ports"][0]["port"]: rule.get("from") for rule in policy["ingress"]}
    assert set(rules) in ({"mysql", "clone"}, {"mysql"})
    if "clone" in rules:
        # The clone port streams full backups (to peers with the clone credential): the cluster's own pods.
        assert rules["clone"] == [{"podSelector": {"matchLabels": SELECTOR}}]
    return rules


@pytest.mark.parametrize(("flavor", "version"), [("mariadb", "10.11"), ("mysql", "8.4"), ("mysql", "9.7")])
def test_network_policy_admits_the_clone_port_from_the_clusters_own_pods(
    deploy: Deploy, flavor: str, version: str
) -> None:
    assert "clone" in ingress(deploy(MySQLClusterArgs(flavor=flavor, version=version)))


def test_network_policy_admits_the_database_port_from_the_namespace_by_default(deploy: Deploy) -> None:
    assert ingress(deploy(MySQLClusterArgs()))["mysql"] == [{"podSelector": {}}]


def test_network_policy_can_admit_the_database_port_from_anywhere(deploy: Deploy) -> None:
    rules = ingress(deploy(MySQLClusterArgs(network_policy=NetworkPolicyArgs(allow_database_from="any"))))
    assert rules["mysql"] is None


def test_network_policy_can_admit_the_database_port_from_listed_namespaces(deploy: Deploy) -> None:
    policy = NetworkPolicyArgs(allow_database_from=("apps", "reports"))
    rules = ingress(deploy(MySQLClusterArgs(network_policy=policy)))
    assert rules["mysql"] == [
        {"podSelector": {"matchLabels": SELECTOR}},
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "apps"}}},
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "reports"}}},
    ]


def test_network_policy_can_be_disabled(deploy: Deploy) -> None:
    rendered = deploy(MySQLClusterArgs(network_policy=NetworkPolicyArgs(enabled=False)))
    assert rendered.all(NETWORK_POLICY) == []
    assert rendered.all("kubernetes:apps/v1:StatefulSet")
