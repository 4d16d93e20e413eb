"""Validation of `MySQLClusterArgs`: every problem added to one `Problems`, each naming its stack
configuration key and what is allowed (the bounds themselves, with their reasons, live in `limits`)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from mysql_cluster import limits, server_config
from mysql_cluster.config_types import (
    ANTI_AFFINITIES,
    DATABASE_SOURCES,
    PULL_POLICIES,
    RETENTION_POLICIES,
    ConfigError,
    ContainerResources,
    NetworkPolicyArgs,
    PvcRetention,
    Resources,
)
from mysql_cluster.flavors import RETIRED_VERSIONS, SUPPORTED_VERSIONS
from mysql_cluster.images import check_image_matches
from mysql_cluster.validation import Problems, is_dns1123_label, is_dns1123_subdomain

if TYPE_CHECKING:
    from mysql_cluster.config import MySQLClusterArgs


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


def validate(args: MySQLClusterArgs, problems: Problems) -> None:
    """Adds a problem for every bad value of `args`."""
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
