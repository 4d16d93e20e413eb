"""Where the cluster is and how to log in: from the stack outputs, from flags, or both (flags win).

Stack outputs come from `pulumi stack output --json --show-secrets`. The root password comes, in this order,
from the Secret named by `--secret`, the stack output, the environment variable MYSQL_ROOT_PASSWORD, or the
cluster's Secret (named in the stack outputs, or derived from the StatefulSet name). It is never a flag.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .kube import Kubectl
from .model import Address, Cluster, ConfigError, Password
from .project import names

PASSWORD_ENV = "MYSQL_ROOT_PASSWORD"  # noqa: S105 - the variable's name, not a password
PULUMI_TIMEOUT = 120.0  # seconds; `pulumi stack output` decrypts the state, slow on a cold backend
DEFAULT_MAX_LAG = 60
MAX_LAG_CONFIG_KEY = "maxLagSeconds"


class Outputs:
    """The stack output names the component exports (`mysql_cluster/component.py`), spelled once."""

    NAMESPACE = "namespace"
    STATEFULSET = "statefulSetName"
    POD_NAMES = "podNames"
    POD_HOSTS = "podHosts"
    REPLICAS = "replicas"
    FLAVOR = "flavor"
    VERSION = "version"
    SECRET = "secretName"  # noqa: S105 - output names, not secrets
    ROOT_PASSWORD = "rootPassword"  # noqa: S105
    MAX_LAG = "maxLagSeconds"
    PORT = "port"


@dataclass(frozen=True)
class Request:
    """What the operator asked for on the command line (None: not given)."""

    stack: str | None = None
    use_stack: bool = False
    cwd: Path | None = None
    context: str | None = None
    namespace: str | None = None
    statefulset: str | None = None
    secret: str | None = None
    secret_key: str = names.SECRET_KEY_ROOT
    flavor: str | None = None
    version: str | None = None
    replicas: int | None = None
    endpoints: Sequence[str] = ()  # "<pod>=<host>:<port>"
    primary_sources: Sequence[str] = ()  # "<host>:<port>"
    mysql_port: int | None = None  # the server port inside the pods
    cluster_domain: str = "cluster.local"
    max_lag: int | None = None


@dataclass(frozen=True)
class Target:
    """A cluster to check, the password to log in with, and how to reach the pods not given explicitly."""

    cluster: Cluster
    password: Password = field(repr=False)
    endpoints: dict[str, Address]  # explicit `--endpoint` addresses
    kubectl: Kubectl | None  # None: no namespace known, every pod must have an explicit endpoint
    pod_hosts: tuple[str, ...]  # in-cluster DNS names, by ordinal (empty when unknown)
    mysql_port: int


def resolve(request: Request, environ: Mapping[str, str] = os.environ) -> Target:
    """The Target for `request`; ConfigError (exit 2) when something needed is missing or invalid."""
    outputs = stack_outputs(request.stack, request.cwd) if request.use_stack or request.stack else {}
    endpoints = parse_endpoints(request.endpoints)
    statefulset = request.statefulset or _str(outputs, Outputs.STATEFULSET) or _common_prefix(endpoints)
    namespace = request.namespace or _str(outputs, Outputs.NAMESPACE)
    replicas = request.replicas or _int(outputs, Outputs.REPLICAS) or _pods_named(endpoints)
    if not statefulset or not replicas:
        raise ConfigError(
            "no cluster to check: give --stack (or --stack-outputs), or --namespace and --statefulset, "
            "or an --endpoint <pod>=<host>:<port> for every pod"
        )
    pods = _pod_names(outputs, request, statefulset, replicas)
    if unknown := sorted(set(endpoints) - set(pods)):
        raise ConfigError(
            f"--endpoint for {', '.join(unknown)}: not a pod of {statefulset} ({replicas} pods)"
        )
    kubectl = Kubectl(namespace, request.context) if namespace else None
    if kubectl is None and (missing := [pod for pod in pods if pod not in endpoints]):
        raise ConfigError(f"no --namespace to reach {', '.join(missing)} (or give an --endpoint for each)")
    port = request.mysql_port or _int(outputs, Outputs.PORT) or names.MYSQL_PORT
    hosts = _pod_hosts(outputs, statefulset, namespace, replicas, request.cluster_domain)
    cluster = Cluster(
        pods=pods,
        namespace=namespace,
        statefulset=statefulset,
        flavor=request.flavor or _str(outputs, Outputs.FLAVOR),
        version=request.version or _str(outputs, Outputs.VERSION),
        primary_sources=_primary_sources(request, hosts, port, endpoints.get(pods[0])),
        pod_addresses=_pod_addresses(pods, hosts, port, endpoints),
        max_lag_seconds=_max_lag(request, outputs),
    )
    password = _password(request, outputs, kubectl, statefulset, environ)
    return Target(cluster, password, endpoints, kubectl, hosts, port)


def stack_outputs(stack: str | None, cwd: Path | None) -> dict[str, Any]:
    """The stack's outputs, secrets in plain text (they stay in memory)."""
    stdout = _pulumi(["stack", "output", "--json", "--show-secrets"], stack, cwd)
    try:
        outputs = json.loads(stdout)
    except json.JSONDecodeError:
        raise ConfigError("pulumi stack output printed no JSON") from None
    if not isinstance(outputs, dict) or not outputs:
        raise ConfigError("the stack has no outputs: was `pulumi up` run?")
    return outputs


def stack_config(stack: str | None, cwd: Path | None) -> dict[str, Any]:
    """The stack's configuration without secrets: `{"<project>:<key>": {"value": ...}}`."""
    try:
        parsed = json.loads(_pulumi(["config", "--json"], stack, cwd))
    except (ConfigError, json.JSONDecodeError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _pulumi(args: list[str], stack: str | None, cwd: Path | None) -> str:
    command = ["pulumi", *args, "--non-interactive", *(["--stack", stack] if stack else [])]
    try:
        result = subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, timeout=PULUMI_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ConfigError(f"pulumi {' '.join(args[:2])}: {error}") from None
    if result.returncode != 0:
        # pulumi's stderr names the stack or backend problem; stdout (with secrets) is never shown.
        raise ConfigError(f"pulumi {' '.join(args[:2])} failed: {result.stderr.strip()}")
    return result.stdout


def parse_endpoints(specs: Sequence[str]) -> dict[str, Address]:
    endpoints = {}
    for spec in specs:
        pod, sep, address = spec.partition("=")
        try:
            if not sep or not pod:
                raise ValueError
            endpoints[pod.strip()] = Address.parse(address)
        except ValueError:
            raise ConfigError(f"--endpoint {spec!r}: expected <pod>=<host>:<port>") from None
    return endpoints


def host_aliases(host: str) -> list[str]:
    """A pod's FQDN and the shorter names resolv.conf search domains make equivalent, longest first:
    `mysql-0.mysql-headless.ns.svc.cluster.local`, ...`.ns.svc`, ...`.ns`, `mysql-0.mysql-headless`."""
    labels = host.rstrip(".").split(".")
    if len(labels) < 4 or labels[3] != "svc":
        return [host]
    return [host] + [".".join(labels[:n]) for n in (4, 3, 2) if n < len(labels)]


def _pod_names(
    outputs: Mapping[str, Any], request: Request, statefulset: str, replicas: int
) -> tuple[str, ...]:
    exported = outputs.get(Outputs.POD_NAMES)
    explicit = request.statefulset or request.replicas
    if not explicit and isinstance(exported, list) and exported and all(isinstance(p, str) for p in exported):
        return tuple(exported)
    return tuple(names.pods(statefulset, replicas))


def _pod_hosts(
    outputs: Mapping[str, Any], statefulset: str, namespace: str | None, replicas: int, domain: str
) -> tuple[str, ...]:
    exported = outputs.get(Outputs.POD_HOSTS)
    if isinstance(exported, list) and len(exported) >= replicas and all(isinstance(h, str) for h in exported):
        return tuple(exported)
    if namespace is None:
        return ()
    return tuple(names.pod_host(statefulset, ordinal, namespace, domain) for ordinal in range(replicas))


def _primary_sources(
    request: Request, hosts: Sequence[str], port: int, primary_endpoint: Address | None
) -> tuple[Address, ...]:
    if request.primary_sources:
        try:
            return tuple(Address.parse(spec, port) for spec in request.primary_sources)
        except ValueError as error:
            raise ConfigError(f"--primary-source: {error}") from None
    sources = [Address(alias, port) for alias in host_aliases(hosts[0])] if hosts else []
    return tuple(sources + ([primary_endpoint] if primary_endpoint else []))


def _pod_addresses(
    pods: Sequence[str], hosts: Sequence[str], port: int, endpoints: Mapping[str, Address]
) -> tuple[tuple[Address, str], ...]:
    known = [
        (Address(alias, port), pods[i])
        for i, host in enumerate(hosts[: len(pods)])
        for alias in host_aliases(host)
    ]
    return tuple(known + [(address, pod) for pod, address in endpoints.items()])


def _max_lag(request: Request, outputs: Mapping[str, Any]) -> int:
    if request.max_lag is not None:
        return request.max_lag
    if (exported := _int(outputs, Outputs.MAX_LAG)) is not None:
        return exported
    if request.use_stack or request.stack:
        for key, entry in stack_config(request.stack, request.cwd).items():
            value = entry.get("value") if isinstance(entry, dict) else None
            if key.endswith(f":{MAX_LAG_CONFIG_KEY}") and str(value).isdigit():
                return int(str(value))
    return DEFAULT_MAX_LAG


def _password(
    request: Request,
    outputs: Mapping[str, Any],
    kubectl: Kubectl | None,
    statefulset: str,
    environ: Mapping[str, str],
) -> Password:
    if request.secret:
        if kubectl is None:
            raise ConfigError("--secret needs --namespace (or the stack outputs) to find the Secret")
        return kubectl.secret_value(request.secret, request.secret_key)
    if isinstance(exported := outputs.get(Outputs.ROOT_PASSWORD), str) and exported:
        return Password(exported)
    if environ.get(PASSWORD_ENV):
        return Password(environ[PASSWORD_ENV])
    if kubectl is not None:
        secret = _str(outputs, Outputs.SECRET) or names.secret(statefulset)
        return kubectl.secret_value(secret, request.secret_key)
    raise ConfigError(f"no root password: set {PASSWORD_ENV}, or give --secret with --namespace, or --stack")


def _str(outputs: Mapping[str, Any], key: str) -> str | None:
    value = outputs.get(key)
    return value if isinstance(value, str) and value else None


def _int(outputs: Mapping[str, Any], key: str) -> int | None:
    value = outputs.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _pods_named(endpoints: Mapping[str, Address]) -> int:
    """How many pods the explicit endpoints imply: the highest ordinal named, plus one."""
    ordinals = [int(m[1]) for pod in endpoints if (m := re.search(r"-(\d+)$", pod))]
    return max(ordinals, default=-1) + 1


def _common_prefix(endpoints: Mapping[str, Address]) -> str | None:
    """The StatefulSet name shared by pods `<name>-<ordinal>`, when every explicit endpoint agrees."""
    matches = [re.fullmatch(r"(.+)-\d+", pod) for pod in endpoints]
    prefixes = {match[1] for match in matches if match}
    return prefixes.pop() if len(prefixes) == 1 and all(matches) else None
