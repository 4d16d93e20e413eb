"""The cluster's three Services: stable pod DNS, writes to the primary, reads from the replicas."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from mysql_cluster import names


@dataclass(frozen=True)
class Services:
    headless: k8s.core.v1.Service
    write: k8s.core.v1.Service
    read: k8s.core.v1.Service


def _port(name: str, number: int) -> k8s.core.v1.ServicePortArgs:
    return k8s.core.v1.ServicePortArgs(name=name, port=number, target_port=name, protocol="TCP")


def create_services(
    cluster: str,
    namespace: pulumi.Input[str],
    *,
    primary_serves_reads: bool,
    opts: pulumi.ResourceOptions,
) -> Services:
    """Declare the headless, write and read Services of `cluster`."""

    def service(name: str, spec: k8s.core.v1.ServiceSpecArgs) -> k8s.core.v1.Service:
        metadata = k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, labels=names.labels(cluster))
        return k8s.core.v1.Service(name, metadata=metadata, spec=spec, opts=opts)

    mysql_port = _port(names.PORT_NAME_MYSQL, names.MYSQL_PORT)
    selector = names.selector_labels(cluster)

    # Headless Service for stable DNS entries of the StatefulSet's pods (<pod>.<headless>.<ns>.svc...).
    # Not-ready pods are published too: a replica must resolve its peers (the primary, its clone donor) while
    # it is itself still starting, and the StatefulSet names it as its `serviceName`.
    headless = service(
        names.headless_service(cluster),
        k8s.core.v1.ServiceSpecArgs(
            cluster_ip="None",
            publish_not_ready_addresses=True,
            selector=selector,
            ports=[mysql_port, _port(names.PORT_NAME_CLONE, names.CLONE_PORT)],
        ),
    )

    # Write Service: the primary alone, by the pod name the StatefulSet controller sets on ordinal 0.
    write = service(
        names.write_service(cluster),
        k8s.core.v1.ServiceSpecArgs(
            selector={**selector, names.LABEL_POD_NAME: names.primary_pod(cluster)},
            ports=[mysql_port],
        ),
    )

    # Read Service: the ready replicas (readiness includes replication lag), by the role label each pod
    # sets on itself at start; every ready pod, the primary included, with primaryServesReads.
    read_selector = dict(selector)
    if not primary_serves_reads:
        read_selector[names.LABEL_ROLE] = names.ROLE_REPLICA
    read = service(
        names.read_service(cluster),
        k8s.core.v1.ServiceSpecArgs(selector=read_selector, ports=[mysql_port]),
    )
    return Services(headless=headless, write=write, read=read)
