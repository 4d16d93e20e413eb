"""The `existingSecret` path end to end, on a stack of its own: passwords from a Secret the user made with
`kubectl apply` (so its whole manifest, passwords included, also sits in the last-applied-configuration
annotation) reach the servers, none of them reaches the Pulumi state, and destroy leaves the user's Secret.
Nothing here depends on the flavor: `make e2e` runs it on the first flavor only (marker `once`)."""

from __future__ import annotations

import json
import secrets
import time

import pytest

from .checks import Report, assert_healthy, assert_no_password_in_state, pod_ips, query, resource_types
from .harness import CLUSTER_NAME, Kube, Stack
from .rotation import Passwords, assert_rotated, restarts, wait_until_rotated

pytestmark = [pytest.mark.e2e, pytest.mark.once]


def test_existing_secret_passwords_reach_the_servers_and_stay_out_of_the_state(
    secret_stack: Stack, e2e_env: dict[str, str], report: Report
) -> None:
    stack = secret_stack
    assert stack.existing_passwords is not None
    secret_name = stack.pulumi("config", "get", "existingSecret").stdout.strip()
    kube = Kube(env=e2e_env, namespace=stack.pulumi("config", "get", "namespace").stdout.strip())
    seconds = stack.up()
    report(f"pulumi up of a 2-pod stack on existingSecret {secret_name} took {seconds:.0f}s")

    types = resource_types(assert_no_password_in_state(stack))
    assert "random:index/randomPassword:RandomPassword" not in types, types
    assert stack.outputs()["secretName"] == secret_name
    report("no password generated; none of the Secret's passwords is in the exported state, raw or base64")

    # The replica replicates (the check tool sees both threads running), so the replication password from
    # the Secret works; the root password from the Secret opens both servers.
    assert_healthy(stack, pods=2)
    root = stack.existing_passwords["root"]
    for pod, ip in sorted(pod_ips(kube).items()):
        assert query(ip, root, "SELECT CURRENT_USER()")[0][0].startswith("root@"), pod
    report("check: healthy with 2 pods; the Secret's root password opens both servers")

    # Rotation with existingSecret: the user puts new passwords in their Secret; nothing else is run.
    old = Passwords(**stack.existing_passwords)
    new = Passwords(*(secrets.token_urlsafe(24) for _ in range(3)))
    data = {f"{key}-password": getattr(new, key) for key in ("root", "replication", "backup")}
    manifest = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": secret_name}, "stringData": data}
    kube.run("apply", "-f", "-", stdin=json.dumps(manifest))  # on stdin: no password on a command line
    before = restarts(kube)
    wait_until_rotated(kube, old, new, report)
    assert restarts(kube) == before, "the rotation restarted a container"
    stack.existing_passwords = {"root": new.root, "replication": new.replication, "backup": new.backup}
    assert_rotated(kube, old, new, report)
    assert_healthy(stack, pods=2)

    start = time.monotonic()
    stack.pulumi("destroy", "--yes", "--skip-preview")
    exported = json.loads(stack.pulumi("stack", "export").stdout)
    assert (exported.get("deployment", {}).get("resources") or []) == []
    left = kube.json("get", "statefulsets,pods", "-l", f"app.kubernetes.io/instance={CLUSTER_NAME}")
    assert [i for i in left["items"] if i["kind"] == "StatefulSet"] == [], left["items"]
    kept = kube.json("get", "secret", secret_name)
    assert sorted(kept["data"]) == ["backup-password", "replication-password", "root-password"]
    report(f"destroy took {time.monotonic() - start:.0f}s; state empty; the user's Secret {secret_name} kept")
