"""StatefulSet objects in the exact shape `kubectl get statefulset <name> -o json` prints (apps/v1).

The API server drops zero and empty status fields (`omitempty`: `readyReplicas`, `currentReplicas`,
`updatedReplicas`, `currentRevision`, `updateRevision`, `observedGeneration`) but always prints
`status.replicas` and `status.availableReplicas`; `updateStrategy.rollingUpdate` exists only for
RollingUpdate. The pod template is abridged to what the component sets that matters here (the image).

Also imported by `fakes/kubectl`, which prints these objects.
"""

from __future__ import annotations

from typing import Any

OLD_REVISION = "mysql-5b9c7d8f6d"  # `<statefulset>-<hash>`, as the controller names ControllerRevisions
NEW_REVISION = "mysql-7f4d9c6b58"


def statefulset(
    name: str = "mysql",
    namespace: str = "db",
    *,
    replicas: int = 3,
    generation: int = 2,
    observed_generation: int | None = None,  # default: generation (the controller has caught up)
    status_replicas: int | None = None,  # defaults: replicas (a finished rollout)
    ready: int | None = None,
    updated: int | None = None,
    current_revision: str = OLD_REVISION,
    update_revision: str | None = None,  # default: current_revision
    strategy: str = "RollingUpdate",
    partition: int = 0,
    image: str = "docker.io/library/mariadb:10.11",
) -> dict[str, Any]:
    labels = {
        "app.kubernetes.io/name": "mysql-cluster",
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/component": "database",
        "app.kubernetes.io/managed-by": "pulumi",
    }
    update_strategy: dict[str, Any] = {"type": strategy}
    if strategy == "RollingUpdate":
        update_strategy["rollingUpdate"] = {"partition": partition}
    status_replicas = replicas if status_replicas is None else status_replicas
    status: dict[str, Any] = {
        "availableReplicas": replicas if ready is None else ready,
        "collisionCount": 0,
        "currentReplicas": status_replicas if updated is None else status_replicas - updated,
        "currentRevision": current_revision,
        "observedGeneration": generation if observed_generation is None else observed_generation,
        "readyReplicas": replicas if ready is None else ready,
        "replicas": status_replicas,
        "updateRevision": current_revision if update_revision is None else update_revision,
        "updatedReplicas": replicas if updated is None else updated,
    }
    if status["updateRevision"] == status["currentRevision"]:
        status["currentReplicas"] = status["updatedReplicas"]
    omitempty = ("readyReplicas", "currentReplicas", "updatedReplicas", "observedGeneration")
    status = {key: value for key, value in status.items() if value or key not in omitempty}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {
            "annotations": {},
            "creationTimestamp": "2025-11-20T09:12:44Z",
            "generation": generation,
            "labels": labels,
            "name": name,
            "namespace": namespace,
            "resourceVersion": "48213",
            "uid": "0b6f1c3e-5d2a-4c1e-9a3f-6f0e8d2b7c41",
        },
        "spec": {
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
            "podManagementPolicy": "OrderedReady",
            "replicas": replicas,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {key: labels[key] for key in list(labels)[:2]}},
            "serviceName": f"{name}-headless",
            "template": {
                "metadata": {"creationTimestamp": None, "labels": labels},
                "spec": {
                    "containers": [{"name": "mysql", "image": image, "ports": [{"containerPort": 3306}]}]
                },
            },
            "updateStrategy": update_strategy,
            "volumeClaimTemplates": [],
        },
        "status": status,
    }


def after_image_change(name: str = "mysql", replicas: int = 3) -> dict[str, Any]:
    """Mid-rollout after an image change: the highest ordinal replaced and ready, the next one being
    replaced (not ready), the rest still old."""
    return statefulset(
        name,
        replicas=replicas,
        generation=3,
        ready=replicas - 1,
        updated=1,
        update_revision=NEW_REVISION,
        image="docker.io/library/mariadb:11.4",
    )


def just_applied(name: str = "mysql", replicas: int = 3) -> dict[str, Any]:
    """Right after `pulumi up` changed the spec: the controller has not seen generation 3 yet, so the status
    still describes a finished rollout of the old spec (pulumi-kubernetes#3329 returns at this point)."""
    return statefulset(
        name, replicas=replicas, generation=3, observed_generation=2, image="docker.io/library/mariadb:11.4"
    )
