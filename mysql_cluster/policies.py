"""What the cluster's pods may do and what may be done to them: RBAC, disruption budget, network policy."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from mysql_cluster import names
from mysql_cluster.config import NetworkPolicyArgs


@dataclass(frozen=True)
class Rbac:
    service_account: k8s.core.v1.ServiceAccount
    role: k8s.rbac.v1.Role
    binding: k8s.rbac.v1.RoleBinding


def _metadata(cluster: str, name: str, namespace: pulumi.Input[str]) -> k8s.meta.v1.ObjectMetaArgs:
    return k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, labels=names.labels(cluster))


def create_rbac(
    cluster: str, namespace: pulumi.Input[str], replicas: int, opts: pulumi.ResourceOptions
) -> Rbac:
    """The pods' identity: allowed to read and label exactly the StatefulSet's own pods, to read the
    StatefulSet and the claims and to record the first initialisation (and what the data is bound to) in the
    state ConfigMap; nothing else.

    The `label-pod` init container patches `mysql-cluster.io/role` on its own pod. `resourceNames` lists every
    pod name for the current `replicas` (a Role cannot say "my own pod"), so a compromised pod can at worst
    relabel a sibling, never read Secrets or touch anything else.
    """
    service_account = k8s.core.v1.ServiceAccount(
        names.service_account(cluster),
        metadata=_metadata(cluster, names.service_account(cluster), namespace),
        # The token is projected into the label-pod container alone (statefulset.py), not into all.
        automount_service_account_token=False,
        opts=opts,
    )
    role = k8s.rbac.v1.Role(
        names.label_pod_role(cluster),
        metadata=_metadata(cluster, names.label_pod_role(cluster), namespace),
        rules=[
            k8s.rbac.v1.PolicyRuleArgs(
                api_groups=[""],
                resources=["pods"],
                verbs=["get", "patch"],
                resource_names=names.pods(cluster, replicas),
            ),
            # Ordinal 0's bootstrap facts (scripts/bootstrap-facts.sh): the state ConfigMap it records the
            # first initialisation in (where every pod records what the data is bound to:
            # scripts/cluster-facts.sh), the StatefulSet's replica count, and which pods have a claim. Claims
            # are not limited by name: a `kubectl scale` beyond `replicas` must not lock the primary out.
            k8s.rbac.v1.PolicyRuleArgs(
                api_groups=[""],
                resources=["configmaps"],
                verbs=["get", "patch"],
                resource_names=[names.state_config_map(cluster)],
            ),
            k8s.rbac.v1.PolicyRuleArgs(
                api_groups=["apps"],
                resources=["statefulsets"],
                verbs=["get"],
                resource_names=[names.statefulset(cluster)],
            ),
            k8s.rbac.v1.PolicyRuleArgs(api_groups=[""], resources=["persistentvolumeclaims"], verbs=["get"]),
        ],
        opts=opts,
    )
    binding = k8s.rbac.v1.RoleBinding(
        names.label_pod_role(cluster),
        metadata=_metadata(cluster, names.label_pod_role(cluster), namespace),
        role_ref=k8s.rbac.v1.RoleRefArgs(
            api_group="rbac.authorization.k8s.io", kind="Role", name=role.metadata.name
        ),
        subjects=[
            k8s.rbac.v1.SubjectArgs(
                kind="ServiceAccount", name=service_account.metadata.name, namespace=namespace
            )
        ],
        opts=opts,
    )
    return Rbac(service_account=service_account, role=role, binding=binding)


def create_disruption_budget(
    cluster: str, namespace: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> k8s.policy.v1.PodDisruptionBudget:
    """Voluntary disruptions (drains, upgrades) take down at most one pod of the cluster at a time.

    `maxUnavailable: 1` rather than `minAvailable`: it never blocks a drain forever, not even for a
    one-pod cluster, while a drain still cannot empty the read Service or take two pods at once.
    """
    return k8s.policy.v1.PodDisruptionBudget(
        names.disruption_budget(cluster),
        metadata=_metadata(cluster, names.disruption_budget(cluster), namespace),
        spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
            max_unavailable=1,
            # A pod that is not ready (a lagging replica, a crashed server) serves nothing: its eviction must
            # not wait for the budget, or one broken replica would block every node drain.
            unhealthy_pod_eviction_policy="AlwaysAllow",
            selector=k8s.meta.v1.LabelSelectorArgs(match_labels=names.selector_labels(cluster)),
        ),
        opts=opts,
    )


def create_network_policy(
    cluster: str,
    namespace: pulumi.Input[str],
    policy: NetworkPolicyArgs,
    opts: pulumi.ResourceOptions,
) -> k8s.networking.v1.NetworkPolicy:
    """Ingress to the cluster's pods: clone port from its own pods only; database port per `policy`, and
    always from its own pods (replication, and the CLONE plugin's clones).

    The clone port streams a full physical backup (with the CLONE plugin: the donor's word that it is fit) to
    a peer that proves the cluster's clone credential (scripts/transport.sh); the policy adds a second wall
    where the CNI enforces it. Egress is not restricted
    (the policy lists only `Ingress`). Probes are exec probes, so the kubelet needs no network rule.
    """
    own_pods = k8s.networking.v1.NetworkPolicyPeerArgs(
        pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=names.selector_labels(cluster))
    )
    database_from: list[k8s.networking.v1.NetworkPolicyPeerArgs] | None
    source = policy.allow_database_from
    if source == "any":
        database_from = None  # no `from`: every source
    elif source == "namespace":
        # An empty pod selector without a namespace selector: every pod of the policy's own namespace.
        database_from = [
            k8s.networking.v1.NetworkPolicyPeerArgs(pod_selector=k8s.meta.v1.LabelSelectorArgs())
        ]
    else:
        database_from = [own_pods] + [
            k8s.networking.v1.NetworkPolicyPeerArgs(
                namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                    match_labels={names.LABEL_NAMESPACE_NAME: ns}
                )
            )
            for ns in source
        ]
    clone_rules = [
        k8s.networking.v1.NetworkPolicyIngressRuleArgs(
            ports=[k8s.networking.v1.NetworkPolicyPortArgs(port=names.PORT_NAME_CLONE, protocol="TCP")],
            from_=[own_pods],
        )
    ]
    return k8s.networking.v1.NetworkPolicy(
        names.network_policy(cluster),
        metadata=_metadata(cluster, names.network_policy(cluster), namespace),
        spec=k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=names.selector_labels(cluster)),
            policy_types=["Ingress"],
            ingress=[
                *clone_rules,
                k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                    ports=[
                        k8s.networking.v1.NetworkPolicyPortArgs(port=names.PORT_NAME_MYSQL, protocol="TCP")
                    ],
                    from_=database_from,
                ),
            ],
        ),
        opts=opts,
    )
