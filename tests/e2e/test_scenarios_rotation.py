"""Rotating the generated passwords under a running writer (issue 7, defect 4), after the chaos scenarios and
before destroy (pytest runs files by name). `pulumi config set passwordRotation <label> && pulumi up` makes
the random provider generate three new passwords into the Secret; no pod restarts, both Services keep their
endpoints, every acknowledged row reaches every pod, the old passwords stop working and the new ones work.
Then a second rotation with the primary's pod deleted right after the Secret changed, before its sidecar
could apply it: the new pod's server applies the Secret's passwords as it starts and its sidecar binlogs them.
"""

from __future__ import annotations

import time

import pytest

from .checks import Report, assert_healthy, pod_ips, wait_for
from .harness import CLUSTER_NAME, Kube, Stack
from .rotation import Passwords, ServiceWatch, assert_rotated, network_login, restarts, wait_until_rotated
from .writer import Writer, assert_every_acked_row_everywhere

pytestmark = pytest.mark.e2e

APPLIED = "passwords: applied the Secret's passwords"


def uids(kube: Kube) -> dict[str, str]:
    """The identity of the Secret, the StatefulSet, the pods and the claims: a replacement changes it."""
    items = kube.json("get", "secrets,statefulsets,pods,persistentvolumeclaims")["items"]
    return {f"{i['kind']}/{i['metadata']['name']}": i["metadata"]["uid"] for i in items}


def passwords(stack: Stack) -> Passwords:
    out = stack.outputs()
    return Passwords(out["rootPassword"], out["replicationPassword"], out["backupPassword"])


def test_rotating_generated_passwords_under_writes(stack: Stack, kube: Kube, report: Report) -> None:
    stack.up()  # deployed by the earlier scenarios; this module alone deploys it here
    assert_healthy(stack, pods=3)
    old = passwords(stack)
    before = restarts(kube)
    identities = uids(kube)
    services = stack.outputs()
    with (
        Writer(kube, old.root) as writer,
        ServiceWatch(kube, services["writeService"], services["readService"]) as watch,
    ):
        writer.wait_for_rows(100)
        # Pulumi.local.yaml sets it; without it the rotation is refused (the Secret would be replaced).
        assert stack.pulumi("config", "get", "kubernetes:enableSecretMutable").stdout.strip() == "true"
        stack.config_set("passwordRotation", "e2e-rotation-1", plaintext=True)
        start = time.monotonic()
        seconds = stack.up()
        new = passwords(stack)
        assert len({old.root, new.root, old.replication, new.replication, old.backup, new.backup}) == 6
        writer.passwords = [new.root, old.root]
        report(f"pulumi up of the rotation took {seconds:.0f}s; three new passwords in the Secret")
        wait_until_rotated(kube, old, new, report)
        writer.wait_for_rows(100)
        report(f"rotation complete {time.monotonic() - start:.0f}s after the up started, under writes")
    assert watch.samples > 10
    assert watch.empty == [], f"a Service lost every endpoint during the rotation: {watch.empty}"
    report(f"both Services kept a ready endpoint in all {watch.samples} samples (1 s apart)")
    assert restarts(kube) == before, "the rotation restarted a container"
    assert uids(kube) == identities, "the rotation replaced the Secret, the StatefulSet or a volume"
    assert_rotated(kube, old, new, report)
    assert_every_acked_row_everywhere(kube, new.root, writer, report)
    assert_healthy(stack, pods=3)


def logs_in_everywhere(kube: Kube, old: Passwords, new: Passwords) -> bool:
    """The new root password opens every pod's server and the old one none (False while a pod is away)."""
    try:
        ips = pod_ips(kube)
        return len(ips) == 3 and all(
            network_login(ip, "root", new.root) and not network_login(ip, "root", old.root)
            for ip in ips.values()
        )
    except Exception:  # a pod without an address yet, a server not answering yet
        return False


def test_primary_pod_deleted_right_after_the_secret_changed(stack: Stack, kube: Kube, report: Report) -> None:
    """Before the fix the new primary pod knew only the new passwords, which its data refused: no probe
    passed, its sidecar could not apply them, and the cluster was stuck. Now its server applies them as it
    starts (server.sh password_init_file), its sidecar binlogs them, the replicas follow."""
    old = passwords(stack)
    primary, replicas = f"{CLUSTER_NAME}-0", [f"{CLUSTER_NAME}-1", f"{CLUSTER_NAME}-2"]
    before = {pod: count for pod, count in restarts(kube).items() if pod != primary}
    with Writer(kube, old.root) as writer:
        writer.wait_for_rows(100)
        stack.config_set("passwordRotation", "e2e-rotation-2", plaintext=True)
        applied = kube.run("logs", primary, "-c", "backup").stdout.count(APPLIED)
        stack.up()
        # Right after the Secret changed: its sidecar has not applied it (the kubelet refreshes a mounted
        # Secret within about a minute), so the data still has the old passwords.
        assert kube.run("logs", primary, "-c", "backup").stdout.count(APPLIED) == applied
        start = time.monotonic()
        kube.run("delete", "pod", primary, "--wait=false")
        new = passwords(stack)
        writer.passwords = [new.root, old.root]
        # The kubelet refreshes a running pod's mounted Secret at its next sync of the pod (up to about a
        # minute; the scenario above measures it); an annotation makes it sync the replicas now.
        for pod in replicas:
            kube.run("annotate", "pod", pod, "--overwrite", "e2e.mysql-cluster.io/rotation=2")
        seconds = wait_for("the new passwords on every pod", lambda: logs_in_everywhere(kube, old, new), 300)
        report(f"primary pod deleted right after the Secret changed: new passwords on every pod after "
               f"{seconds:.0f}s")  # fmt: skip
        writer.wait_for_rows(100)
        report(f"writes acknowledged again {time.monotonic() - start:.0f}s after the deletion")
    sidecar = kube.run("logs", primary, "-c", "backup").stdout
    assert APPLIED in sidecar, sidecar
    assert restarts(kube)[primary] == 0, "the new primary pod restarted a container"
    assert {pod: count for pod, count in restarts(kube).items() if pod != primary} == before
    assert_every_acked_row_everywhere(kube, new.root, writer, report)
    assert_healthy(stack, pods=3)
    assert_rotated(kube, old, new, report)
