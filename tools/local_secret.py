"""Create (or delete) the namespace and the Secret that the local stack's `existingSecret` names, if any.

The local stack (Pulumi.local.yaml) generates its passwords by default, and then this does nothing. When the
stack is set to `existingSecret` (with createNamespace: false), `make up` runs `local_secret.py ensure`
before deploying: it creates the namespace and a Secret with three fresh random passwords if they do not
exist yet (an existing Secret is never changed: the data was initialised with it). `make down` runs
`local_secret.py delete` after destroying the stack. Passwords go to kubectl on stdin, never on a command
line, and are never printed.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
KEYS = ("root-password", "replication-password", "backup-password")


def local_settings(stack: str) -> tuple[str, str]:
    config = yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text())["config"]
    namespace = str(config["mysql-cluster:namespace"])
    secret = config.get("mysql-cluster:existingSecret")
    return namespace, str(secret or "")


def kubectl(*args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["kubectl", *args], input=stdin, text=True, capture_output=True, check=False)
    if check and result.returncode != 0:
        # kubectl's own message (the passwords went through stdin and are never part of it).
        raise SystemExit(f"[local-secret] kubectl {args[0]} failed: {result.stderr.strip()}")
    return result


def namespace_phase(namespace: str) -> str:
    """'Active', 'Terminating', or '' when the namespace does not exist."""
    result = kubectl("get", "namespace", namespace, "-o", "jsonpath={.status.phase}", check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


def ensure(namespace: str, secret: str) -> None:
    deadline = time.monotonic() + 300
    while namespace_phase(namespace) == "Terminating":  # a `make down` moments ago
        if time.monotonic() > deadline:
            raise SystemExit(f"[local-secret] namespace {namespace} is still terminating after 300s")
        print(f"[local-secret] waiting for namespace {namespace} to finish terminating", file=sys.stderr)
        time.sleep(5)
    if not namespace_phase(namespace):
        kubectl("create", "namespace", namespace)
        print(f"[local-secret] created namespace {namespace}", file=sys.stderr)
    if kubectl("-n", namespace, "get", "secret", secret, check=False).returncode == 0:
        print(f"[local-secret] using the existing Secret {namespace}/{secret}", file=sys.stderr)
        return
    manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": secret,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/part-of": "mysql-cluster"},
        },
        "type": "Opaque",
        "stringData": {key: secrets.token_urlsafe(24) for key in KEYS},
    }
    # `create`, not `apply`: apply would copy the manifest, passwords included, into an annotation.
    kubectl("create", "-f", "-", stdin=json.dumps(manifest))
    print(f"[local-secret] created Secret {namespace}/{secret} with generated passwords", file=sys.stderr)


def delete(namespace: str, secret: str) -> None:
    kubectl("-n", namespace, "delete", "secret", secret, "--ignore-not-found")
    kubectl("delete", "namespace", namespace, "--ignore-not-found", "--wait=false")
    print(f"[local-secret] deleted Secret {namespace}/{secret} and namespace {namespace}", file=sys.stderr)


def main() -> None:
    if len(sys.argv) != 3 or sys.argv[1] not in ("ensure", "delete"):
        raise SystemExit("usage: local_secret.py ensure|delete STACK")
    namespace, secret = local_settings(sys.argv[2])
    if not secret:
        return  # the stack generates its passwords: nothing to prepare or remove
    (ensure if sys.argv[1] == "ensure" else delete)(namespace, secret)


if __name__ == "__main__":
    main()
