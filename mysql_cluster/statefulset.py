"""The StatefulSet: the primary (ordinal 0) and its replicas, wired to the pod contract (scripts/README)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pulumi
import pulumi_kubernetes as k8s

from mysql_cluster import names, secrets
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
PROBE_TIMEOUT_SECONDS = 5
# The label-pod container's API token lives an hour; the container runs for seconds.
TOKEN_EXPIRATION_SECONDS = 3600


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
    credentials: tuple[str, ...]  # the password variables it gets, by secretKeyRef (_SECRET_KEYS)
    data: bool  # the data volume
    server_conf: str | None  # "rw", "ro" or not mounted
    kube_api: bool = False  # the projected API token
    port: tuple[str, int] | None = None


# The password variables and their keys in the cluster Secret.
_SECRET_KEYS = {
    "MYSQL_ROOT_PASSWORD": names.SECRET_KEY_ROOT,
    "MYSQL_REPLICATION_PASSWORD": names.SECRET_KEY_REPLICATION,
    "MYSQL_BACKUP_PASSWORD": names.SECRET_KEY_BACKUP,
}
_ALL_PASSWORDS = tuple(_SECRET_KEYS)

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
    common = _common_env(cluster, args, inputs.namespace)

    def build(spec: _Container, probes: tuple[core.ProbeArgs, ...] = ()) -> core.ContainerArgs:
        resources = args.resources.server if spec.heavy else args.resources.sidecar
        image = (args.image or flavor.default_image) if spec.server_image else None
        mounts = _mounts(data=spec.data, server_conf=spec.server_conf)
        mounts += secrets.pod_mounts(tuple(_SECRET_KEYS[variable] for variable in spec.credentials))
        if spec.kube_api:
            mounts.append(_kube_api_mount())
        return core.ContainerArgs(
            name=spec.name,
            image=image or args.backup_image or flavor.default_backup_image,
            image_pull_policy=args.image_pull_policy,
            command=_script_command(spec.script),
            env=common + _secret_env(inputs.secret_name, spec.credentials),
            ports=[core.ContainerPortArgs(name=spec.port[0], container_port=spec.port[1])]
            if spec.port
            else None,
            resources=core.ResourceRequirementsArgs(
                requests=dict(resources.requests), limits=dict(resources.limits)
            ),
            volume_mounts=mounts,
            security_context=_container_security_context(),
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
                _probe("startup", STARTUP_PERIOD_SECONDS, STARTUP_FAILURES),
                _probe("liveness", LIVENESS_PERIOD_SECONDS, LIVENESS_FAILURES),
                _probe("readiness", READINESS_PERIOD_SECONDS, READINESS_FAILURES),
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
            automount_service_account_token=False,  # projected into label-pod alone, see _volumes
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
            affinity=_affinity(cluster, args.anti_affinity),
            init_containers=init_containers,
            containers=containers,
            volumes=_volumes(inputs.config_map_name) + secrets.pod_volumes(inputs.secret_name),
        ),
    )


def _script_command(script: str) -> list[str]:
    """The program's own scripts, run by bash from the read-only ConfigMap (no exec bit relied on)."""
    return ["bash", f"{names.CLUSTER_CONFIG_DIR}/{script}"]


def _probe(kind: str, period: int, failures: int) -> core.ProbeArgs:
    return core.ProbeArgs(
        exec_=core.ExecActionArgs(command=[*_script_command(names.SCRIPT_PROBE), kind]),
        period_seconds=period,
        timeout_seconds=PROBE_TIMEOUT_SECONDS,
        failure_threshold=failures,
    )


def _common_env(cluster: str, args: MySQLClusterArgs, namespace: str) -> list[core.EnvVarArgs]:
    """The contract's environment, without credentials (every container gets it)."""

    def field(path: str) -> core.EnvVarSourceArgs:
        return core.EnvVarSourceArgs(field_ref=core.ObjectFieldSelectorArgs(field_path=path))

    plain = {
        "SERVER_ID_OFFSET": str(args.server_id_offset),
        "CLUSTER_CONFIG_DIR": names.CLUSTER_CONFIG_DIR,
        "DATA_ROOT": names.DATA_ROOT,
        "SERVER_CONF_DIR": names.SERVER_CONF_DIR,
        "RUN_DIR": names.RUN_DIR,
        "MYSQL_PORT": str(names.MYSQL_PORT),
        "CLONE_PORT": str(names.CLONE_PORT),
        "POD_HOST_PATTERN": names.pod_host_pattern(cluster, namespace, args.cluster_domain),
        "MAX_LAG_SECONDS": str(args.max_lag_seconds),
        "PRIMARY_SERVES_READS": "true" if args.primary_serves_reads else "false",
        "REPLICATION_USER": names.REPLICATION_USER,
        "BACKUP_USER": names.BACKUP_USER,
        # So that the stale-data advice names the exact PVC to delete (data-<statefulset>-<ordinal>).
        "DATA_CLAIM_TEMPLATE": names.VOLUME_DATA,
        # The Secret's files (secrets.pod_volumes): the passwords as they are now, read at use time.
        "SECRET_DIR": names.SECRETS_DIR,
        # Where ordinal 0 records the cluster's first initialisation (scripts/bootstrap-facts.sh).
        "STATE_CONFIG_MAP": names.state_config_map(cluster),
        # The root filesystem is read-only; tools that write under $HOME get the pod's scratch space.
        "HOME": names.TMP_DIR,
    }
    return [
        core.EnvVarArgs(name="POD_NAME", value_from=field("metadata.name")),
        core.EnvVarArgs(name="POD_NAMESPACE", value_from=field("metadata.namespace")),
        *(core.EnvVarArgs(name=name, value=value) for name, value in plain.items()),
    ]


def _secret_env(secret_name: pulumi.Input[str], variables: tuple[str, ...]) -> list[core.EnvVarArgs]:
    """The given password variables, by reference to the Secret: never a value in the pod spec."""
    return [
        core.EnvVarArgs(
            name=variable,
            value_from=core.EnvVarSourceArgs(
                secret_key_ref=core.SecretKeySelectorArgs(
                    name=secret_name, key=_SECRET_KEYS[variable], optional=False
                )
            ),
        )
        for variable in variables
    ]


def _mounts(*, data: bool, server_conf: str | None) -> list[core.VolumeMountArgs]:
    """Every container: the ConfigMap (read-only), the shared run dir and scratch space; optionally the data
    volume and the server configuration directory (`rw` for init-config, which writes my.cnf, `ro` else)."""
    mounts = [
        core.VolumeMountArgs(
            name=names.VOLUME_CLUSTER_CONFIG, mount_path=names.CLUSTER_CONFIG_DIR, read_only=True
        ),
        core.VolumeMountArgs(name=names.VOLUME_RUN, mount_path=names.RUN_DIR),
        core.VolumeMountArgs(name=names.VOLUME_TMP, mount_path=names.TMP_DIR),
    ]
    if data:
        mounts.append(core.VolumeMountArgs(name=names.VOLUME_DATA, mount_path=names.DATA_ROOT))
    if server_conf is not None:
        mounts.append(
            core.VolumeMountArgs(
                name=names.VOLUME_SERVER_CONF, mount_path=names.SERVER_CONF_DIR, read_only=server_conf == "ro"
            )
        )
    return mounts


def _kube_api_mount() -> core.VolumeMountArgs:
    return core.VolumeMountArgs(
        name=names.VOLUME_KUBE_API, mount_path=names.SERVICE_ACCOUNT_DIR, read_only=True
    )


def _volumes(config_map_name: pulumi.Input[str]) -> list[core.VolumeArgs]:
    # The API credentials of the standard service-account mount (token, CA, namespace), projected by hand so
    # that only the label-pod container sees a token: the server and the backup sidecar have no API access.
    kube_api = core.ProjectedVolumeSourceArgs(
        sources=[
            core.VolumeProjectionArgs(
                service_account_token=core.ServiceAccountTokenProjectionArgs(
                    path="token", expiration_seconds=TOKEN_EXPIRATION_SECONDS
                )
            ),
            core.VolumeProjectionArgs(
                config_map=core.ConfigMapProjectionArgs(
                    name=names.KUBE_ROOT_CA_CONFIG_MAP,
                    items=[core.KeyToPathArgs(key="ca.crt", path="ca.crt")],
                )
            ),
            core.VolumeProjectionArgs(
                downward_api=core.DownwardAPIProjectionArgs(
                    items=[
                        core.DownwardAPIVolumeFileArgs(
                            path="namespace",
                            field_ref=core.ObjectFieldSelectorArgs(field_path="metadata.namespace"),
                        )
                    ]
                )
            ),
        ]
    )
    return [
        core.VolumeArgs(
            name=names.VOLUME_CLUSTER_CONFIG, config_map=core.ConfigMapVolumeSourceArgs(name=config_map_name)
        ),
        core.VolumeArgs(name=names.VOLUME_SERVER_CONF, empty_dir=core.EmptyDirVolumeSourceArgs()),
        core.VolumeArgs(name=names.VOLUME_RUN, empty_dir=core.EmptyDirVolumeSourceArgs()),
        core.VolumeArgs(name=names.VOLUME_TMP, empty_dir=core.EmptyDirVolumeSourceArgs()),
        core.VolumeArgs(name=names.VOLUME_KUBE_API, projected=kube_api),
    ]


def _container_security_context() -> core.SecurityContextArgs:
    return core.SecurityContextArgs(
        allow_privilege_escalation=False,
        capabilities=core.CapabilitiesArgs(drop=["ALL"]),
        read_only_root_filesystem=True,  # every writable path is a volume: data, run, tmp, server conf
        run_as_non_root=True,
    )


def _affinity(cluster: str, mode: str) -> core.AffinityArgs | None:
    """Spread the pods over nodes: `soft` prefers it, `hard` requires it (pods stay Pending without enough
    nodes), `none` leaves placement to the scheduler."""
    if mode == "none":
        return None
    term = core.PodAffinityTermArgs(
        label_selector=meta.LabelSelectorArgs(match_labels=names.selector_labels(cluster)),
        topology_key=names.LABEL_HOSTNAME,
    )
    if mode == "hard":
        return core.AffinityArgs(
            pod_anti_affinity=core.PodAntiAffinityArgs(
                required_during_scheduling_ignored_during_execution=[term]
            )
        )
    return core.AffinityArgs(
        pod_anti_affinity=core.PodAntiAffinityArgs(
            preferred_during_scheduling_ignored_during_execution=[
                core.WeightedPodAffinityTermArgs(weight=100, pod_affinity_term=term)
            ]
        )
    )
