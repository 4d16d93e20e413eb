"""Settings the running cluster's data is bound to (issue 15, defect 7), on the scenarios' stack.

A configuration that changes
`serverIdOffset`, `serverConfig.lower_case_table_names` or `serverConfig.innodb_page_size`, and lowers the
version (on a flavor that has a lower one) or switches the flavor, is refused by `pulumi preview` and by
`pulumi up`, with one message naming every such setting and what is allowed, and nothing changes: the
StatefulSet keeps its generation, no pod restarts. Set back, the stack has nothing to change. The pods
recorded what the data is bound to in the state ConfigMap.
"""

from __future__ import annotations

import time

import pytest

from mysql_cluster.flavors import SUPPORTED_VERSIONS

from .checks import Report
from .harness import CLUSTER_NAME, FLAVOR_NAME, FLAVOR_VERSION, LOCAL_IMAGE, Kube, Stack

pytestmark = pytest.mark.e2e


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def bound_changes() -> tuple[dict[str, str], list[str]]:
    """Stack settings (`--path` keys) that change what the data is bound to, and the refusal's lines."""
    changes = {
        "serverIdOffset": "101",
        "serverConfig.lower_case_table_names": "1",
        "serverConfig.innodb_page_size": "8k",
    }
    expected = [
        "serverIdOffset: got 101; allowed: 100 (recorded by its pods)",
        "serverConfig.lower_case_table_names: got 1; allowed: 0 (recorded by its pods)",
        "serverConfig.innodb_page_size: got 8192; allowed: 16384 (recorded by its pods)",
    ]
    lower = [v for v in SUPPORTED_VERSIONS[FLAVOR_NAME] if _release(v) < _release(FLAVOR_VERSION)]
    if lower:  # a downgrade, with images of that version (refused before any image is pulled)
        image = f"localhost/mysql-cluster/{FLAVOR_NAME}:{lower[-1]}"
        changes |= {"version": lower[-1], "image": image, "backupImage": image}
        expected.append(f"version: got {lower[-1]}; allowed: {FLAVOR_VERSION} or newer")
    else:  # the other flavor, on its local image
        other, version = ("mysql", "9.7") if FLAVOR_NAME == "mariadb" else ("mariadb", "10.11")
        image = f"localhost/mysql-cluster/{other}:{version}"
        changes |= {"flavor": other, "version": version, "image": image, "backupImage": image}
        expected.append(f"flavor: got {other}; allowed: {FLAVOR_NAME} (recorded by its pods)")
    return changes, expected


def test_settings_the_data_is_bound_to_are_refused_and_nothing_changes(
    stack: Stack, kube: Kube, report: Report
) -> None:
    recorded = kube.json("get", "configmap", f"{CLUSTER_NAME}-state")["data"]
    generation = kube.json("get", "statefulset", CLUSTER_NAME)["metadata"]["generation"]
    pods = {p["metadata"]["name"]: p["metadata"]["uid"] for p in kube.json("get", "pods")["items"]}

    changes, expected = bound_changes()
    for key, value in changes.items():
        stack.config_set(key, value, path=True)
    try:
        for command in (("preview",), ("up", "--yes", "--skip-preview")):
            start = time.monotonic()
            refused = stack.pulumi(*command, check=False)
            seconds = time.monotonic() - start
            assert refused.returncode != 0, f"pulumi {command[0]} accepted {changes}"
            message = refused.stdout + refused.stderr
            for line in [*expected, "nothing was changed"]:
                assert line in message, f"{line!r} not in:\n{message}"
            refusals = "; ".join(line.split(";")[0] for line in expected)
            report(f"pulumi {command[0]} refused in {seconds:.1f}s: {refusals}")
    finally:
        for key in changes:
            stack.pulumi("config", "rm", "--path", key)
        for key, value in (("flavor", FLAVOR_NAME), ("version", FLAVOR_VERSION), ("image", LOCAL_IMAGE),
                           ("backupImage", LOCAL_IMAGE)):  # fmt: skip
            stack.config_set(key, value)  # as conftest.py set them
    assert kube.json("get", "statefulset", CLUSTER_NAME)["metadata"]["generation"] == generation
    assert {p["metadata"]["name"]: p["metadata"]["uid"] for p in kube.json("get", "pods")["items"]} == pods
    assert kube.json("get", "configmap", f"{CLUSTER_NAME}-state")["data"] == recorded
    assert {key: recorded.get(key) for key in ("flavor", "newest-version", "server-id-offset",
            "lower-case-table-names", "innodb-page-size")} == {
        "flavor": FLAVOR_NAME, "newest-version": FLAVOR_VERSION, "server-id-offset": "100",
        "lower-case-table-names": "0", "innodb-page-size": "16384",
    }, recorded  # fmt: skip
    settled = stack.pulumi("preview", "--expect-no-changes", check=False)
    assert settled.returncode == 0, f"set back, the stack wants changes:\n{settled.stdout}\n{settled.stderr}"
    report("StatefulSet, pods and state record unchanged; set back, the stack has nothing to change")
