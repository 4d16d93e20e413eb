"""Rotating the generated passwords under a running writer (issue 7, defect 4), after the chaos scenarios and
before destroy (pytest runs files by name). `pulumi config set passwordRotation <label> && pulumi up` makes
the random provider generate three new passwords into the Secret; no pod restarts, both Services keep their
endpoints, every acknowledged row reaches every pod, the old passwords stop working and the new ones work.
"""

from __future__ import annotations

import time

import pytest

from .checks import Report, assert_healthy
from .harness import Kube, Stack
from .rotation import Passwords, ServiceWatch, assert_rotated, restarts, wait_until_rotated
from .test_scenarios_chaos import assert_every_acked_row_everywhere
from .writer import Writer

pytestmark = pytest.mark.e2e


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
