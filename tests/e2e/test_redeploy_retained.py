"""Switching `pvcRetention.whenDeleted` (issue 15, defect 9) and redeploying retained data (issue 7,
defect 7), on a stack of its own.

The stack is deployed with `whenDeleted: Delete` and switched to the default `Retain`: the state ConfigMap
and the record of the first initialisation in it (`initialised-claim`) stay as they were, the same object;
after the redeploy below, the switch back to `Delete` keeps them too.

`pulumi destroy` keeps the namespace, the Secret, the state ConfigMap and the volumes; a plain `pulumi up`
afterwards is refused by the redeploy guard before anything touches them, with one message that names what
was kept and the commands of the fix (the kept Secret's passwords are the only ones that open the kept data;
new generated ones would lock it out); the documented redeploy (the kept Secret as
`existingSecret`, the kept namespace with `createNamespace: false`) returns the same rows, replicating, with
the kept passwords.
"""

from __future__ import annotations

import base64
import time

import pytest

from .checks import Report, assert_healthy, connect, pod_ips, query, wait_for
from .harness import CLUSTER_NAME, Kube, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.once]

TABLE = "e2e.kept"
ROWS = 500


def table_state(kube: Kube, password: str) -> dict[str, tuple[int, int]]:
    return {
        pod: (query(ip, password, f"SELECT COUNT(*) FROM {TABLE}")[0][0],
              query(ip, password, f"CHECKSUM TABLE {TABLE}")[0][1])
        for pod, ip in sorted(pod_ips(kube).items())
    }  # fmt: skip


def state_config_map(kube: Kube) -> tuple[str, dict[str, str]]:
    """The state ConfigMap's UID and data (the record of the first initialisation)."""
    found = kube.json("get", "configmap", f"{CLUSTER_NAME}-state")
    return found["metadata"]["uid"], found.get("data") or {}


def switch_when_deleted(stack: Stack, kube: Kube, policy: str, report: Report) -> None:
    """Switch `pvcRetention.whenDeleted` to `policy` with a `pulumi up`: the state ConfigMap is kept, the same
    object with the same record."""
    before = state_config_map(kube)
    assert "initialised-claim" in before[1], before
    stack.config_set("pvcRetention.whenDeleted", policy, path=True)
    took = stack.up()
    after = kube.run("get", "configmap", f"{CLUSTER_NAME}-state", check=False)
    assert after.returncode == 0, f"the switch to whenDeleted: {policy} deleted the state ConfigMap"
    assert state_config_map(kube) == before, (before, state_config_map(kube))
    claim = before[1]["initialised-claim"]
    report(
        f"switch to whenDeleted: {policy} took {took:.1f}s; state ConfigMap kept (initialised-claim {claim})"
    )


def test_switching_when_deleted_to_retain_keeps_the_state_record(
    retained_stack: Stack, e2e_env: dict[str, str], report: Report
) -> None:
    stack = retained_stack
    kube = Kube(env=e2e_env, namespace=stack.pulumi("config", "get", "namespace").stdout.strip())
    report(f"pulumi up of a 2-pod stack (whenDeleted: Delete) took {stack.up():.0f}s")
    switch_when_deleted(stack, kube, "Retain", report)


def test_destroy_then_up_on_retained_volumes(
    retained_stack: Stack, e2e_env: dict[str, str], report: Report
) -> None:
    stack = retained_stack
    namespace = stack.pulumi("config", "get", "namespace").stdout.strip()
    kube = Kube(env=e2e_env, namespace=namespace)
    report(f"pulumi up of a 2-pod stack (whenDeleted: Retain) took {stack.up():.0f}s")
    root = stack.password()
    primary = pod_ips(kube)[f"{CLUSTER_NAME}-0"]
    with connect(primary, root) as conn, conn.cursor() as cur:
        cur.execute("CREATE DATABASE IF NOT EXISTS e2e")
        cur.execute(f"CREATE TABLE {TABLE} (id INT PRIMARY KEY, note VARCHAR(64)) ENGINE=InnoDB")
        cur.executemany(f"INSERT INTO {TABLE} VALUES (%s, %s)", [(i, f"row {i}") for i in range(ROWS)])
    wait_for("equal tables on both pods", lambda: len(set(table_state(kube, root).values())) == 1, timeout=60)
    before = table_state(kube, root)
    assert next(iter(before.values()))[0] == ROWS, before
    secret = kube.json("get", "secret", f"{CLUSTER_NAME}-credentials")["data"]

    start = time.monotonic()
    stack.pulumi("destroy", "--yes", "--skip-preview")
    kept = kube.json("get", "persistentvolumeclaims,secrets,configmaps")["items"]
    kept_names = {f"{item['kind']}/{item['metadata']['name']}" for item in kept}
    claims = [f"PersistentVolumeClaim/data-{CLUSTER_NAME}-{ordinal}" for ordinal in (0, 1)]
    for name in (*claims, f"Secret/{CLUSTER_NAME}-credentials", f"ConfigMap/{CLUSTER_NAME}-state"):
        assert name in kept_names, f"{name} was not kept: {sorted(kept_names)}"
    report(
        f"destroy took {time.monotonic() - start:.0f}s; namespace, Secret, state ConfigMap and volumes kept"
    )

    # A preview does not read the cluster for the guard (the engine creates nothing in a preview): it passes.
    assert stack.pulumi("preview", check=False).returncode == 0, stack.log[-1]

    # A plain `pulumi up` would generate new passwords for data that only the kept ones open: refused by the
    # redeploy guard, before anything in the cluster is created, with the fix.
    start = time.monotonic()
    refused = stack.pulumi("up", "--yes", "--skip-preview", check=False)
    refusal_seconds = time.monotonic() - start
    assert refused.returncode != 0, "an up over retained data with new generated passwords was accepted"
    message = refused.stdout + refused.stderr
    expected = [
        f'namespace "{namespace}" holds the data of cluster "{CLUSTER_NAME}" kept by an earlier',
        f"the state ConfigMap {CLUSTER_NAME}-state, the Secret {CLUSTER_NAME}-credentials and 2 volumes "
        f"(data-{CLUSTER_NAME}-0, data-{CLUSTER_NAME}-1)",
        "pulumi config set createNamespace false",
        f"pulumi config set --plaintext existingSecret {CLUSTER_NAME}-credentials",
    ]
    for text in expected:
        assert text in message, f"{text!r} not in:\n{message}"
    assert "already exists" not in message, message  # the provider never got to try
    assert kube.json("get", "secret", f"{CLUSTER_NAME}-credentials")["data"] == secret, (
        "the kept Secret changed"
    )
    kinds = "statefulsets,services,roles,rolebindings,poddisruptionbudgets,networkpolicies"
    created = kube.json("get", kinds)
    assert created["items"] == [], "the refused up created objects"
    configmaps = {item["metadata"]["name"] for item in kube.json("get", "configmaps")["items"]}
    assert configmaps == {"kube-root-ca.crt", f"{CLUSTER_NAME}-state"}, configmaps
    line = [line.strip() for line in message.splitlines() if "holds the data of cluster" in line][-1]
    report(f"plain up refused in {refusal_seconds:.1f}s, kept Secret unchanged, nothing created: {line}")

    # The documented redeploy (README "Redeploying retained data"), first with another serverIdOffset: the
    # kept data is bound to the one its pods recorded in the kept state ConfigMap (issue 15, defect 7).
    stack.config_set("createNamespace", "false")
    stack.config_set("existingSecret", f"{CLUSTER_NAME}-credentials", plaintext=True)
    stack.config_set("serverIdOffset", "200")
    refused = stack.pulumi("up", "--yes", "--skip-preview", check=False)
    message = refused.stdout + refused.stderr
    assert refused.returncode != 0, "an up over kept data with another serverIdOffset was accepted"
    assert "serverIdOffset: got 200; allowed: 100 (recorded by its pods)" in message, message
    assert kube.json("get", kinds)["items"] == [], "the refused up created objects"
    report("redeploy with another serverIdOffset refused by the kept record")
    stack.pulumi("config", "rm", "serverIdOffset")
    stack.existing_passwords = {
        key: base64.b64decode(secret[f"{key}-password"]).decode() for key in ("root", "replication", "backup")
    }
    report(f"redeploy on the kept Secret and volumes took {stack.up():.1f}s")
    assert stack.password() == root
    assert_healthy(stack, pods=2)
    after = table_state(kube, root)
    assert after == before, (before, after)
    report(f"same {ROWS} rows and CHECKSUM TABLE on both pods after the redeploy, with the kept passwords")

    # Back to Delete on the redeployed data: the record stays.
    switch_when_deleted(stack, kube, "Delete", report)
