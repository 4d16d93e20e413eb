"""Stack configuration -> validated, typed `MySQLClusterArgs`.

`MySQLClusterArgs` is usable directly from Python; `MySQLClusterArgs.from_config(pulumi.Config())` builds it
from stack configuration. Either way every value is validated when the object is built, before the component
declares a single resource, and all problems come together in ONE `ConfigError`, each naming the stack
configuration key (`storageSize` for field `storage_size`), the value given and what is allowed.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal

import pulumi
from pulumi.runtime import config as runtime_config

from mysql_cluster.flavors import DEFAULT_FLAVOR, RETIRED_VERSIONS, SUPPORTED_VERSIONS
from mysql_cluster.validation import Problems, is_dns1123_label, is_dns1123_subdomain, is_int

RetentionPolicy = Literal["Retain", "Delete"]
AntiAffinity = Literal["soft", "hard", "none"]
PullPolicy = Literal["Always", "IfNotPresent", "Never"]
RETENTION_POLICIES: tuple[RetentionPolicy, ...] = ("Retain", "Delete")
ANTI_AFFINITIES: tuple[AntiAffinity, ...] = ("soft", "hard", "none")
PULL_POLICIES: tuple[PullPolicy, ...] = ("Always", "IfNotPresent", "Never")
DATABASE_SOURCES = ("namespace", "any")
RESOURCE_NAMES = ("cpu", "memory", "ephemeral-storage")
MAX_SERVER_ID = 2**32 - 1
# A database StatefulSet is never ready within a minute (pulls, initialisation, clones): less is a typo.
MIN_DEPLOY_TIMEOUT_SECONDS = 60


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
    the Secret are then kept too, so the data can be redeployed with `existingSecret`). Default
    `when_scaled="Delete"`: a replica removed by a scale-down takes its volume along; kept, it would come back
    on a later scale-up far behind, possibly behind binlogs the primary has purged, instead of re-cloning.
    Ordinal 0, the primary, is never scaled away (`replicas >= 1`).
    """

    when_deleted: RetentionPolicy = "Retain"
    when_scaled: RetentionPolicy = "Delete"


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
    image_pull_policy: PullPolicy = "IfNotPresent"
    deploy_timeout_seconds: int = 1200
    cluster_domain: str = "cluster.local"

    def __post_init__(self) -> None:
        problems = Problems()
        _validate(self, problems)
        if problems:
            raise ConfigError(problems.items)

    @property
    def resolved_version(self) -> str:
        """The version to deploy: the one given, or the flavor's default."""
        return self.version if self.version is not None else SUPPORTED_VERSIONS[self.flavor][0]

    @classmethod
    def from_config(cls, config: pulumi.Config, *, reject_unknown_keys: bool = True) -> MySQLClusterArgs:
        """Read and validate the stack configuration of namespace `config.name` (normally `mysql-cluster`).

        With `reject_unknown_keys`, a key of that namespace this program does not know (a typo such as
        `replica`) is an error instead of being silently ignored; pass False when the namespace also holds
        another program's keys.
        """
        return _read_config(cls, config, reject_unknown_keys=reject_unknown_keys)


# --- validation -----------------------------------------------------------------------------------


def _validate(args: MySQLClusterArgs, problems: Problems) -> None:
    # replicas >= 1: with 0 the StatefulSet would scale the primary away, and with whenScaled=Delete its data.
    replicas_ok = problems.integer("replicas", args.replicas, 1)
    if problems.choice("flavor", args.flavor, tuple(SUPPORTED_VERSIONS)) and args.version is not None:
        allowed = " | ".join(SUPPORTED_VERSIONS[args.flavor])
        if args.version not in SUPPORTED_VERSIONS[args.flavor]:
            retired = RETIRED_VERSIONS.get((args.flavor, str(args.version)))
            why = f" ({retired})" if retired else ""
            allowed_here = f"{allowed} for flavor {args.flavor!r} (quoted in YAML){why}"
            problems.add("version", args.version, allowed_here)
    for key, image in (("image", args.image), ("backupImage", args.backup_image)):
        if image is not None:
            problems.image(key, image)
    if args.namespace is not None:
        problems.name("namespace", args.namespace, is_dns1123_label, "a DNS-1123 label such as 'databases'")
    problems.boolean("createNamespace", args.create_namespace)
    problems.quantity("storageSize", args.storage_size, whole_bytes=True, positive=True)
    if args.storage_class not in (None, ""):
        problems.name("storageClass", args.storage_class, is_dns1123_subdomain, "a StorageClass name")
    # server_id = offset + ordinal must be a valid server id (1 .. 2^32-1) for every pod.
    offset_ok = problems.integer("serverIdOffset", args.server_id_offset, 1, MAX_SERVER_ID)
    if offset_ok and replicas_ok and args.server_id_offset + args.replicas - 1 > MAX_SERVER_ID:
        limit = MAX_SERVER_ID - args.replicas + 1
        problems.add("serverIdOffset", args.server_id_offset, f"<= {limit} with {args.replicas} replicas")
    problems.integer("maxLagSeconds", args.max_lag_seconds, 1)
    problems.boolean("primaryServesReads", args.primary_serves_reads)
    retention = args.pvc_retention
    if _typed(problems, "pvcRetention", retention, PvcRetention):
        problems.choice("pvcRetention.whenDeleted", retention.when_deleted, RETENTION_POLICIES)
        problems.choice("pvcRetention.whenScaled", retention.when_scaled, RETENTION_POLICIES)
    if _typed(problems, "resources", args.resources, Resources):
        _validate_resources(problems, "resources.server", args.resources.server)
        _validate_resources(problems, "resources.sidecar", args.resources.sidecar)
    problems.choice("antiAffinity", args.anti_affinity, ANTI_AFFINITIES)
    if _typed(problems, "networkPolicy", args.network_policy, NetworkPolicyArgs):
        _validate_network_policy(problems, args.network_policy)
    if args.existing_secret is not None:
        problems.name("existingSecret", args.existing_secret, is_dns1123_subdomain, "a Secret name")
        # The Secret must already exist in the namespace, so this program cannot be the one creating it.
        if args.create_namespace is True:
            problems.add("existingSecret", args.existing_secret, "only with createNamespace=false")
    problems.choice("imagePullPolicy", args.image_pull_policy, PULL_POLICIES)
    problems.integer("deployTimeoutSeconds", args.deploy_timeout_seconds, MIN_DEPLOY_TIMEOUT_SECONDS)
    problems.name("clusterDomain", args.cluster_domain, is_dns1123_subdomain, "a DNS domain")


def _typed(problems: Problems, key: str, value: object, kind: type) -> bool:
    return isinstance(value, kind) or problems.add(key, value, f"a {kind.__name__}")


def _validate_resources(problems: Problems, key: str, value: object) -> None:
    if not isinstance(value, ContainerResources):
        problems.add(key, value, "a ContainerResources")
        return
    parsed: dict[str, dict[str, Decimal]] = {"requests": {}, "limits": {}}
    for part, quantities in (("requests", value.requests), ("limits", value.limits)):
        for name, text in quantities.items():
            if name not in RESOURCE_NAMES:
                problems.add(f"{key}.{part}.{name}", text, f"keys {', '.join(RESOURCE_NAMES)}")
                continue
            quantity = problems.quantity(
                f"{key}.{part}.{name}", text, whole_bytes=name != "cpu", positive=False
            )
            if quantity is not None:
                parsed[part][name] = quantity
    for name, limit in parsed["limits"].items():
        request = parsed["requests"].get(name)
        if request is not None and request > limit:  # Kubernetes rejects the pod
            problems.add(f"{key}.requests.{name}", value.requests[name], f"<= the limit {value.limits[name]}")


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


# --- reading stack configuration ------------------------------------------------------------------
# Pulumi hands every value to the program as text (objects as JSON text), from YAML, `pulumi config set` or
# `--path` alike. The reader is lenient on spelling ("3" or 3, "true" or true) and strict on meaning. What it
# cannot read is reported with its key and left to the default, so ONE error lists every problem.


def _config_key(field_name: str) -> str:
    """The stack configuration key of a field: `storage_size` -> `storageSize`."""
    head, *rest = field_name.split("_")
    return head + "".join(part.capitalize() for part in rest)


CONFIG_KEYS: dict[str, str] = {_config_key(f.name): f.name for f in fields(MySQLClusterArgs)}
_INTEGER_KEYS = ("replicas", "serverIdOffset", "maxLagSeconds", "deployTimeoutSeconds")
_BOOLEAN_KEYS = ("createNamespace", "primaryServesReads")
_OBJECT_KEYS = {
    "pvcRetention": ("whenDeleted", "whenScaled"),
    "resources": ("server", "sidecar"),
    "networkPolicy": ("enabled", "allowDatabaseFrom"),
}
_INVALID: Any = object()


def _read_config(
    cls: type[MySQLClusterArgs], config: pulumi.Config, *, reject_unknown_keys: bool
) -> MySQLClusterArgs:
    reader = _Reader()
    if reject_unknown_keys:
        for key in sorted(_project_config_keys(config) - CONFIG_KEYS.keys()):
            reader.problems.items.append(
                f"{key}: unknown configuration key{_suggest(key, list(CONFIG_KEYS))}"
            )
    read: dict[str, Callable[[str, Any], Any]] = {
        "pvcRetention": reader.pvc_retention,
        "resources": reader.resources,
        "networkPolicy": reader.network_policy,
    }
    kwargs: dict[str, Any] = {}
    for key, attribute in CONFIG_KEYS.items():
        raw = config.get(key)
        if raw is None:
            continue
        if key in _OBJECT_KEYS:
            value = read[key](key, _decode(raw))
        elif key in _INTEGER_KEYS:
            value = reader.integer(key, raw)
        elif key in _BOOLEAN_KEYS:
            value = reader.boolean(key, raw)
        else:
            value = raw
        if value is not _INVALID:
            kwargs[attribute] = value
    try:
        args = cls(**kwargs)
    except ConfigError as err:
        raise ConfigError(reader.problems.items + err.problems) from None
    if reader.problems:
        raise ConfigError(reader.problems.items)
    return args


class _Reader:
    """Typed reads of decoded values; what cannot be read becomes a problem and `_INVALID`."""

    def __init__(self) -> None:
        self.problems = Problems()

    def _invalid(self, key: str, value: Any, allowed: str) -> Any:
        self.problems.add(key, value, allowed)
        return _INVALID

    def integer(self, key: str, value: Any) -> Any:
        if is_int(value):
            return value
        if isinstance(value, str) and re.fullmatch(r"\s*[+-]?[0-9]+\s*", value):
            return int(value)
        return self._invalid(key, value, "an integer")

    def boolean(self, key: str, value: Any) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        return self._invalid(key, value, "true | false")

    def text(self, key: str, value: Any) -> Any:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):  # `cpu: 1` in YAML
            return str(value)
        return self._invalid(key, value, "a string")

    def mapping(self, key: str, value: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
        """The object's known keys (unknown ones are problems); {} and a problem when it is no object."""
        if not isinstance(value, dict):
            self.problems.add(key, value, f"an object with keys {', '.join(allowed)}")
            return {}
        for unknown in sorted(set(value) - set(allowed)):
            hint = _suggest(unknown, list(allowed))
            self.problems.add(f"{key}.{unknown}", value[unknown], f"only keys {', '.join(allowed)}{hint}")
        return {k: v for k, v in value.items() if k in allowed}

    def pvc_retention(self, key: str, value: Any) -> Any:
        obj = self.mapping(key, value, _OBJECT_KEYS[key])
        kwargs = {
            attr: self.text(f"{key}.{sub}", obj[sub])
            for sub, attr in (("whenDeleted", "when_deleted"), ("whenScaled", "when_scaled"))
            if sub in obj
        }
        return PvcRetention(**{k: v for k, v in kwargs.items() if v is not _INVALID})

    def resources(self, key: str, value: Any) -> Any:
        # A container given replaces that container's defaults wholesale: what is written is what is applied.
        obj = self.mapping(key, value, _OBJECT_KEYS[key])
        kwargs = {name: self._container(f"{key}.{name}", spec) for name, spec in obj.items()}
        return Resources(**kwargs)

    def _container(self, key: str, value: Any) -> ContainerResources:
        obj = self.mapping(key, value, ("requests", "limits"))
        parts: dict[str, dict[str, str]] = {}
        for part, quantities in obj.items():
            named = self.mapping(f"{key}.{part}", quantities, RESOURCE_NAMES)
            texts = {name: self.text(f"{key}.{part}.{name}", q) for name, q in named.items()}
            parts[part] = {name: q for name, q in texts.items() if q is not _INVALID}
        return ContainerResources(**parts)

    def network_policy(self, key: str, value: Any) -> Any:
        obj = self.mapping(key, value, _OBJECT_KEYS[key])
        kwargs: dict[str, Any] = {}
        if "enabled" in obj and (enabled := self.boolean(f"{key}.enabled", obj["enabled"])) is not _INVALID:
            kwargs["enabled"] = enabled
        if "allowDatabaseFrom" in obj:
            source = obj["allowDatabaseFrom"]
            kwargs["allow_database_from"] = tuple(source) if isinstance(source, list) else source
        return NetworkPolicyArgs(**kwargs)


def _suggest(key: str, known: list[str]) -> str:
    """` (did you mean 'x'?)` for a near miss, else ''."""
    close = difflib.get_close_matches(key, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _project_config_keys(config: pulumi.Config) -> set[str]:
    """Every key set in configuration namespace `config.name`, however the engine passed it."""
    prefix = f"{config.name}:"
    everything: dict[str, Any] = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    return {key[len(prefix) :] for key in everything if key.startswith(prefix)}


def _decode(raw: str) -> Any:
    """An object-valued key arrives as JSON text; anything else is returned as given, to be reported."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw
