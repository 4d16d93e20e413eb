"""The cluster's ConfigMap: the flavor's rendered configuration and the container scripts, verbatim.

The ConfigMap is content-addressed and immutable: its name carries a hash of its data. A mutable ConfigMap is
re-synced into RUNNING pods by the kubelet, so pods of the old revision would run new probe and start scripts
with their old environment for the whole (ordered, pod by pod) rollout, and a Pulumi replacement of a fixed
name deletes it before re-creating it. With a new name per content, each pod revision keeps exactly the files
it was created with; Pulumi creates the new ConfigMap, updates the StatefulSet, waits for the rollout and only
then deletes the old one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from importlib import resources

import pulumi
import pulumi_kubernetes as k8s

from mysql_cluster import names
from mysql_cluster.flavors import Flavor, render_config_files

SCRIPTS_PACKAGE = "mysql_cluster"
SCRIPTS_DIR = "scripts"
CUSTOM_CNF = "custom.cnf"  # the name init-config.sh looks for
# The two types the state ConfigMap is declared as (whenDeleted: Delete, Retain), each the other's alias.
STATE_TYPE = "kubernetes:core/v1:ConfigMap"
STATE_PATCH_TYPE = "kubernetes:core/v1:ConfigMapPatch"


def load_scripts() -> dict[str, str]:
    """Every `mysql_cluster/scripts/*.sh`, byte for byte, by file name."""
    folder = resources.files(SCRIPTS_PACKAGE).joinpath(SCRIPTS_DIR)
    scripts = {
        entry.name: entry.read_text(encoding="utf-8")
        for entry in folder.iterdir()
        if entry.name.endswith(".sh") and entry.is_file()
    }
    missing = [script for script in names.ENTRYPOINT_SCRIPTS if script not in scripts]
    if missing:
        raise RuntimeError(f"the package is incomplete: mysql_cluster/scripts lacks {', '.join(missing)}")
    return dict(sorted(scripts.items()))


def config_files(flavor: Flavor, custom_cnf: str | None = None) -> dict[str, str]:
    """The ConfigMap's data: `render_config_files(flavor)`, the user's `custom.cnf` (serverConfig) if any,
    plus the scripts."""
    rendered = render_config_files(flavor)
    if custom_cnf is not None:
        rendered[CUSTOM_CNF] = custom_cnf
    scripts = load_scripts()
    clash = sorted(rendered.keys() & scripts.keys())
    if clash:
        raise RuntimeError(f"rendered configuration and scripts share file names: {', '.join(clash)}")
    return {**rendered, **scripts}


def checksum(files: Mapping[str, str]) -> str:
    """SHA-256 of a set of files, independent of order; names and contents are length-prefixed."""
    digest = hashlib.sha256()
    for name in sorted(files):
        for part in (name.encode(), files[name].encode()):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    return digest.hexdigest()


def server_config_checksum(flavor: Flavor, custom_cnf: str | None = None) -> str:
    """The checksum of the rendered server configuration alone (the flavor's files and serverConfig)."""
    files = render_config_files(flavor)
    if custom_cnf is not None:
        files[CUSTOM_CNF] = custom_cnf
    return checksum(files)


def create_config_map(
    cluster: str, namespace: pulumi.Input[str], files: Mapping[str, str], opts: pulumi.ResourceOptions
) -> k8s.core.v1.ConfigMap:
    """The immutable ConfigMap mounted read-only at `CLUSTER_CONFIG_DIR` in every container."""
    return k8s.core.v1.ConfigMap(
        names.config_map_resource(cluster),
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=names.config_map(cluster, checksum(files)),
            namespace=namespace,
            labels=names.labels(cluster),
        ),
        immutable=True,
        data=dict(files),
        opts=opts,
    )


def create_state_config_map(
    cluster: str, namespace: pulumi.Input[str], retain_on_delete: bool, opts: pulumi.ResourceOptions
) -> pulumi.CustomResource:
    """The cluster's state: ordinal 0 records in it, once, the claim the cluster was first initialised on
    (scripts/bootstrap-facts.sh), so that a primary whose volume is lost is re-seeded, never initialised
    empty; every pod the settings the data is bound to (cluster_facts.py). Pulumi creates it without data
    and never writes it.

    Kept with retained volumes, and then declared as a ConfigMapPatch: a server-side apply that creates it
    when absent and adopts the one a destroyed deployment left (its data untouched: Pulumi sets no data), so
    that a redeploy on the retained volumes is not refused over it ("Redeploying retained data"); destroy
    relinquishes it instead of deleting it. With `whenDeleted: Delete` it is an ordinary ConfigMap, deleted
    with the volumes whose history it records.

    Each declaration aliases the other type under the same name: switching `whenDeleted` is then an update
    of one resource, not a new one created beside an old one the engine deletes (Delete -> Retain deleted
    the object and its record; Retain -> Delete failed on creating an object that exists).
    """
    name = names.state_config_map(cluster)
    if retain_on_delete:
        return k8s.core.v1.ConfigMapPatch(
            name,
            metadata=k8s.meta.v1.ObjectMetaPatchArgs(
                name=name, namespace=namespace, labels=names.labels(cluster)
            ),
            opts=pulumi.ResourceOptions.merge(
                opts,
                pulumi.ResourceOptions(
                    retain_on_delete=True, ignore_changes=["data"], aliases=[pulumi.Alias(type_=STATE_TYPE)]
                ),
            ),
        )
    return k8s.core.v1.ConfigMap(
        name,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, labels=names.labels(cluster)),
        opts=pulumi.ResourceOptions.merge(
            opts,
            pulumi.ResourceOptions(ignore_changes=["data"], aliases=[pulumi.Alias(type_=STATE_PATCH_TYPE)]),
        ),
    )
