"""The value types of the configuration (`MySQLClusterArgs`'s parts), their defaults and allowed values, and
`ConfigError`. Validation is in `config_checks`; reading stack configuration in `config`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import pulumi

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
