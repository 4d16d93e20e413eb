"""The StatefulSet and its pod template, checked against the pod contract (scripts/README.md)."""

from __future__ import annotations

from typing import Any

import pytest

from mysql_cluster import ContainerResources, MySQLClusterArgs, PvcRetention, Resources
from mysql_cluster.configmap import checksum

from .conftest import Deploy

pytestmark = pytest.mark.unit

CONTRACT_ENV = {
    "POD_NAME",
    "POD_NAMESPACE",
    "SERVER_ID_OFFSET",
    "CLUSTER_CONFIG_DIR",
    "DATA_ROOT",
    "SERVER_CONF_DIR",
    "RUN_DIR",
    "MYSQL_PORT",
    "CLONE_PORT",
    "POD_HOST_PATTERN",
    "MAX_LAG_SECONDS",
    "PRIMARY_SERVES_READS",
    "REPLICATION_USER",
    "BACKUP_USER",
}


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {v["name"]: v.get("value", v.get("valueFrom")) for v in container["env"]}


def mounts_of(container: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    return {m["mountPath"]: (m["name"], bool(m.get("readOnly"))) for m in container["volumeMounts"]}


def test_statefulset_is_explicitly_named_ordered_and_served_by_the_headless_service(deploy: Deploy) -> None:
    sts = deploy(MySQLClusterArgs(replicas=5)).statefulset()
    assert sts["metadata"]["name"] == "mysql"
    spec = sts["spec"]
    assert spec["serviceName"] == "mysql-headless"
    # Parallel: a primary re-seeding from its replicas must find them running (scripts/bootstrap.sh).
    assert spec["podManagementPolicy"] == "Parallel"
    assert spec["replicas"] == 5
    assert spec["updateStrategy"] == {"type": "RollingUpdate"}
    selector = spec["selector"]["matchLabels"]
    assert selector == {"app.kubernetes.io/name": "mysql-cluster", "app.kubernetes.io/instance": "mysql"}
    labels = spec["template"]["metadata"]["labels"]
    assert selector.items() <= labels.items()
    assert "mysql-cluster.io/role" not in labels  # set by the pod itself, never by the template


def test_pulumi_waits_for_the_rollout_with_the_configured_timeout(deploy: Deploy) -> None:
    rendered = deploy(MySQLClusterArgs(deploy_timeout_seconds=900))
    sts = rendered.one("kubernetes:apps/v1:StatefulSet", "mysql")
    assert sts.inputs["metadata"]["annotations"]["pulumi.com/timeoutSeconds"] == "900"
    assert sts.options["custom_timeouts"] == {"create": "900s", "update": "900s"}


def test_volume_claim_templates_never_replace_the_statefulset(deploy: Deploy) -> None:
    sts = deploy(MySQLClusterArgs()).one("kubernetes:apps/v1:StatefulSet", "mysql")
    assert sts.options["ignore_changes"] == ["spec.volumeClaimTemplates"]


def test_pods_start_after_their_rbac_and_network_policy(deploy: Deploy) -> None:
    dependencies = (
        deploy(MySQLClusterArgs()).one("kubernetes:apps/v1:StatefulSet", "mysql").options["dependencies"]
    )
    assert any(d.endswith("RoleBinding::mysql-label-pod") for d in dependencies)
    assert any(d.endswith("Role::mysql-label-pod") for d in dependencies)  # resourceNames grow first
    assert any(d.endswith("NetworkPolicy::mysql") for d in dependencies)


@pytest.mark.parametrize(("size", "storage_class"), [("10Gi", None), ("500Gi", "fast-ssd"), ("2Gi", "")])
def test_volume_claim_template(deploy: Deploy, size: str, storage_class: str | None) -> None:
    sts = deploy(MySQLClusterArgs(storage_size=size, storage_class=storage_class)).statefulset()
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "data"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert claim["spec"]["resources"]["requests"] == {"storage": size}
    if storage_class is None:
        assert "storageClassName" not in claim["spec"]  # the cluster's default class
    else:
        assert claim["spec"]["storageClassName"] == storage_class


@pytest.mark.parametrize(
    "retention", [PvcRetention(), PvcRetention("Delete", "Retain"), PvcRetention("Retain", "Retain")]
)
def test_pvc_retention_policy(deploy: Deploy, retention: PvcRetention) -> None:
    sts = deploy(MySQLClusterArgs(pvc_retention=retention)).statefulset()
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"] == {
        "whenDeleted": retention.when_deleted,
        "whenScaled": retention.when_scaled,
    }


def test_containers_run_the_programs_own_scripts_in_contract_order(deploy: Deploy) -> None:
    spec = deploy(MySQLClusterArgs()).pod_spec()
    commands = {c["name"]: c["command"] for c in spec["initContainers"] + spec["containers"]}
    assert [c["name"] for c in spec["initContainers"]] == ["init-config", "label-pod", "clone"]
    assert [c["name"] for c in spec["containers"]] == ["mysql", "backup"]
    assert commands == {
        "init-config": ["bash", "/etc/mysql-cluster/init-config.sh"],
        "label-pod": ["bash", "/etc/mysql-cluster/label-pod.sh"],
        "clone": ["bash", "/etc/mysql-cluster/clone.sh"],
        "mysql": ["bash", "/etc/mysql-cluster/server.sh"],
        "backup": ["bash", "/etc/mysql-cluster/sidecar.sh"],
    }
    assert all("args" not in c for c in spec["initContainers"] + spec["containers"])


@pytest.mark.parametrize(
    ("args", "server", "backup"),
    [
        (MySQLClusterArgs(version="8.4"), "mysql:8.4", "percona/percona-xtrabackup:8.4"),
        (MySQLClusterArgs(), "mysql:9.7", "mysql:9.7"),
        (MySQLClusterArgs(flavor="mariadb", version="11.8"), "mariadb:11.8", "mariadb:11.8"),
        (MySQLClusterArgs(flavor="mariadb", version="11.4"), "mariadb:11.4", "mariadb:11.4"),
        (
            MySQLClusterArgs(version="8.4", image="r.example/my:8.4.2"),
            "r.example/my:8.4.2",
            "percona/percona-xtrabackup:8.4",
        ),
        (
            MySQLClusterArgs(version="8.4", backup_image="r.example/xb:8.4.0"),
            "mysql:8.4",
            "r.example/xb:8.4.0",
        ),
    ],
)
def test_images_come_from_the_flavor_unless_overridden(
    deploy: Deploy, args: MySQLClusterArgs, server: str, backup: str
) -> None:
    rendered = deploy(args)
    images = {name: rendered.container(name)["image"] for name in ("init-config", "mysql")}
    assert images == {"init-config": server, "mysql": server}
    backups = {name: rendered.container(name)["image"] for name in ("label-pod", "clone", "backup")}
    assert backups == {"label-pod": backup, "clone": backup, "backup": backup}


@pytest.mark.parametrize("policy", ["IfNotPresent", "Never", "Always"])
def test_image_pull_policy_applies_to_every_container(deploy: Deploy, policy: str) -> None:
    spec = deploy(MySQLClusterArgs(image_pull_policy=policy)).pod_spec()  # type: ignore[arg-type]
    assert {c["imagePullPolicy"] for c in spec["initContainers"] + spec["containers"]} == {policy}


@pytest.mark.parametrize(("flavor", "version"), [("mariadb", "10.11"), ("mysql", "8.4"), ("mysql", "9.7")])
def test_named_container_ports(deploy: Deploy, flavor: str, version: str) -> None:
    rendered = deploy(MySQLClusterArgs(flavor=flavor, version=version))
    assert rendered.container("mysql")["ports"] == [{"name": "mysql", "containerPort": 3306}]
    assert rendered.container("backup")["ports"] == [{"name": "clone", "containerPort": 3307}]


@pytest.mark.parametrize("container", ["init-config", "label-pod", "clone", "mysql", "backup"])
def test_environment_follows_the_contract(deploy: Deploy, container: str) -> None:
    rendered = deploy(
        MySQLClusterArgs(namespace="db", server_id_offset=500, max_lag_seconds=30, primary_serves_reads=True)
    )
    env = env_of(rendered.container(container))
    assert set(env) >= CONTRACT_ENV
    assert env["POD_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["POD_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert env["SERVER_ID_OFFSET"] == "500"
    assert env["MAX_LAG_SECONDS"] == "30"
    assert env["PRIMARY_SERVES_READS"] == "true"
    assert (env["CLUSTER_CONFIG_DIR"], env["DATA_ROOT"]) == ("/etc/mysql-cluster", "/var/lib/mysql")
    assert (env["SERVER_CONF_DIR"], env["RUN_DIR"]) == ("/etc/mysql/conf.d", "/run/mysqld")
    assert (env["MYSQL_PORT"], env["CLONE_PORT"]) == ("3306", "3307")
    assert env["POD_HOST_PATTERN"] == "mysql-%d.mysql-headless.db.svc.cluster.local"
    assert (env["REPLICATION_USER"], env["BACKUP_USER"]) == ("replicator", "backup")
    assert env["DATA_CLAIM_TEMPLATE"] == "data"  # the claim template's name: PVCs are data-<pod>
    assert "PRIMARY_PORT" not in env  # test-only overrides stay unset in pods
    assert "PEER_CLONE_PORT" not in env


def test_probes_run_the_probe_script_on_the_server_container(deploy: Deploy) -> None:
    rendered = deploy(MySQLClusterArgs())
    mysql = rendered.container("mysql")
    for kind in ("startup", "liveness", "readiness"):
        probe = mysql[f"{kind}Probe"]
        assert probe["exec"]["command"] == ["bash", "/etc/mysql-cluster/probe.sh", kind]
        assert probe["timeoutSeconds"] >= 1
    startup = mysql["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 300  # initialisation, crash recovery
    assert mysql["livenessProbe"]["periodSeconds"] * mysql["livenessProbe"]["failureThreshold"] >= 60
    for other in ("init-config", "label-pod", "clone", "backup"):
        assert not {"startupProbe", "livenessProbe", "readinessProbe"} & rendered.container(other).keys()


def test_probes_notice_a_ready_server_within_seconds(deploy: Deploy) -> None:
    """A started server is seen within 2 s (the primary's readiness gates every replica's clone; issue 10),
    and a replica that stops replicating or lags still leaves the read Service within about 10 s."""
    mysql = deploy(MySQLClusterArgs()).container("mysql")
    startup, readiness = mysql["startupProbe"], mysql["readinessProbe"]
    assert startup["periodSeconds"] <= 2
    assert readiness["periodSeconds"] <= 2
    assert readiness["periodSeconds"] * readiness["failureThreshold"] <= 15
    assert "initialDelaySeconds" not in startup
    assert "initialDelaySeconds" not in readiness


def test_volumes_and_mounts(deploy: Deploy) -> None:
    rendered = deploy(MySQLClusterArgs())
    volumes = {v["name"]: v for v in rendered.pod_spec()["volumes"]}
    assert volumes["cluster-config"]["configMap"]["name"] == rendered.outputs["configMapName"]
    for scratch in ("server-conf", "run", "tmp"):
        assert volumes[scratch] == {"name": scratch, "emptyDir": {}}
    mysql = mounts_of(rendered.container("mysql"))
    assert mysql["/var/lib/mysql"] == ("data", False)
    assert mysql["/etc/mysql-cluster"] == ("cluster-config", True)
    assert mysql["/etc/mysql/conf.d"] == ("server-conf", True)
    assert mysql["/run/mysqld"] == ("run", False)
    assert mysql["/tmp"] == ("tmp", False)
    assert mounts_of(rendered.container("init-config"))["/etc/mysql/conf.d"] == ("server-conf", False)
    assert mounts_of(rendered.container("backup"))["/etc/mysql/conf.d"] == ("server-conf", True)
    for name in ("init-config", "clone", "backup"):
        assert mounts_of(rendered.container(name))["/var/lib/mysql"] == ("data", False)
    for name in ("init-config", "label-pod", "clone", "backup"):
        assert mounts_of(rendered.container(name))["/run/mysqld"] == ("run", False)


def test_only_label_pod_gets_an_api_token_and_it_gets_no_data(deploy: Deploy) -> None:
    rendered = deploy(MySQLClusterArgs())
    spec = rendered.pod_spec()
    assert spec["automountServiceAccountToken"] is False
    assert spec["serviceAccountName"] == "mysql"
    token_path = "/var/run/secrets/kubernetes.io/serviceaccount"
    for name in ("init-config", "clone", "mysql", "backup"):
        assert token_path not in mounts_of(rendered.container(name))
    label_pod = mounts_of(rendered.container("label-pod"))
    assert label_pod[token_path] == ("kube-api-access", True)
    assert "/var/lib/mysql" not in label_pod
    projected = next(v for v in spec["volumes"] if v["name"] == "kube-api-access")["projected"]["sources"]
    assert projected[0]["serviceAccountToken"]["path"] == "token"
    assert projected[1]["configMap"]["name"] == "kube-root-ca.crt"


@pytest.mark.parametrize(
    ("args", "seeded_by_plugin"),
    [
        (MySQLClusterArgs(), True),
        (MySQLClusterArgs(version="8.4"), False),
        (MySQLClusterArgs(flavor="mariadb"), False),
    ],
)
def test_clone_container_logs_in_only_when_the_clone_plugin_seeds(
    deploy: Deploy, args: MySQLClusterArgs, seeded_by_plugin: bool
) -> None:
    """The CLONE plugin's recipient logs in to the donor (backup account) and runs a private server with the
    pod's my.cnf (and its root password); a streamed backup needs the backup password only as its credential
    on the clone port (scripts/transport.sh), and no server configuration."""
    clone = deploy(args).container("clone")
    env, mounts = env_of(clone), mounts_of(clone)
    secrets = "/var/run/secrets/mysql-cluster"
    assert f"{secrets}/backup-password" in mounts
    assert (f"{secrets}/root-password" in mounts) is seeded_by_plugin
    assert (mounts.get("/etc/mysql/conf.d") == ("server-conf", True)) is seeded_by_plugin
    assert "PEER_MYSQL_PORT" not in env  # test-only override


def test_service_links_cannot_shadow_the_contract_environment(deploy: Deploy) -> None:
    assert deploy(MySQLClusterArgs()).pod_spec()["enableServiceLinks"] is False


@pytest.mark.parametrize(("flavor", "uid"), [("mysql", 999), ("mariadb", 999)])
def test_pod_meets_the_restricted_pod_security_standard(deploy: Deploy, flavor: str, uid: int) -> None:
    spec = deploy(MySQLClusterArgs(flavor=flavor)).pod_spec()
    pod = spec["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert (pod["runAsUser"], pod["runAsGroup"], pod["fsGroup"]) == (uid, uid, uid)
    assert pod["fsGroupChangePolicy"] == "OnRootMismatch"
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in spec["initContainers"] + spec["containers"]:
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False, container["name"]
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert context["readOnlyRootFilesystem"] is True
    allowed = {"configMap", "emptyDir", "projected", "persistentVolumeClaim", "secret", "downwardAPI"}
    for volume in spec["volumes"]:
        assert set(volume) - {"name"} <= allowed, volume["name"]


def test_resources_of_server_and_sidecar(deploy: Deploy) -> None:
    server = ContainerResources({"cpu": "2", "memory": "8Gi"}, {"memory": "8Gi"})
    sidecar = ContainerResources({"cpu": "50m", "memory": "64Mi"}, {"memory": "256Mi"})
    rendered = deploy(MySQLClusterArgs(resources=Resources(server=server, sidecar=sidecar)))
    expected = {
        "mysql": server,
        "clone": server,
        "backup": sidecar,
        "init-config": sidecar,
        "label-pod": sidecar,
    }
    for name, resources in expected.items():
        assert rendered.container(name)["resources"] == {
            "requests": dict(resources.requests),
            "limits": dict(resources.limits),
        }, name


def test_termination_grace_allows_a_clean_shutdown(deploy: Deploy) -> None:
    assert deploy(MySQLClusterArgs()).pod_spec()["terminationGracePeriodSeconds"] >= 120


def test_soft_anti_affinity_by_default(deploy: Deploy) -> None:
    affinity = deploy(MySQLClusterArgs()).pod_spec()["affinity"]["podAntiAffinity"]
    assert "requiredDuringSchedulingIgnoredDuringExecution" not in affinity
    (preferred,) = affinity["preferredDuringSchedulingIgnoredDuringExecution"]
    assert preferred["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert (
        preferred["podAffinityTerm"]["labelSelector"]["matchLabels"]["app.kubernetes.io/instance"] == "mysql"
    )


def test_hard_anti_affinity(deploy: Deploy) -> None:
    affinity = deploy(MySQLClusterArgs(anti_affinity="hard")).pod_spec()["affinity"]["podAntiAffinity"]
    assert "preferredDuringSchedulingIgnoredDuringExecution" not in affinity
    (required,) = affinity["requiredDuringSchedulingIgnoredDuringExecution"]
    assert required["topologyKey"] == "kubernetes.io/hostname"


def test_no_anti_affinity(deploy: Deploy) -> None:
    assert "affinity" not in deploy(MySQLClusterArgs(anti_affinity="none")).pod_spec()


def annotations(rendered: Any) -> dict[str, str]:
    result: dict[str, str] = rendered.statefulset()["spec"]["template"]["metadata"]["annotations"]
    return result


def test_checksum_annotation_is_the_config_maps_content(deploy: Deploy) -> None:
    rendered = deploy(MySQLClusterArgs())
    config_map = rendered.one("kubernetes:core/v1:ConfigMap", "mysql-config").inputs
    digest = checksum(config_map["data"])
    assert annotations(rendered)["mysql-cluster.io/config-checksum"] == digest
    assert config_map["metadata"]["name"] == f"mysql-config-{digest[:10]}"


def test_configuration_changes_roll_the_pods(deploy: Deploy) -> None:
    base = annotations(deploy(MySQLClusterArgs()))
    same = annotations(deploy(MySQLClusterArgs(replicas=5)))
    other = annotations(deploy(MySQLClusterArgs(version="8.4")))
    assert base == same  # scaling changes no configuration
    for key in ("mysql-cluster.io/config-checksum", "mysql-cluster.io/server-config-checksum"):
        assert other[key] != base[key]
