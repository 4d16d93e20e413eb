"""The StatefulSet: the primary (ordinal 0) and its replicas, wired to the pod contract (scripts/README)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pulumi
import pulumi_kubernetes as k8s

from mysql_cluster import cluster_facts, names, pod_parts, secrets
from mysql_cluster.config import MySQLClusterArgs
from mysql_cluster.flavors import Flavor

apps = k8s.apps.v1
core = k8s.core.v1
meta = k8s.meta.v1

# An InnoDB clean shutdown flushes the buffer pool's dirty pages; killing the server halfway costs a crash
# recovery at the next start. The grace period is only an upper bound: a quick shutdown ends sooner.
TERMINATION_GRACE_SECONDS = 180
# The startup probe covers the first start of the primary (initialisation) and crash recovery: 10 minutes.
# Every 2 s: a server that answers is noticed within 2 s (every 10 s made each pod wait up to 10 s more, the
# primary's readiness and so every replica's clone with it); the probe is a ping on the local socket.
STARTUP_PERIOD_SECONDS, STARTUP_FAILURES = 2, 300
# Liveness restarts only a server that has not answered for a minute: a busy server is slow, not dead.
LIVENESS_PERIOD_SECONDS, LIVENESS_FAILURES = 10, 6
# Readiness every 2 s (the tutorial's period): a pod serves, and donates clones, as soon as it is ready; it
# still reacts within ~10 s to a stopped replication thread or lag above maxLagSeconds.
READINESS_PERIOD_SECONDS, READINESS_FAILURES = 2, 5


@dataclass(frozen=True)
class PodInputs:
    """What the pod template refers to by name, and the checksums that roll it."""

    namespace: str  # plain text, for DNS names; the StatefulSet's metadata takes the Output below
    namespace_output: pulumi.Input[str]
    config_map_name: pulumi.Input[str]
    config_checksum: str
    server_config_checksum: str
    secret_name: pulumi.Input[str]
    service_account_name: pulumi.Input[str]
    headless_service_name: pulumi.Input[str]


def create_statefulset(
    cluster: str, args: MySQLClusterArgs, flavor: Flavor, inputs: PodInputs, opts: pulumi.ResourceOptions
) -> apps.StatefulSet:
    """Declare the cluster's StatefulSet; Pulumi waits until every pod is ready (deployTimeoutSeconds)."""
    timeout = f"{args.deploy_timeout_seconds}s"
    claim = core.PersistentVolumeClaimArgs(
        metadata=meta.ObjectMetaArgs(name=names.VOLUME_DATA, labels=names.selector_labels(cluster)),
        spec=core.PersistentVolumeClaimSpecArgs(
            access_modes=["ReadWriteOnce"],
            storage_class_name=args.storage_class,
            resources=core.VolumeResourceRequirementsArgs(requests={"storage": args.storage_size}),
        ),
    )
    return apps.StatefulSet(
        names.statefulset(cluster),
        metadata=meta.ObjectMetaArgs(
            name=names.statefulset(cluster),
            namespace=inputs.namespace_output,
            labels=names.labels(cluster),
            annotations={names.ANNOTATION_PULUMI_TIMEOUT: str(args.deploy_timeout_seconds)},
        ),
        spec=apps.StatefulSetSpecArgs(
            replicas=args.replicas,
            service_name=inputs.headless_service_name,
            # Parallel: every pod starts at once, so a primary whose volume was lost finds the replicas it
            # re-seeds from even when all pods restarted together (OrderedReady would hold them back until
            # the primary is ready: a deadlock). Replica N still clones from N-1 and retries until it serves.
            # Rolling updates are unaffected: one pod at a time, from the highest ordinal down, the primary
            # last.
            pod_management_policy="Parallel",
            update_strategy=apps.StatefulSetUpdateStrategyArgs(type="RollingUpdate"),
            selector=meta.LabelSelectorArgs(match_labels=names.selector_labels(cluster)),
            persistent_volume_claim_retention_policy=apps.StatefulSetPersistentVolumeClaimRetentionPolicyArgs(
                when_deleted=args.pvc_retention.when_deleted, when_scaled=args.pvc_retention.when_scaled
            ),
            volume_claim_templates=[claim],
            template=_pod_template(cluster, args, flavor, inputs),
        ),
        opts=pulumi.ResourceOptions.merge(
            opts,
            pulumi.ResourceOptions(
                custom_timeouts=pulumi.CustomTimeouts(create=timeout, update=timeout),
                # Volume claim templates are immutable in Kubernetes: Pulumi would REPLACE the StatefulSet
                # (every pod down at once; with whenDeleted=Delete, every volume deleted) for a storageSize
                # or storageClass change. They apply at creation; existing claims are resized on the PVCs.
                ignore_changes=["spec.volumeClaimTemplates"],
            ),
        ),
    )


@dataclass(frozen=True)
class _Container:
    """One container of the pod, as the contract describes it."""

    name: str
    script: str
    server_image: bool  # the server image, else the backup image
    heavy: bool  # resources of the server, else of the sidecar
    credentials: tuple[str, ...]  # the passwords it gets: the Secret's files (pod_parts.SECRET_KEYS)
    data: bool  # the data volume
    server_conf: str | None  # "rw", "ro" or not mounted
    kube_api: bool = False  # the projected API token
    port: tuple[str, int] | None = None


_ALL_PASSWORDS = tuple(pod_parts.SECRET_KEYS)

# In the order the pod runs them. Only the containers that log in to a server get all passwords; only
# label-pod gets an API token, and it gets neither data nor passwords.
_INIT_CONTAINERS = (
    _Container(
        names.CONTAINER_INIT_CONFIG, names.SCRIPT_INIT_CONFIG,
        server_image=True, heavy=False, credentials=(), data=True, server_conf="rw",
    ),
    _Container(
        names.CONTAINER_LABEL_POD, names.SCRIPT_LABEL_POD,
        server_image=False, heavy=False, credentials=(), data=False, server_conf=None, kube_api=True,
    ),
    # The clone's prepare step is InnoDB recovery: it gets the server's resources. The backup password is
    # its credential on the donor's clone port (scripts/transport.sh); on ordinal 0 without data it asks the
    # replicas for their GTID sets as the replication user (scripts/bootstrap.sh).
    _Container(
        names.CONTAINER_CLONE, names.SCRIPT_CLONE,
        server_image=False, heavy=True, credentials=("MYSQL_REPLICATION_PASSWORD", "MYSQL_BACKUP_PASSWORD"),
        data=True, server_conf=None,
    ),
)  # fmt: skip
_MYSQL = _Container(
    names.CONTAINER_MYSQL, names.SCRIPT_SERVER,
    server_image=True, heavy=True, credentials=_ALL_PASSWORDS, data=True, server_conf="ro",
    port=(names.PORT_NAME_MYSQL, names.MYSQL_PORT),
)  # fmt: skip
_BACKUP = _Container(
    names.CONTAINER_BACKUP, names.SCRIPT_SIDECAR,
    server_image=False, heavy=False, credentials=_ALL_PASSWORDS, data=True, server_conf="ro",
    port=(names.PORT_NAME_CLONE, names.CLONE_PORT),
)  # fmt: skip


def _for_flavor(spec: _Container, flavor: Flavor) -> _Container:
    """The clone init container of a flavor seeded by the CLONE plugin logs in to its donor (the backup
    account) and runs a private server with the pod's my.cnf: it gets credentials and the server config."""
    if spec.name == names.CONTAINER_CLONE and flavor.seeding == "clone-plugin":
        return replace(spec, credentials=_ALL_PASSWORDS, server_conf="ro")
    return spec


def _pod_template(
    cluster: str, args: MySQLClusterArgs, flavor: Flavor, inputs: PodInputs
) -> core.PodTemplateSpecArgs:
    common = pod_parts.common_env(cluster, args, inputs.namespace)

    def build(spec: _Container, probes: tuple[core.ProbeArgs, ...] = ()) -> core.ContainerArgs:
        resources = args.resources.server if spec.heavy else args.resources.sidecar
        image = (args.image or flavor.default_image) if spec.server_image else None
        mounts = pod_parts.mounts(data=spec.data, server_conf=spec.server_conf)
        mounts += secrets.pod_mounts(tuple(pod_parts.SECRET_KEYS[variable] for variable in spec.credentials))
        env = list(common)
        if spec.kube_api:
            mounts.append(pod_parts.kube_api_mount())
            # What label-pod records in, and checks against, the state ConfigMap (scripts/cluster-facts.sh).
            facts = cluster_facts.pod_environment(cluster_facts.configured(args))
            env.append(core.EnvVarArgs(name="CLUSTER_FACTS", value=facts))
        return core.ContainerArgs(
            name=spec.name,
            image=image or args.backup_image or flavor.default_backup_image,
            image_pull_policy=args.image_pull_policy,
            command=pod_parts.script_command(spec.script),
            env=env,
            ports=[core.ContainerPortArgs(name=spec.port[0], container_port=spec.port[1])]
            if spec.port
            else None,
            resources=core.ResourceRequirementsArgs(
                requests=dict(resources.requests), limits=dict(resources.limits)
            ),
            volume_mounts=mounts,
            security_context=pod_parts.container_security_context(),
            termination_message_policy="FallbackToLogsOnError",
            startup_probe=probes[0] if probes else None,
            liveness_probe=probes[1] if probes else None,
            readiness_probe=probes[2] if probes else None,
        )

    init_containers = [build(_for_flavor(spec, flavor)) for spec in _INIT_CONTAINERS]
    containers = [
        build(
            _MYSQL,
            (
                pod_parts.probe("startup", STARTUP_PERIOD_SECONDS, STARTUP_FAILURES),
                pod_parts.probe("liveness", LIVENESS_PERIOD_SECONDS, LIVENESS_FAILURES),
                pod_parts.probe("readiness", READINESS_PERIOD_SECONDS, READINESS_FAILURES),
            ),
        ),
        build(_for_flavor(_BACKUP, flavor)),
    ]
    return core.PodTemplateSpecArgs(
        metadata=meta.ObjectMetaArgs(
            labels=names.labels(cluster),
            annotations={
                names.ANNOTATION_CONFIG_CHECKSUM: inputs.config_checksum,
                names.ANNOTATION_SERVER_CONFIG_CHECKSUM: inputs.server_config_checksum,
                names.ANNOTATION_DEFAULT_CONTAINER: names.CONTAINER_MYSQL,
            },
        ),
        spec=core.PodSpecArgs(
            service_account_name=inputs.service_account_name,
            automount_service_account_token=False,  # projected into label-pod alone, see pod_parts.volumes
            # Service links would inject <SERVICE>_PORT variables, e.g. MYSQL_PORT=tcp://... for a Service
            # named `mysql`, colliding with the contract's own variables.
            enable_service_links=False,
            termination_grace_period_seconds=TERMINATION_GRACE_SECONDS,
            security_context=core.PodSecurityContextArgs(
                run_as_non_root=True,
                run_as_user=flavor.run_as_user,
                run_as_group=flavor.run_as_group,
                fs_group=flavor.run_as_group,
                # Only chown the volume when its root is not ours yet: a recursive chown of a large datadir at
                # every start would delay each restart by minutes.
                fs_group_change_policy="OnRootMismatch",
                seccomp_profile=core.SeccompProfileArgs(type="RuntimeDefault"),
            ),
            affinity=pod_parts.affinity(cluster, args.anti_affinity),
            init_containers=init_containers,
            containers=containers,
            volumes=pod_parts.volumes(inputs.config_map_name) + secrets.pod_volumes(inputs.secret_name),
        ),
    )
