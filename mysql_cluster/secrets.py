"""The cluster's credentials: generated passwords in ONE Kubernetes Secret, or a Secret the user supplies.

Passwords reach containers only through `secretKeyRef` (see `statefulset.py`), never through a command
line or a plain environment value.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from mysql_cluster import names

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
) -> Credentials:
    """Generate the three passwords and store them in the cluster's Secret.

    `retain_on_delete` keeps the Secret when the stack is destroyed, together with retained data volumes: data
    without its passwords could not be redeployed (`existingSecret`).
    """
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


def _base64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
