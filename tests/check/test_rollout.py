"""The `rollout` check, pure: StatefulSet objects as the API server returns them in, a verdict out."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mysql_cluster_check import Check, ExitCode, Report, render_json, render_table
from mysql_cluster_check.checks import evaluate, evaluate_rollout, rollout_state
from mysql_cluster_check.model import Rollout

from .conftest import recorded_cluster, recorded_pods
from .statefulsets import NEW_REVISION, OLD_REVISION, after_image_change, just_applied, statefulset

pytestmark = pytest.mark.check

# A StatefulSet's status in the middle of a rolling update, as printed by kubectl (no `readyReplicas` when
# it would be 0 and so on: the API omits empty fields).
IN_PROGRESS: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "StatefulSet",
    "metadata": {"generation": 5, "name": "db", "namespace": "prod", "resourceVersion": "901"},
    "spec": {"replicas": 2, "updateStrategy": {"rollingUpdate": {"partition": 0}, "type": "RollingUpdate"}},
    "status": {
        "availableReplicas": 0,
        "collisionCount": 0,
        "currentReplicas": 1,
        "currentRevision": "db-6c5d8b9f47",
        "observedGeneration": 5,
        "replicas": 1,
        "updateRevision": "db-85f7d4c9b6",
    },
}


def observed(obj: dict[str, Any], expected_replicas: int = 3) -> list[tuple[str | None, str, str, str]]:
    return [
        (f.statefulset, f.check, f.observed, f.expected)
        for f in evaluate_rollout(rollout_state(obj), expected_replicas)
    ]


def test_status_fields_the_api_omits_count_as_zero() -> None:
    assert rollout_state(IN_PROGRESS) == Rollout(
        statefulset="db",
        strategy="RollingUpdate",
        generation=5,
        observed_generation=5,
        replicas=2,
        status_replicas=1,
        updated=0,
        ready=0,
        current_revision="db-6c5d8b9f47",
        update_revision="db-85f7d4c9b6",
    )
    assert observed(IN_PROGRESS, 2) == [
        (
            "db",
            Check.ROLLOUT,
            "1 pod exists, 0/2 pods updated, 0/2 ready, revision db-6c5d8b9f47 -> db-85f7d4c9b6",
            "a finished rollout of 2 pods",
        )
    ]


def test_a_finished_rollout_passes() -> None:
    assert observed(statefulset()) == []


def test_a_rolling_update_after_an_image_change_fails() -> None:
    [failure] = evaluate_rollout(rollout_state(after_image_change()), 3)
    assert failure.pod is None
    assert failure.statefulset == "mysql"
    assert failure.check == Check.ROLLOUT
    assert failure.observed == f"1/3 pods updated, 2/3 ready, revision {OLD_REVISION} -> {NEW_REVISION}"
    assert failure.expected == "a finished rollout of 3 pods"
    assert failure.detail == ""


def test_a_spec_change_the_controller_has_not_seen_fails() -> None:
    # What pulumi-kubernetes#3329 leaves behind: `pulumi up` is done, the status still shows the old rollout.
    assert observed(just_applied()) == [
        (
            "mysql",
            Check.ROLLOUT,
            "generation 3 not yet seen by the controller (it is at 2), 3/3 pods updated, 3/3 ready",
            "a finished rollout of 3 pods",
        )
    ]


def test_every_pod_updated_but_revision_not_yet_advanced_fails() -> None:
    obj = statefulset(update_revision=NEW_REVISION)  # counts complete, currentRevision still the old one
    assert [o for _, _, o, _ in observed(obj)] == [
        f"3/3 pods updated, 3/3 ready, revision {OLD_REVISION} -> {NEW_REVISION}"
    ]


def test_a_pod_not_ready_after_the_rollout_fails() -> None:
    # Same revision everywhere, but the controller counts one pod not ready (crashing, or still starting).
    assert [o for _, _, o, _ in observed(statefulset(ready=2))] == ["3/3 pods updated, 2/3 ready"]


@pytest.mark.parametrize(
    ("obj", "expected_replicas", "text"),
    [
        (statefulset(replicas=5), 3, "spec.replicas 5, 5/5 pods updated, 5/5 ready"),  # scaled by hand
        (statefulset(replicas=5, status_replicas=3, ready=3, updated=3), 5, "3 pods exist, 3/5 pods updated"),
        (statefulset(replicas=2, status_replicas=3), 2, "3 pods exist, 2/2 pods updated, 2/2 ready"),
    ],
    ids=["scaled-away", "scaling-up", "scaling-down"],
)
def test_a_replica_count_other_than_expected_fails(
    obj: dict[str, Any], expected_replicas: int, text: str
) -> None:
    [(_, check, seen, expected)] = observed(obj, expected_replicas)
    assert check == Check.ROLLOUT
    assert seen.startswith(text)
    assert expected == f"a finished rollout of {expected_replicas} pods"


def test_on_delete_needs_every_pod_updated_and_ready_not_equal_revisions() -> None:
    # OnDelete never advances currentRevision: equal counts are the whole rollout.
    done = statefulset(strategy="OnDelete", update_revision=NEW_REVISION)
    assert "rollingUpdate" not in done["spec"]["updateStrategy"]
    assert observed(done) == []
    starting = statefulset(
        strategy="OnDelete", ready=2, update_revision=NEW_REVISION
    )  # the last one replaced
    assert [o for _, _, o, _ in observed(starting)] == [
        f"3/3 pods updated, 2/3 ready, revision {OLD_REVISION} -> {NEW_REVISION}"
    ]
    waiting = statefulset(strategy="OnDelete", generation=4, updated=1, update_revision=NEW_REVISION)
    [failure] = evaluate_rollout(rollout_state(waiting), 3)
    assert failure.observed == f"1/3 pods updated, 3/3 ready, revision {OLD_REVISION} -> {NEW_REVISION}"
    assert failure.expected == "3 pods updated and ready"
    assert failure.detail == "updateStrategy OnDelete: a pod is updated only when it is deleted"


def test_a_partitioned_rollout_is_unfinished() -> None:
    staged = statefulset(partition=2, updated=1, update_revision=NEW_REVISION)
    [failure] = evaluate_rollout(rollout_state(staged), 3)
    assert failure.detail == "partition 2: ordinals below it are not updated"


# --- in the report: exit code, table, JSON ----------------------------------------------------------------


def report_with(obj: dict[str, Any] | None) -> Report:
    cluster = recorded_cluster(namespace="db", statefulset="mysql")
    pods = tuple(recorded_pods("mariadb-10.11-healthy"))
    rollout = None if obj is None else rollout_state(obj)
    failures = [] if rollout is None else evaluate_rollout(rollout, len(cluster.pods))
    return Report(cluster, pods, {}, tuple(failures + evaluate(cluster, pods)), rollout=rollout)


def test_an_unfinished_rollout_alone_is_unhealthy_with_one_failure_line() -> None:
    report = report_with(after_image_change(replicas=2))
    assert report.exit_code == ExitCode.UNHEALTHY
    assert report.rollout_complete is False
    lines = render_table(report).splitlines()
    assert lines[-2:] == [
        "FAIL mysql (statefulset) rollout: observed 1/2 pods updated, 1/2 ready, "
        f"revision {OLD_REVISION} -> {NEW_REVISION}, expected a finished rollout of 2 pods",
        "UNHEALTHY: 1 failed check",
    ]


def test_a_finished_rollout_is_healthy_and_names_its_revision() -> None:
    report = report_with(statefulset(replicas=2))
    assert report.exit_code == ExitCode.HEALTHY
    assert render_table(report).splitlines()[-1].endswith(f", rollout complete at revision {OLD_REVISION}")


def test_json_has_the_observed_rollout_under_cluster() -> None:
    document = json.loads(render_json(report_with(after_image_change(replicas=2))))
    assert document["cluster"]["rollout"] == {
        "statefulset": "mysql",
        "strategy": "RollingUpdate",
        "generation": 3,
        "observed_generation": 3,
        "replicas": 2,
        "status_replicas": 2,
        "updated": 1,
        "ready": 1,
        "current_revision": OLD_REVISION,
        "update_revision": NEW_REVISION,
        "partition": 0,
        "complete": False,
        "skipped": None,
    }
    assert document["failures"] == [
        {
            "pod": None,
            "statefulset": "mysql",
            "check": "rollout",
            "observed": f"1/2 pods updated, 1/2 ready, revision {OLD_REVISION} -> {NEW_REVISION}",
            "expected": "a finished rollout of 2 pods",
            "detail": "",
        }
    ]
    assert json.loads(render_json(report_with(statefulset(replicas=2))))["cluster"]["rollout"]["complete"]


def test_json_says_why_the_rollout_was_not_checked() -> None:
    report = report_with(None)
    assert report.exit_code == ExitCode.HEALTHY
    rollout = json.loads(render_json(report))["cluster"]["rollout"]
    assert rollout["skipped"] == "no namespace known: the StatefulSet was not read"
    assert rollout["complete"] is None
    assert {key for key, value in rollout.items() if value is not None} == {"skipped"}
    assert "rollout" not in render_table(report)
