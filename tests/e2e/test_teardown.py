"""The last end-to-end scenario, after every other file of the tier (pytest runs files by name): destroy."""

from __future__ import annotations

import json
import time

import pytest

from .checks import Report, wait_for
from .harness import CLUSTER_NAME, Kube, Stack

pytestmark = pytest.mark.e2e


@pytest.mark.smoke
def test_destroy_removes_everything(stack: Stack, kube: Kube, report: Report) -> None:
    start = time.monotonic()
    stack.pulumi("destroy", "--yes", "--skip-preview")
    report(f"pulumi destroy took {time.monotonic() - start:.0f}s")
    exported = json.loads(stack.pulumi("stack", "export").stdout)
    resources = exported.get("deployment", {}).get("resources") or []
    assert resources == [], f"state still holds {[r['urn'] for r in resources]}"
    leftovers = kube.json(
        "get",
        "statefulsets,services,configmaps,secrets,poddisruptionbudgets,networkpolicies,serviceaccounts,roles",
        "--all-namespaces",
        "-l",
        f"app.kubernetes.io/instance={CLUSTER_NAME}",
        namespaced=False,
    )
    # Other flavors' runs may have clusters of the same name beside this one, each in its own namespace.
    mine = [i for i in leftovers["items"] if i["metadata"].get("namespace") == kube.namespace]
    assert mine == [], [i["metadata"]["name"] for i in mine]
    wait_for(
        f"namespace {kube.namespace} to go",
        lambda: kube.run("get", "namespace", kube.namespace, check=False, namespaced=False).returncode != 0,
        timeout=180,
    )
    report("state empty; no object of the stack left; namespace gone")
