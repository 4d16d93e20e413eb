"""Every name the program derives, spelled once: object names, labels, container names, the pod contract.

A cluster is identified by its component name (`MySQLCluster("mysql", ...)`); every child object's name
derives from it here, so two clusters live side by side in one stack and one namespace. Nothing outside
this module spells a name by hand. The pod side of the contract (paths, environment, script names) is
documented in `mysql_cluster/scripts/README.md`; the constants below are its Python spelling.
"""

from __future__ import annotations

import re

# --- the component --------------------------------------------------------------------------------

COMPONENT_TYPE = "mysql-cluster:index:MySQLCluster"
APP_NAME = "mysql-cluster"

# The StatefulSet controller labels each pod `controller-revision-hash: <statefulset>-<10 characters>`, and a
# label value has at most 63 characters: a longer StatefulSet name is accepted by the API and then no pod can
# ever be created. Service names must also be DNS-1035 labels (start with a letter).
MAX_CLUSTER_NAME_LENGTH = 52
CONTENT_HASH_LENGTH = 10
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")

# --- labels and annotations -----------------------------------------------------------------------

LABEL_NAME = "app.kubernetes.io/name"
LABEL_INSTANCE = "app.kubernetes.io/instance"
LABEL_COMPONENT = "app.kubernetes.io/component"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
COMPONENT_DATABASE = "database"
MANAGED_BY = "pulumi"

# Set on the pod itself at start by the `label-pod` init container; the read Service selects on it.
LABEL_ROLE = "mysql-cluster.io/role"
ROLE_PRIMARY = "primary"
ROLE_REPLICA = "replica"

# Set by Kubernetes itself: the StatefulSet controller on each pod, the API server on each namespace.
LABEL_POD_NAME = "statefulset.kubernetes.io/pod-name"
LABEL_NAMESPACE_NAME = "kubernetes.io/metadata.name"
LABEL_HOSTNAME = "kubernetes.io/hostname"  # on each node: the anti-affinity topology key
# Published into every namespace by Kubernetes: the API server's CA, for the label-pod container.
KUBE_ROOT_CA_CONFIG_MAP = "kube-root-ca.crt"

# On the namespaces the component creates. The cluster's pods meet the `restricted` Pod Security Standard and
# the API server warns about any pod that does not; it does not enforce it, so that an ad-hoc client pod
# (`kubectl run ... --image=mysql`) can still be started next to the database.
POD_SECURITY_LABELS = {
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/audit": "restricted",
}

ANNOTATION_CONFIG_CHECKSUM = "mysql-cluster.io/config-checksum"
ANNOTATION_SERVER_CONFIG_CHECKSUM = "mysql-cluster.io/server-config-checksum"
ANNOTATION_PULUMI_TIMEOUT = "pulumi.com/timeoutSeconds"
ANNOTATION_DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container"

# --- containers, ports, volumes -------------------------------------------------------------------

CONTAINER_INIT_CONFIG = "init-config"
CONTAINER_LABEL_POD = "label-pod"
CONTAINER_CLONE = "clone"
CONTAINER_MYSQL = "mysql"
CONTAINER_BACKUP = "backup"

PORT_NAME_MYSQL = "mysql"
PORT_NAME_CLONE = "clone"
MYSQL_PORT = 3306
CLONE_PORT = 3307

VOLUME_DATA = "data"  # also the volume claim template: PVCs are named data-<statefulset>-<ordinal>
VOLUME_CLUSTER_CONFIG = "cluster-config"
VOLUME_SERVER_CONF = "server-conf"
VOLUME_RUN = "run"
VOLUME_TMP = "tmp"
VOLUME_KUBE_API = "kube-api-access"


def secret_volume(key: str) -> str:
    """The volume of one Secret key (`secret-root-password`): each container mounts only the keys it gets."""
    return f"secret-{key}"


# --- the pod contract (mysql_cluster/scripts/README.md) -------------------------------------------

CLUSTER_CONFIG_DIR = "/etc/mysql-cluster"
DATA_ROOT = "/var/lib/mysql"
SERVER_CONF_DIR = "/etc/mysql/conf.d"
RUN_DIR = "/run/mysqld"
# An emptyDir of the pod's own (the root filesystem is read-only), not a shared host directory.
TMP_DIR = "/tmp"  # noqa: S108
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
# The cluster Secret's keys as files, one directory per key (`<dir>/<key>/value`): the kubelet updates them in
# running pods, so the scripts read the passwords at use time and a rotation needs no restart.
SECRETS_DIR = "/var/run/secrets/mysql-cluster"
SECRET_FILE = "value"  # noqa: S105 (a file name)

SCRIPT_INIT_CONFIG = "init-config.sh"
SCRIPT_LABEL_POD = "label-pod.sh"
SCRIPT_CLONE = "clone.sh"
SCRIPT_SERVER = "server.sh"
SCRIPT_SIDECAR = "sidecar.sh"
SCRIPT_PROBE = "probe.sh"
# The scripts the pod spec starts directly; the ConfigMap refuses to ship without them.
ENTRYPOINT_SCRIPTS = (
    SCRIPT_INIT_CONFIG,
    SCRIPT_LABEL_POD,
    SCRIPT_CLONE,
    SCRIPT_SERVER,
    SCRIPT_SIDECAR,
    SCRIPT_PROBE,
)

# Keys of the Secret (names, not values).
SECRET_KEY_ROOT = "root-password"  # noqa: S105
SECRET_KEY_REPLICATION = "replication-password"  # noqa: S105
SECRET_KEY_BACKUP = "backup-password"  # noqa: S105
SECRET_KEYS = (SECRET_KEY_ROOT, SECRET_KEY_REPLICATION, SECRET_KEY_BACKUP)

REPLICATION_USER = "replicator"
BACKUP_USER = "backup"


def check_cluster_name(name: str) -> None:
    """Raise ValueError unless `name` can name a StatefulSet whose pods and Services Kubernetes accepts."""
    if len(name) > MAX_CLUSTER_NAME_LENGTH or not _DNS1035_LABEL.fullmatch(name):
        raise ValueError(
            f"invalid cluster name {name!r}: the component name names the StatefulSet and its Services, "
            f"so it must be a DNS-1035 label of at most {MAX_CLUSTER_NAME_LENGTH} characters "
            "(lower-case letters, digits and '-', starting with a letter, not ending with '-')"
        )


# --- object names ---------------------------------------------------------------------------------


def statefulset(cluster: str) -> str:
    """The StatefulSet; its pods are `<cluster>-<ordinal>`, ordinal 0 is the primary."""
    return cluster


def headless_service(cluster: str) -> str:
    """The headless Service that gives every pod a stable DNS name."""
    return f"{cluster}-headless"


def write_service(cluster: str) -> str:
    """The Service in front of the primary only: every write goes here."""
    return f"{cluster}-primary"


def read_service(cluster: str) -> str:
    """The Service in front of the ready replicas (and the primary with `primaryServesReads`)."""
    return f"{cluster}-read"


def config_map_resource(cluster: str) -> str:
    """The Pulumi name of the ConfigMap resource (stable across content changes)."""
    return f"{cluster}-config"


def config_map(cluster: str, content_hash: str) -> str:
    """The ConfigMap with the rendered configuration and the scripts, named after its content (immutable)."""
    return f"{cluster}-config-{content_hash[:CONTENT_HASH_LENGTH]}"


def state_config_map(cluster: str) -> str:
    """The ConfigMap where the primary records, once, the claim the cluster was first initialised on: the
    fact that outlives the primary's volume (scripts/bootstrap-facts.sh); and every pod what the data is
    bound to (cluster_facts.py, scripts/cluster-facts.sh). Written by the pods, not Pulumi."""
    return f"{cluster}-state"


def secret(cluster: str) -> str:
    """The Secret with the generated passwords (unless an existing Secret is supplied)."""
    return f"{cluster}-credentials"


def data_claim(cluster: str, ordinal: int) -> str:
    """The PersistentVolumeClaim of pod `ordinal` (the StatefulSet's claim template `data`)."""
    return f"{VOLUME_DATA}-{statefulset(cluster)}-{ordinal}"


def redeploy_guard_resource(cluster: str) -> str:
    """The Pulumi name of the check that refuses a deploy over data a destroy kept (redeploy_guard.py)."""
    return f"{cluster}-redeploy-guard"


def existing_secret_resource(cluster: str) -> str:
    """The Pulumi name under which a user-supplied Secret is read (never managed)."""
    return f"{cluster}-existing-credentials"


def password(cluster: str, key: str) -> str:
    """The Pulumi name of the RandomPassword behind Secret key `key`, e.g. `mysql-root-password`."""
    return f"{cluster}-{key}"


def namespace_resource(cluster: str) -> str:
    """The Pulumi name of the Namespace resource (the Kubernetes name is the configured namespace)."""
    return f"{cluster}-namespace"


def service_account(cluster: str) -> str:
    """The pods' ServiceAccount (its token reaches only the `label-pod` init container)."""
    return cluster


def label_pod_role(cluster: str) -> str:
    """The Role (and its RoleBinding) that lets a pod label itself, and nothing else."""
    return f"{cluster}-label-pod"


def disruption_budget(cluster: str) -> str:
    """The PodDisruptionBudget."""
    return cluster


def network_policy(cluster: str) -> str:
    """The NetworkPolicy admitting database and clone traffic."""
    return cluster


def pod(cluster: str, ordinal: int) -> str:
    """Pod `ordinal` of the StatefulSet."""
    return f"{statefulset(cluster)}-{ordinal}"


def pods(cluster: str, replicas: int) -> list[str]:
    """Every pod name of a StatefulSet of `replicas` pods, primary first."""
    return [pod(cluster, ordinal) for ordinal in range(replicas)]


def primary_pod(cluster: str) -> str:
    """The primary is always ordinal 0."""
    return pod(cluster, 0)


# --- DNS ------------------------------------------------------------------------------------------


def service_host(service: str, namespace: str, cluster_domain: str) -> str:
    """The in-cluster DNS name of a Service."""
    return f"{service}.{namespace}.svc.{cluster_domain}"


def pod_host(cluster: str, ordinal: int, namespace: str, cluster_domain: str) -> str:
    """The stable DNS name of one pod, through the headless Service."""
    return f"{pod(cluster, ordinal)}.{service_host(headless_service(cluster), namespace, cluster_domain)}"


def pod_host_pattern(cluster: str, namespace: str, cluster_domain: str) -> str:
    """`POD_HOST_PATTERN` of the pod contract: `printf "$POD_HOST_PATTERN" <ordinal>` gives a peer's host."""
    headless = service_host(headless_service(cluster), namespace, cluster_domain)
    return f"{statefulset(cluster)}-%d.{headless}"


# --- labels ---------------------------------------------------------------------------------------


def selector_labels(cluster: str) -> dict[str, str]:
    """The immutable label subset every selector of the cluster uses (StatefulSet selectors cannot change)."""
    return {LABEL_NAME: APP_NAME, LABEL_INSTANCE: cluster}


def labels(cluster: str) -> dict[str, str]:
    """The labels on every object of the cluster and on its pods."""
    return {**selector_labels(cluster), LABEL_COMPONENT: COMPONENT_DATABASE, LABEL_MANAGED_BY: MANAGED_BY}
