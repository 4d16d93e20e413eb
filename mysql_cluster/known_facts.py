"""What a cluster's data is bound to (cluster_facts.py), read from the Kubernetes API for the redeploy guard.

First the record in the state ConfigMap, which the pods write and which outlives a destroy with retained
volumes. Data initialised before the pods recorded these facts has none: then what its primary (pod 0) runs
with, else (no such pod) what the StatefulSet is configured with: `SERVER_ID_OFFSET`, and from the ConfigMap
mounted, `flavor.env` and `custom.cnf`. The primary, not the StatefulSet: a rollout that the previous program
let through (a changed offset stalls at the first replica it rolls) has changed the StatefulSet, not the
primary, which rolls last; setting it back must pass. These objects hold no secret: the passwords are in the
Secret, which is never read here.
"""

from __future__ import annotations

import re
from typing import Any

from mysql_cluster import cluster_facts, cluster_view, names, server_config
from mysql_cluster.cluster_facts import Known
from mysql_cluster.cluster_view import WHOLE, KubeSettings, get_json, present


def read(settings: KubeSettings, cluster: str, namespace: str) -> Known:
    """The facts of cluster `cluster` in `namespace` (nothing when there is none)."""
    client = cluster_view.api_client(settings)
    try:
        return read_with(client, cluster, namespace)
    finally:
        client.close()


def read_with(client: Any, cluster: str, namespace: str) -> Known:
    """`read` through an API client (`kubernetes.client.ApiClient`)."""
    core = f"/api/v1/namespaces/{namespace}"
    state = get_json(client, f"{core}/configmaps/{names.state_config_map(cluster)}", WHOLE)
    data = (state.get("data") or {}) if present(state) else {}
    recorded = {key: str(data[key]) for key in cluster_facts.KEYS if key in data}
    if recorded:
        return Known(recorded=recorded, running={})
    primary = get_json(client, f"{core}/pods/{names.pod(cluster, 0)}", WHOLE)
    if present(primary):
        return Known(recorded={}, running=running_facts(client, core, primary.get("spec", {})))
    apps = f"/apis/apps/v1/namespaces/{namespace}"
    statefulset = get_json(client, f"{apps}/statefulsets/{names.statefulset(cluster)}", WHOLE)
    if not present(statefulset):
        return Known(recorded={}, running={})
    template = statefulset.get("spec", {}).get("template", {}).get("spec", {})
    return Known(recorded={}, running=running_facts(client, core, template))


def running_facts(client: Any, core: str, pod: dict[str, Any]) -> dict[str, str]:
    """The facts a pod spec of this program runs with."""
    facts: dict[str, str] = {}
    for container in pod.get("containers") or []:
        for variable in container.get("env") or []:
            if variable.get("name") == "SERVER_ID_OFFSET" and variable.get("value"):
                facts[cluster_facts.SERVER_ID_OFFSET] = str(variable["value"])
    config_maps = [
        volume["configMap"]["name"]
        for volume in pod.get("volumes") or []
        if volume.get("name") == names.VOLUME_CLUSTER_CONFIG and "configMap" in volume
    ]
    if not config_maps:
        return facts
    files = get_json(client, f"{core}/configmaps/{config_maps[0]}", WHOLE).get("data") or {}
    flavor = dict(re.findall(r"^(FLAVOR_NAME|FLAVOR_VERSION)='([^']*)'$", files.get("flavor.env", ""), re.M))
    if "FLAVOR_NAME" in flavor and "FLAVOR_VERSION" in flavor:
        facts[cluster_facts.FLAVOR] = flavor["FLAVOR_NAME"]
        facts[cluster_facts.NEWEST_VERSION] = flavor["FLAVOR_VERSION"]
        options = dict(re.findall(r"^([A-Za-z0-9_-]+) = (.*)$", files.get("custom.cnf", ""), re.M))
        for option, value in server_config.init_only_options(options).items():
            facts[cluster_facts.OPTION_KEYS[option]] = value
    return facts
