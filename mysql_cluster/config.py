"""Stack configuration -> validated, typed `MySQLClusterArgs`.

`MySQLClusterArgs` is usable directly from Python; `MySQLClusterArgs.from_config(pulumi.Config())` builds it
from stack configuration (read by `stack_config`). Either way every value is validated when the object is
built (`config_checks`), before the component declares a single resource, and all problems come together in
ONE `ConfigError`, each naming the stack configuration key (`storageSize` for field `storage_size`), the value
given (unless it was set as a secret) and what is allowed. The value types are in `config_types`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import pulumi

from mysql_cluster import server_config, stack_config
from mysql_cluster.config_checks import check_namespace, validate
from mysql_cluster.config_types import (
    ANTI_AFFINITIES,
    DATABASE_SOURCES,
    DEFAULT_SERVER_RESOURCES,
    DEFAULT_SIDECAR_RESOURCES,
    PULL_POLICIES,
    RETENTION_POLICIES,
    AntiAffinity,
    ConfigError,
    ContainerResources,
    NetworkPolicyArgs,
    PullPolicy,
    PvcRetention,
    Resources,
    RetentionPolicy,
)
from mysql_cluster.flavors import DEFAULT_FLAVOR, DEFAULT_VERSIONS
from mysql_cluster.validation import Problems, secret_values

__all__ = [
    "ANTI_AFFINITIES",
    "CONFIG_KEYS",
    "DATABASE_SOURCES",
    "DEFAULT_SERVER_RESOURCES",
    "DEFAULT_SIDECAR_RESOURCES",
    "PULL_POLICIES",
    "RETENTION_POLICIES",
    "AntiAffinity",
    "ConfigError",
    "ContainerResources",
    "MySQLClusterArgs",
    "NetworkPolicyArgs",
    "PullPolicy",
    "PvcRetention",
    "Resources",
    "RetentionPolicy",
    "check_namespace",
]


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
        validate(self, problems)
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
