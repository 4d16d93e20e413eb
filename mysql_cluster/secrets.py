"""The cluster's credentials: generated passwords in ONE Kubernetes Secret, or a Secret the user supplies.

Passwords reach containers only through `secretKeyRef` and the Secret mounted as files (see `statefulset.py`),
never through a command line or a plain environment value. The scripts read the files at use time, so a
rotation (a new value in the Secret) reaches running pods without a restart.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from mysql_cluster import names
from mysql_cluster.config import ConfigError

# 32 alphanumerics are ~190 bits. No punctuation: the passwords travel through SQL string literals
# (`SOURCE_PASSWORD='...'`) and client option files, where quotes, backslashes and `#` need escaping that a
# script could get wrong; the length buys the strength instead.
PASSWORD_LENGTH = 32


@dataclass(frozen=True)
class Credentials:
    """Where the pods find the passwords, and the generated ones themselves (None with existingSecret)."""

    secret_name: pulumi.Output[str]
    passwords: dict[str, pulumi.Output[str]] | None  # Secret key -> password, marked secret


def generated_credentials(
    cluster: str,
    namespace: pulumi.Input[str],
    *,
    retain_on_delete: bool,
    opts: pulumi.ResourceOptions,
    rotation: str | None = None,
) -> Credentials:
    """Generate the three passwords and store them in the cluster's Secret.

    `rotation` (config `passwordRotation`) is the passwords' keeper: a new value makes the random provider
    generate new ones; the Secret's files change in the running pods, whose scripts apply them (the README's
    "Rotating passwords"). None keeps no keeper, so stacks deployed before the key existed keep theirs.

    `retain_on_delete` keeps the Secret when the stack is destroyed, together with retained data volumes: data
    without its passwords could not be redeployed (`existingSecret`).
    """
    if rotation is not None and not secret_updates_in_place():
        raise ConfigError([ROTATION_NEEDS_MUTABLE_SECRETS])
    passwords: dict[str, pulumi.Output[str]] = {}
    for key in names.SECRET_KEYS:
        password = random.RandomPassword(
            names.password(cluster, key),
            length=PASSWORD_LENGTH,
            special=False,
            # At least one of each class, so a server-side password policy (validate_password) accepts it.
            min_lower=1,
            min_upper=1,
            min_numeric=1,
            keepers={"rotation": rotation} if rotation is not None else None,
            opts=opts,
        )
        # Marked secret here explicitly rather than trusting the provider's additional_secret_outputs.
        passwords[key] = pulumi.Output.secret(password.result)

    secret = k8s.core.v1.Secret(
        names.secret(cluster),
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=names.secret(cluster),
            namespace=namespace,
            labels=names.labels(cluster),
        ),
        type="Opaque",
        # `data`, not `stringData`: stringData is write-only on the server, which makes server-side apply diff
        # against a field that never comes back.
        data={key: value.apply(_base64) for key, value in passwords.items()},
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(retain_on_delete=retain_on_delete)),
    )
    return Credentials(secret_name=secret.metadata.name, passwords=passwords)


def secret_updates_in_place() -> bool:
    """Whether the (default) Kubernetes provider updates a Secret's data in place: its `enableSecretMutable`
    setting (stack configuration `kubernetes:enableSecretMutable`, else PULUMI_K8S_ENABLE_SECRET_MUTABLE).

    Without it the provider REPLACES a Secret whose data changed, deleting it first (its name is fixed), and
    the engine then replaces what refers to it: the StatefulSet, every pod at once, and with `whenDeleted:
    Delete` every volume (seen on the local cluster). A rotation of generated passwords changes the data.
    """
    configured = pulumi.Config("kubernetes").get("enableSecretMutable")
    if configured is not None:
        return configured.strip().lower() == "true"
    return os.environ.get("PULUMI_K8S_ENABLE_SECRET_MUTABLE", "").strip().lower() == "true"


ROTATION_NEEDS_MUTABLE_SECRETS = (
    "passwordRotation: needs the Kubernetes provider to update the Secret in place; set "
    "`pulumi config set kubernetes:enableSecretMutable true` first (a change of the provider's settings, "
    "nothing is replaced). Without it the provider replaces the Secret when its passwords change, and the "
    "StatefulSet with it: every pod at once and, with pvcRetention.whenDeleted: Delete, every volume"
)


def existing_credentials(
    cluster: str, secret_name: str, namespace: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> Credentials:
    """A Secret the user manages, with the keys `root-password`, `replication-password`, `backup-password`.

    It is read (not managed) so that a missing Secret or key fails the deployment at once, naming what is
    missing, instead of leaving pods in CreateContainerConfigError until the rollout times out.
    """
    existing = k8s.core.v1.Secret.get(
        names.existing_secret_resource(cluster),
        pulumi.Output.concat(namespace, "/", secret_name),
        # The provider treats only `data`/`stringData` as secret, but a Secret made with `kubectl apply`
        # carries its whole manifest, passwords included, in the last-applied-configuration annotation:
        # without this the read would write them into the Pulumi state in clear.
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(additional_secret_outputs=["metadata"])
        ),
    )

    def checked(parts: list[Any]) -> str:
        name, data = parts
        missing = [key for key in names.SECRET_KEYS if not (data or {}).get(key)]
        if missing:
            raise ValueError(
                f"existingSecret {secret_name!r} lacks (or has empty) keys: {', '.join(missing)}"
            )
        return str(name)

    # Only key names leave the apply; the pods refer to the Secret once it has passed the check.
    return Credentials(
        secret_name=pulumi.Output.unsecret(
            pulumi.Output.all(existing.metadata.name, existing.data).apply(checked)
        ),
        passwords=None,
    )


def pod_mounts(keys: tuple[str, ...]) -> list[k8s.core.v1.VolumeMountArgs]:
    """The Secret's files of the given keys, at `SECRETS_DIR/<key>/value` (no subPath: the kubelet updates
    only whole volumes, and a rotation must reach running containers)."""
    return [
        k8s.core.v1.VolumeMountArgs(
            name=names.secret_volume(key), mount_path=f"{names.SECRETS_DIR}/{key}", read_only=True
        )
        for key in keys
    ]


def pod_volumes(secret_name: pulumi.Input[str]) -> list[k8s.core.v1.VolumeArgs]:
    """One volume per Secret key, so that each container sees only the passwords it is given. Mode 0440: the
    kubelet gives the files the pod's fsGroup, the group of the containers' user."""
    return [
        k8s.core.v1.VolumeArgs(
            name=names.secret_volume(key),
            secret=k8s.core.v1.SecretVolumeSourceArgs(
                secret_name=secret_name,
                items=[k8s.core.v1.KeyToPathArgs(key=key, path=names.SECRET_FILE)],
                default_mode=0o440,
                optional=False,
            ),
        )
        for key in names.SECRET_KEYS
    ]


def _base64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
