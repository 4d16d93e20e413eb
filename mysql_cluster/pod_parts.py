"""The parts of the StatefulSet's pod template: the scripts' commands, probes, environment, mounts, volumes,
security context and anti-affinity (statefulset.py puts them together)."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from mysql_cluster import names
from mysql_cluster.config import MySQLClusterArgs

core = k8s.core.v1
meta = k8s.meta.v1

# The password variables the scripts fill from the Secret's mounted files (lib.sh refresh_passwords), and the
# keys of those files. Never in a container's environment: that would be stale after a rotation, and seen by
# every process the container starts.
SECRET_KEYS = {
    "MYSQL_ROOT_PASSWORD": names.SECRET_KEY_ROOT,
    "MYSQL_REPLICATION_PASSWORD": names.SECRET_KEY_REPLICATION,
    "MYSQL_BACKUP_PASSWORD": names.SECRET_KEY_BACKUP,
}
PROBE_TIMEOUT_SECONDS = 5
# The label-pod container's API token lives an hour; the container runs for seconds.
TOKEN_EXPIRATION_SECONDS = 3600


def script_command(script: str) -> list[str]:
    """The program's own scripts, run by bash from the read-only ConfigMap (no exec bit relied on)."""
    return ["bash", f"{names.CLUSTER_CONFIG_DIR}/{script}"]


def probe(kind: str, period: int, failures: int) -> core.ProbeArgs:
    return core.ProbeArgs(
        exec_=core.ExecActionArgs(command=[*script_command(names.SCRIPT_PROBE), kind]),
        period_seconds=period,
        timeout_seconds=PROBE_TIMEOUT_SECONDS,
        failure_threshold=failures,
    )


def common_env(cluster: str, args: MySQLClusterArgs, namespace: str) -> list[core.EnvVarArgs]:
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


def mounts(*, data: bool, server_conf: str | None) -> list[core.VolumeMountArgs]:
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


def kube_api_mount() -> core.VolumeMountArgs:
    return core.VolumeMountArgs(
        name=names.VOLUME_KUBE_API, mount_path=names.SERVICE_ACCOUNT_DIR, read_only=True
    )


def volumes(config_map_name: pulumi.Input[str]) -> list[core.VolumeArgs]:
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


def container_security_context() -> core.SecurityContextArgs:
    return core.SecurityContextArgs(
        allow_privilege_escalation=False,
        capabilities=core.CapabilitiesArgs(drop=["ALL"]),
        read_only_root_filesystem=True,  # every writable path is a volume: data, run, tmp, server conf
        run_as_non_root=True,
    )


def affinity(cluster: str, mode: str) -> core.AffinityArgs | None:
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
