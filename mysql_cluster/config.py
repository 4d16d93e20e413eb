"""Stack configuration -> validated, typed `MySQLClusterArgs`.

`MySQLClusterArgs` is usable directly from Python; `MySQLClusterArgs.from_config(pulumi.Config())` builds it
from stack configuration (read by `stack_config`). Either way every value is validated when the object is
built, before the component declares a single resource, and all problems come together in ONE `ConfigError`,
each naming the stack configuration key (`storageSize` for field `storage_size`), the value given (unless it
was set as a secret) and what is allowed. The bounds themselves, with their reasons, live in `limits`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Literal

import pulumi

from mysql_cluster import limits, server_config, stack_config
from mysql_cluster.flavors import DEFAULT_FLAVOR, DEFAULT_VERSIONS, RETIRED_VERSIONS, SUPPORTED_VERSIONS
from mysql_cluster.images import check_image_matches
from mysql_cluster.validation import Problems, is_dns1123_label, is_dns1123_subdomain, secret_values

RetentionPolicy = Literal["Retain", "Delete"]
AntiAffinity = Literal["soft", "hard", "none"]
PullPolicy = Literal["Always", "IfNotPresent", "Never"]
RETENTION_POLICIES: tuple[RetentionPolicy, ...] = ("Retain", "Delete")
ANTI_AFFINITIES: tuple[AntiAffinity, ...] = ("soft", "hard", "none")
PULL_POLICIES: tuple[PullPolicy, ...] = ("Always", "IfNotPresent", "Never")
DATABASE_SOURCES = ("namespace", "any")


class ConfigError(pulumi.RunError, ValueError):
    """Invalid configuration: every problem found, one per line, each naming its key.

    A `pulumi.RunError`, so that `pulumi up` prints the problems alone, without a Python traceback.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid mysql-cluster configuration:\n  - " + "\n  - ".join(self.problems))


@dataclass(frozen=True)
class ContainerResources:
    """Requests and limits of one container, e.g. `requests={"cpu": "500m", "memory": "1Gi"}`."""

    requests: Mapping[str, str] = field(default_factory=dict)
    limits: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "requests", MappingProxyType(dict(self.requests)))
        object.__setattr__(self, "limits", MappingProxyType(dict(self.limits)))


# No CPU limit by default: CFS throttling stalls a database at its worst moment. The memory limit stays: a
# runaway server is better killed and restarted than allowed to take the node down.
DEFAULT_SERVER_RESOURCES = ContainerResources({"cpu": "500m", "memory": "1Gi"}, {"memory": "2Gi"})
DEFAULT_SIDECAR_RESOURCES = ContainerResources({"cpu": "100m", "memory": "128Mi"}, {"memory": "512Mi"})


@dataclass(frozen=True)
class Resources:
    """`server`: the `mysql` container and the `clone` init container (its prepare step is InnoDB recovery);
    `sidecar`: the `backup` container and the light init containers."""

    server: ContainerResources = DEFAULT_SERVER_RESOURCES
    sidecar: ContainerResources = DEFAULT_SIDECAR_RESOURCES


@dataclass(frozen=True)
class PvcRetention:
    """`persistentVolumeClaimRetentionPolicy` of the data volumes.

    Default `when_deleted="Retain"`: deleting the cluster never deletes data by accident (the namespace and
    the Secret are then kept too, so the data can be redeployed with `existingSecret`). `when_scaled` is
    always "Retain": `kubectl scale --replicas=0`, the routine way to pause a cluster, would otherwise delete
    every volume, the primary's included. A replica that comes back on its kept volume catches up from the
    primary; one behind purged binary logs says how to re-clone it.
    """

    when_deleted: RetentionPolicy = "Retain"
    when_scaled: RetentionPolicy = "Retain"


@dataclass(frozen=True)
class NetworkPolicyArgs:
    """Ingress only (egress is never restricted). The clone port admits only the cluster's own pods; the
    database port admits them and `allow_database_from`: "namespace" (every pod of the cluster's namespace),
    "any" (every source), or a tuple of namespace names (every pod of those namespaces)."""

    enabled: bool = True
    allow_database_from: str | tuple[str, ...] = "namespace"

    def __post_init__(self) -> None:
        if isinstance(self.allow_database_from, list):  # a list from a Python caller: keep it immutable
            object.__setattr__(self, "allow_database_from", tuple(self.allow_database_from))


@dataclass(frozen=True)
class MySQLClusterArgs:
    """Everything a cluster can be told; see the configuration table in the README."""

    replicas: int = 3  # total pods, primary included
    flavor: str = DEFAULT_FLAVOR
    version: str | None = None  # None: the flavor's default version
    image: str | None = None  # None: the flavor's server image
    backup_image: str | None = None  # None: the flavor's backup image
    namespace: str | None = None  # None: the component's name
    create_namespace: bool = True
    storage_size: str = "10Gi"
    storage_class: str | None = None  # None: the cluster's default class; "": none (pre-provisioned volumes)
    server_id_offset: int = 100
    max_lag_seconds: int = 60
    primary_serves_reads: bool = False
    pvc_retention: PvcRetention = field(default_factory=PvcRetention)
    resources: Resources = field(default_factory=Resources)
    anti_affinity: AntiAffinity = "soft"
    network_policy: NetworkPolicyArgs = field(default_factory=NetworkPolicyArgs)
    existing_secret: str | None = None  # None: generate passwords into a Secret of the cluster's own
    # A label of the generated passwords: changing it generates new ones, which the pods apply (rotation).
    password_rotation: str | None = None
    image_pull_policy: PullPolicy = "IfNotPresent"
    deploy_timeout_seconds: int = 1200
    cluster_domain: str = "cluster.local"
    server_config: server_config.ServerOptions = field(default_factory=dict)  # custom.cnf, see server_config

    def __post_init__(self) -> None:
        problems = Problems()
        _validate(self, problems)
        if problems:
            raise ConfigError(problems.items)

    @property
    def resolved_version(self) -> str:
        """The version to deploy: the one given, or the flavor's default."""
        return self.version if self.version is not None else DEFAULT_VERSIONS[self.flavor]

    @classmethod
    def from_config(cls, config: pulumi.Config, *, reject_unknown_keys: bool = True) -> MySQLClusterArgs:
        """Read and validate the stack configuration of namespace `config.name` (normally `mysql-cluster`).

        With `reject_unknown_keys`, a key this program would silently ignore is an error: a key of that
        namespace it does not know (a typo such as `replica`), or one of its keys set under another namespace
        (`mysql:replicas`). Pass False when the configuration also holds another program's keys.
        """
        values, problems, secret = stack_config.read(
            config, CONFIG_KEYS, reject_unknown_keys=reject_unknown_keys
        )
        with secret_values(secret):
            try:
                args = cls(**_build(values))
            except ConfigError as err:
                raise ConfigError(problems + err.problems) from None
        if problems:
            raise ConfigError(problems)
        return args


# --- validation -----------------------------------------------------------------------------------


def _validate_retention(retention: object, problems: Problems) -> None:
    if _typed(problems, "pvcRetention", retention, PvcRetention):
        assert isinstance(retention, PvcRetention)  # for the type checker: _typed just said so
        problems.choice("pvcRetention.whenDeleted", retention.when_deleted, RETENTION_POLICIES)
        # Delete would take the primary's volume too on a scale to zero (a routine pause).
        if retention.when_scaled != "Retain":
            problems.add(
                "pvcRetention.whenScaled",
                retention.when_scaled,
                "Retain (Delete would delete every volume, the primary's included, on a scale to zero)",
            )


def _validate(args: MySQLClusterArgs, problems: Problems) -> None:
    # replicas >= 1: with 0 the StatefulSet would scale the primary away.
    replicas_ok = limits.check_integer(problems, "replicas", args.replicas)
    flavor_ok = problems.choice("flavor", args.flavor, tuple(SUPPORTED_VERSIONS))
    release_ok = flavor_ok and (
        args.version is None or _validate_version(problems, args.flavor, args.version)
    )
    for key, image in (("image", args.image), ("backupImage", args.backup_image)):
        if image is not None and problems.image(key, image) and release_ok:
            check_image_matches(
                problems,
                key,
                image,
                backup=key == "backupImage",
                flavor=args.flavor,
                version=args.resolved_version,
            )
    problems.boolean("createNamespace", args.create_namespace)
    if args.namespace is not None and problems.name(
        "namespace", args.namespace, is_dns1123_label, "a DNS-1123 label such as 'databases'"
    ):
        _validate_created_namespace(problems, args.namespace, args.create_namespace)
    limits.check_quantity(problems, "storageSize", args.storage_size, limits.STORAGE)
    if args.storage_class not in (None, ""):
        problems.name("storageClass", args.storage_class, is_dns1123_subdomain, "a StorageClass name")
    # server_id = offset + ordinal must be a valid server id (1 .. 2^32-1) for every pod.
    offset_ok = limits.check_integer(problems, "serverIdOffset", args.server_id_offset)
    if offset_ok and replicas_ok and args.server_id_offset + args.replicas - 1 > limits.MAX_SERVER_ID:
        limit = limits.MAX_SERVER_ID - args.replicas + 1
        allowed = f"<= {limits.MAX_SERVER_ID} + 1 - replicas"
        if not problems.is_secret("replicas"):
            allowed = f"<= {limit} with {args.replicas} replicas"
        problems.add("serverIdOffset", args.server_id_offset, allowed)
    limits.check_integer(problems, "maxLagSeconds", args.max_lag_seconds)
    problems.boolean("primaryServesReads", args.primary_serves_reads)
    _validate_retention(args.pvc_retention, problems)
    server_config.validate(problems, args.server_config)
    if _typed(problems, "resources", args.resources, Resources):
        _validate_resources(problems, "server", args.resources.server, args.flavor)
        _validate_resources(problems, "sidecar", args.resources.sidecar, args.flavor)
    problems.choice("antiAffinity", args.anti_affinity, ANTI_AFFINITIES)
    if _typed(problems, "networkPolicy", args.network_policy, NetworkPolicyArgs):
        _validate_network_policy(problems, args.network_policy)
    if args.existing_secret is not None:
        problems.name("existingSecret", args.existing_secret, is_dns1123_subdomain, "a Secret name")
        # The Secret must already exist in the namespace, so this program cannot be the one creating it.
        if args.create_namespace is True:
            problems.add("existingSecret", args.existing_secret, "only with createNamespace=false")
    if args.password_rotation is not None:
        problems.name(
            "passwordRotation",
            args.password_rotation,
            lambda label: re.fullmatch(r"[A-Za-z0-9._:-]{1,63}", label) is not None,
            "1 to 63 letters, digits, '.', '_', ':' or '-' (a label such as 2026-11: a new value generates "
            "new passwords)",
        )
        if args.existing_secret is not None:
            problems.add(
                "passwordRotation",
                args.password_rotation,
                "only with generated passwords (with existingSecret, put new passwords in that Secret)",
            )
    problems.choice("imagePullPolicy", args.image_pull_policy, PULL_POLICIES)
    limits.check_integer(problems, "deployTimeoutSeconds", args.deploy_timeout_seconds)
    problems.name(
        "clusterDomain",
        args.cluster_domain,
        lambda domain: is_dns1123_subdomain(domain) and "svc" not in domain.split("."),
        "a DNS domain such as cluster.local, without 'svc' (hosts are <service>.<namespace>.svc.<domain>)",
    )


def _validate_version(problems: Problems, flavor: str, version: str) -> bool:
    if version in SUPPORTED_VERSIONS[flavor]:
        return True
    if problems.is_secret("flavor"):  # the versions allowed would tell the flavor
        table = "; ".join(f"{name}: {' | '.join(versions)}" for name, versions in SUPPORTED_VERSIONS.items())
        return problems.add("version", version, f"a version of the flavor ({table}), quoted in YAML")
    allowed = " | ".join(SUPPORTED_VERSIONS[flavor])
    retired = RETIRED_VERSIONS.get((flavor, str(version)))
    why = f" ({retired})" if retired else ""
    return problems.add("version", version, f"{allowed} for flavor {flavor!r} (quoted in YAML){why}")


def _validate_created_namespace(problems: Problems, namespace: str, create: object) -> None:
    if create is True and limits.is_reserved_namespace(namespace):
        problems.add(
            "namespace",
            namespace,
            "with createNamespace=true, a namespace this program creates and owns; this one always exists "
            "(reserved by Kubernetes): set createNamespace to false to deploy into it",
        )


def check_namespace(namespace: str, create: bool) -> None:
    """Refuse to create a namespace Kubernetes reserves, such as a cluster named `default` without
    `namespace` (which then defaults to the cluster's name)."""
    problems = Problems()
    _validate_created_namespace(problems, namespace, create)
    if problems:
        raise ConfigError(problems.items)


def _typed(problems: Problems, key: str, value: object, kind: type) -> bool:
    return isinstance(value, kind) or problems.add(key, value, f"a {kind.__name__}")


def _validate_resources(problems: Problems, container: str, value: object, flavor: str) -> None:
    if isinstance(value, ContainerResources):
        limits.check_resources(problems, container, value.requests, value.limits, flavor)
    else:
        problems.add(f"resources.{container}", value, "a ContainerResources")


def _validate_network_policy(problems: Problems, policy: NetworkPolicyArgs) -> None:
    problems.boolean("networkPolicy.enabled", policy.enabled)
    source = policy.allow_database_from
    key = "networkPolicy.allowDatabaseFrom"
    if isinstance(source, tuple):
        names_ok = all(isinstance(ns, str) and is_dns1123_label(ns) for ns in source)
        if not source or not names_ok or len(set(source)) != len(source):
            problems.add(key, list(source), "a non-empty list of distinct namespace names")
    elif source not in DATABASE_SOURCES:
        problems.add(key, source, " | ".join(DATABASE_SOURCES) + " | a list of namespace names")


# --- from stack configuration ---------------------------------------------------------------------


def _config_key(field_name: str) -> str:
    """The stack configuration key of a field: `storage_size` -> `storageSize`."""
    head, *rest = field_name.split("_")
    return head + "".join(part.capitalize() for part in rest)


CONFIG_KEYS: dict[str, str] = {_config_key(f.name): f.name for f in fields(MySQLClusterArgs)}


def _build(values: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments of `MySQLClusterArgs` from what `stack_config.read` returns (objects as dicts)."""
    kwargs = dict(values)
    if "pvc_retention" in kwargs:
        kwargs["pvc_retention"] = PvcRetention(**kwargs["pvc_retention"])
    if "network_policy" in kwargs:
        kwargs["network_policy"] = NetworkPolicyArgs(**kwargs["network_policy"])
    if "resources" in kwargs:
        containers = kwargs["resources"]
        kwargs["resources"] = Resources(
            **{name: ContainerResources(**parts) for name, parts in containers.items()}
        )
    return kwargs
