"""The redeploy guard: a first deploy refused, with the fix, when its namespace holds data a destroy kept.

With `pvcRetention.whenDeleted: Retain` (the default), `pulumi destroy` keeps the namespace, the Secret
`<name>-credentials`, the state ConfigMap `<name>-state` and the volumes. A later deploy that generates new
passwords would start the pods on data that only the kept passwords open. The guard is a Pulumi dynamic
resource that every other child of the component depends on: its `create` runs when the stack does not hold
it yet (a first deploy, a deploy after a destroy, the first deploy of a stack made before the guard existed),
before anything in the cluster is created, and reads the namespace (names only: cluster_view.py). When it
finds kept objects that the configuration would collide with or lock out, it fails the deployment with one
message naming what it found and the commands of the fix; nothing in the cluster has changed then. Once
created it is never checked again (a normal `pulumi up` of the stack only diffs it), and `pulumi preview`
never reads the cluster for it (the engine does not create resources in a preview).

It also refuses, at `pulumi preview` and `pulumi up` alike (in its `check`, which the engine runs before it
changes anything), a configuration that changes what the cluster's data is bound to (cluster_facts.py): it
reads the cluster for it (known_facts.py) when one of these facts differs from the last deployment's, or the
stack does not hold them yet; otherwise it reads nothing.

It inspects the cluster the default Kubernetes provider deploys to (the stack's `kubernetes:kubeconfig`,
`kubernetes:context`, `kubernetes:cluster`, which the engine hands to dynamic providers, else `KUBECONFIG`).
A component given a Kubernetes provider of its own (`opts.provider(s)`) is not guarded: that provider's
kubeconfig is not visible here, and copying it into the guard's inputs would put it in the state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi.dynamic

from mysql_cluster import cluster_facts, cluster_view, known_facts, names
from mysql_cluster.cluster_view import ClusterView, KubeSettings

RESOURCE_MODULE = "mysql-cluster"
RESOURCE_NAME = "RedeployGuard"  # the type token's tail: pulumi-python:dynamic/mysql-cluster:RedeployGuard
INPUT_KEYS = ("cluster", "namespace", "createNamespace", "existingSecret", "whenDeleted", "facts")


@dataclass(frozen=True)
class Intent:
    """What this deployment would create: the guard's inputs (names and switches, nothing secret)."""

    cluster: str
    namespace: str
    create_namespace: bool
    existing_secret: str | None
    when_deleted: str
    # What the data is bound to (cluster_facts.py), by state ConfigMap key; {} from a stack's state that
    # predates them.
    facts: Mapping[str, str] = field(default_factory=dict)

    def inputs(self) -> dict[str, Any]:
        inputs: dict[str, Any] = {
            "cluster": self.cluster,
            "namespace": self.namespace,
            "createNamespace": self.create_namespace,
            "whenDeleted": self.when_deleted,
            "facts": dict(self.facts),
        }
        if self.existing_secret is not None:  # the engine drops None values
            inputs["existingSecret"] = self.existing_secret
        return inputs

    @classmethod
    def from_inputs(cls, props: Mapping[str, Any]) -> Intent:
        return cls(
            cluster=str(props["cluster"]),
            namespace=str(props["namespace"]),
            create_namespace=bool(props["createNamespace"]),
            existing_secret=props.get("existingSecret") or None,
            when_deleted=str(props["whenDeleted"]),
            facts={str(key): str(value) for key, value in (props.get("facts") or {}).items()},
        )


def refusal(intent: Intent, view: ClusterView) -> str | None:
    """The message that refuses `intent` over what `view` found, or None when the deployment may go on.

    A StatefulSet means a running cluster, not kept data: this stack's own (deployed before the guard
    existed) or another stack's, whose objects the Kubernetes provider refuses to create over by itself.
    """
    if view.statefulset or not view.kept:
        return None
    secret = names.secret(intent.cluster)
    state = names.state_config_map(intent.cluster)
    reasons: list[str] = []
    fixes: list[str] = []
    if intent.create_namespace:
        reasons.append("create the namespace, which exists")
        fixes.append("pulumi config set createNamespace false")
    if intent.existing_secret is None:
        reasons.append("generate new passwords, which do not open the kept data")
        if view.secret:
            fixes.append(f"pulumi config set --plaintext existingSecret {secret}")
    if view.state_config_map and intent.when_deleted == "Delete":
        reasons.append(f"create a ConfigMap {state} over the kept one (pvcRetention.whenDeleted: Delete)")
        fixes.append("pulumi config set --path pvcRetention.whenDeleted Retain")
    if not reasons:
        return None  # the documented redeploy, or an existingSecret of the user's: the kept data is adopted
    lines = [
        f'namespace "{intent.namespace}" holds the data of cluster "{intent.cluster}" kept by an earlier '
        f"`pulumi destroy` (pvcRetention.whenDeleted: Retain): {_found(intent.cluster, view)}. This "
        f"deployment would {', and '.join(reasons)}; nothing was changed.",
    ]
    if intent.existing_secret is None and not view.secret:
        lines.append(
            f"The Secret {secret} that held the kept data's passwords is gone: put them in a Secret of yours "
            f"(keys {', '.join(names.SECRET_KEYS)}) and set `pulumi config set --plaintext existingSecret "
            "<its name>`, then:"
        )
    else:
        lines.append("To redeploy the kept data with its passwords, run:")
    lines.extend(f"    {command}" for command in [*fixes, "pulumi up"])
    kept = [
        *(f"pvc/{claim}" for claim in view.claims),
        *([f"secret/{secret}"] if view.secret else []),
        *([f"configmap/{state}"] if view.state_config_map else []),
    ]
    delete = f"kubectl -n {intent.namespace} delete {' '.join(kept)}"
    lines.append(f"To start empty instead (the kept data is lost): {delete}")
    return "\n".join(lines)


def _found(cluster: str, view: ClusterView) -> str:
    parts = [
        *([f"the state ConfigMap {names.state_config_map(cluster)}"] if view.state_config_map else []),
        *([f"the Secret {names.secret(cluster)}"] if view.secret else []),
    ]
    if view.claims:
        count = len(view.claims)
        parts.append(f"{count} volume{'s' if count > 1 else ''} ({', '.join(view.claims)})")
    return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]


class RedeployGuardProvider(pulumi.dynamic.ResourceProvider):
    """The guard's provider, run by the engine in its own Python process. dill stores it in the state by
    reference (this module's name and the class name: nothing else, nothing secret)."""

    serialize_as_secret_always = False  # it captures nothing: the state shows it in clear

    def __init__(self) -> None:
        super().__init__()
        self._kube = KubeSettings()

    def configure(self, req: pulumi.dynamic.ConfigureRequest) -> None:
        # The engine hands dynamic providers the whole stack configuration, secrets decrypted; only the
        # connection settings are kept, in this process's memory.
        self._kube = KubeSettings(
            kubeconfig=req.config.get("kubernetes:kubeconfig"),
            context=req.config.get("kubernetes:context"),
            cluster=req.config.get("kubernetes:cluster"),
        )

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.CheckResult:
        # At preview and up, before anything changes. The facts the last deployment applied were checked
        # then: unchanged, there is nothing to read.
        intent = Intent.from_inputs(news)
        if olds.get("facts") != news.get("facts"):
            known = self._read("the settings its data is bound to", known_facts.read, intent)
            problems = cluster_facts.refusals(intent.facts, known)
            if problems:
                state = names.state_config_map(intent.cluster)
                raise BoundSettingChanged(
                    cluster_facts.message(intent.cluster, intent.namespace, state, problems)
                )
        return pulumi.dynamic.CheckResult(news, [])

    def _read(self, what: str, reader: Any, intent: Intent) -> Any:
        try:
            return reader(self._kube, intent.cluster, intent.namespace)
        except Exception as err:
            # Shown as the deployment's error: say whose check failed, on what (no Secret's data is read).
            raise RuntimeError(
                f'the redeploy guard cannot read namespace "{intent.namespace}" from the Kubernetes API '
                f"(it checks {what}): {type(err).__name__}: {err}"
            ) from err

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        intent = Intent.from_inputs(props)
        view = self._read("a first deploy for data a destroy kept", cluster_view.read, intent)
        message = refusal(intent, view)
        if message is not None:
            raise RedeployRefused(message)
        return pulumi.dynamic.CreateResult(id_=f"{intent.namespace}/{intent.cluster}", outs=intent.inputs())

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        # Another namespace is another place to check: replaced, i.e. created (checked) again. Other inputs
        # change in place without a check: the stack already holds what it deployed.
        changed = [key for key in INPUT_KEYS if olds.get(key) != news.get(key)]
        return pulumi.dynamic.DiffResult(
            changes=bool(changed),
            replaces=[key for key in changed if key in ("cluster", "namespace")],
            delete_before_replace=False,
        )

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        return pulumi.dynamic.UpdateResult(outs=Intent.from_inputs(news).inputs())


class RedeployRefused(Exception):  # noqa: N818 - the message is what the user reads
    """The deployment would lock out or collide with data a destroy kept."""


class BoundSettingChanged(Exception):  # noqa: N818 - the message is what the user reads
    """The deployment would change a setting the cluster's data is bound to (cluster_facts.py)."""


def guarded(component: pulumi.ComponentResource, intent: Intent) -> pulumi.ResourceOptions:
    """The options of `component`'s children: parented to it and, unless it was given a Kubernetes provider of
    its own, dependent on a guard declared first."""
    child = pulumi.ResourceOptions(parent=component)
    if component.get_provider("kubernetes:core/v1:Namespace") is not None:
        return child
    guard = RedeployGuard(names.redeploy_guard_resource(intent.cluster), intent, child)
    return pulumi.ResourceOptions(parent=component, depends_on=[guard])


class RedeployGuard(pulumi.dynamic.Resource, module=RESOURCE_MODULE, name=RESOURCE_NAME):
    """The check itself, declared before (and depended on by) every other child of the component."""

    def __init__(self, name: str, intent: Intent, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(RedeployGuardProvider(), name, intent.inputs(), opts)
