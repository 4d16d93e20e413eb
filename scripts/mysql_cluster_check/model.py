"""The values the check passes around: where pods are, what each one reported, and what failed.

Everything here is plain data. `checks.py` turns pod states into failures, `render.py` turns a report into a
table or JSON; neither talks to a server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Literal

Role = Literal["primary", "replica"]
CanaryStatus = Literal["written", "seen", "timeout", "skipped", "failed"]


class ExitCode(IntEnum):
    """The process exit code: the one thing a script needs to read."""

    HEALTHY = 0
    UNHEALTHY = 1
    UNREACHABLE = 2  # also: misconfigured (no password, bad flags, no stack outputs)


class Check:
    """Names of the checks, as they appear in the table and in the JSON `failures[].check` field."""

    REACHABLE = "reachable"
    FLAVOR = "flavor"
    WRITABLE = "writable"
    SUPER_READ_ONLY = "super_read_only"
    SERVER_ID_UNIQUE = "server_id_unique"
    SERVER_UUID_UNIQUE = "server_uuid_unique"
    PRIMARY_NOT_REPLICATING = "primary_not_replicating"
    REPLICATION_CONFIGURED = "replication_configured"
    IO_THREAD = "replication_io_thread"
    SQL_THREAD = "replication_sql_thread"
    SOURCE = "replication_source"
    LAG = "replication_lag"
    ERRANT = "errant_transactions"  # transactions that originated on a replica, not on the primary
    STALE = "stale_replica"  # the primary cannot serve the replica's position (1236; MySQL 13114)
    DIVERGED = "diverged_replica"  # transactions of an origin the primary knows, which the primary lacks
    CANARY = "canary"
    ROLLOUT = "rollout"  # cluster-level: the StatefulSet, not a pod (`Failure.pod` is None)


class Password:
    """The root password. It never shows itself: not in repr, str, logs or exception messages."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Password(***)"

    __str__ = __repr__


@dataclass(frozen=True, order=True)
class Address:
    """A TCP address. Hosts compare case-insensitively, without a trailing dot."""

    host: str
    port: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "host", self.host.lower().rstrip("."))

    @classmethod
    def parse(cls, text: str, default_port: int | None = None) -> Address:
        """`host:port` or `[v6]:port`; a bare host (or bare IPv6) takes `default_port` when given."""
        text = text.strip()
        if text.startswith("["):
            host, _, rest = text[1:].partition("]")
            port = rest.removeprefix(":") if rest.startswith(":") else ""
        elif text.count(":") == 1:
            host, _, port = text.partition(":")
        else:
            host, port = text, ""
        if not port and default_port is not None:
            port = str(default_port)
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"expected HOST:PORT, got {text!r}")
        return cls(host, int(port))

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Cluster:
    """What the cluster is, from the stack outputs or the flags: everything the checks compare against."""

    pods: tuple[str, ...]  # pod names, index = ordinal
    namespace: str | None = None
    statefulset: str | None = None
    flavor: str | None = None  # as configured; None: detected from each server
    version: str | None = None
    # Every address under which replicas may know the primary, the canonical one first (its in-cluster host
    # names on the MySQL port, in tests its loopback address). Empty: the source check is skipped.
    primary_sources: tuple[Address, ...] = ()
    # Every known address of every pod, to name the pod a misdirected replica replicates from.
    pod_addresses: tuple[tuple[Address, str], ...] = ()
    max_lag_seconds: int = 60

    @property
    def primary(self) -> str:
        return self.pods[0]

    def pod_at(self, address: Address) -> str | None:
        return next((pod for known, pod in self.pod_addresses if known == address), None)


@dataclass(frozen=True)
class Replication:
    """One replica's replication state, from SHOW REPLICA/SLAVE STATUS in the server's own column names."""

    io_running: str  # "Yes", "No", "Connecting"
    sql_running: str
    source: Address | None
    source_server_id: int | None
    lag_seconds: int | None  # NULL when a thread is stopped
    last_io_errno: int = 0
    last_io_error: str = ""
    last_sql_errno: int = 0
    last_sql_error: str = ""

    @property
    def running(self) -> bool:
        return self.io_running == "Yes" and self.sql_running == "Yes"


@dataclass(frozen=True)
class PodState:
    """What one pod reported, or why it could not be asked."""

    name: str
    ordinal: int
    role: Role
    endpoint: str | None  # where the tool connected (host:port), for the operator to reproduce
    error: str | None = None  # set when the pod could not be reached; every other field is then empty
    flavor: str | None = None  # detected from VERSION(): "mysql" or "mariadb"
    version: str | None = None  # VERSION() as the server reports it
    server_id: int | None = None
    server_uuid: str | None = None  # MySQL only; MariaDB has no server_uuid
    gtid_domain_id: int | None = None  # MariaDB only: the domain of the transactions it writes
    read_only: bool | None = None
    super_read_only: bool | None = None  # MySQL only
    gtid_position: str | None = None  # gtid_executed (MySQL) or gtid_current_pos (MariaDB)
    gtid_variables: dict[str, str] = field(default_factory=dict)
    replication: Replication | None = None  # None: no replication configured on this server

    @property
    def reachable(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class CanaryResult:
    """The canary row on one pod: written on the primary, seen (after `delay_seconds`) on a replica."""

    status: CanaryStatus
    delay_seconds: float | None = None
    detail: str = ""


@dataclass(frozen=True)
class Rollout:
    """A StatefulSet's rollout as the API server reports it (`kubectl get statefulset <name> -o json`)."""

    statefulset: str
    strategy: str  # spec.updateStrategy.type: "RollingUpdate" (the default) or "OnDelete"
    generation: int  # metadata.generation: bumped by every change of the spec
    observed_generation: int | None  # status.observedGeneration: the generation the controller acted on
    replicas: int  # spec.replicas: the pods wanted
    status_replicas: int  # status.replicas: the pods the controller has created
    updated: int  # status.updatedReplicas: pods at update_revision
    ready: int  # status.readyReplicas
    current_revision: str | None  # status.currentRevision
    update_revision: str | None  # status.updateRevision: the revision of the current spec.template
    partition: int = 0  # spec.updateStrategy.rollingUpdate.partition: ordinals below it are not updated


@dataclass(frozen=True)
class Failure:
    """One failed check: on one pod, or (`pod` None) on the cluster's StatefulSet."""

    pod: str | None
    check: str
    observed: str
    expected: str
    detail: str = ""
    statefulset: str | None = None  # set on cluster-level failures (`rollout`)

    @property
    def subject(self) -> str:
        """What failed, for people: the pod's name, or `<name> (statefulset)`."""
        return self.pod if self.pod is not None else f"{self.statefulset} (statefulset)"


@dataclass(frozen=True)
class Report:
    """The outcome of one check run."""

    cluster: Cluster
    pods: tuple[PodState, ...]
    canary: dict[str, CanaryResult]
    failures: tuple[Failure, ...]
    canary_timeout_seconds: float | None = None  # None: the canary was disabled
    error: str | None = None  # misconfiguration that stopped the run before any pod was asked
    rollout: Rollout | None = None  # None: the StatefulSet was not read (no namespace known)

    @property
    def exit_code(self) -> ExitCode:
        if self.error is not None or any(f.check == Check.REACHABLE for f in self.failures):
            return ExitCode.UNREACHABLE
        return ExitCode.UNHEALTHY if self.failures else ExitCode.HEALTHY

    @property
    def healthy(self) -> bool:
        return self.exit_code == ExitCode.HEALTHY

    @property
    def rollout_complete(self) -> bool | None:
        """Whether the StatefulSet's rollout is finished; None when it was not read."""
        if self.rollout is None:
            return None
        return not any(f.check == Check.ROLLOUT for f in self.failures)


class ConfigError(Exception):
    """The tool cannot run as asked (exit 2). Messages never contain a password."""
