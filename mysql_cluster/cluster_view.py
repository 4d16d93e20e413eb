"""What a namespace holds of a cluster, read from the Kubernetes API: object names only, never their data.

The redeploy guard (redeploy_guard.py) decides on this view. Every read asks the API server for the object's
metadata alone (`PartialObjectMetadata`), so a Secret's data never leaves the server: it is not in this
process, let alone in the Pulumi state or a log. The API is reached the way the default Kubernetes provider
reaches it: the stack's `kubernetes:kubeconfig` (a path or the file's contents), `kubernetes:context` and
`kubernetes:cluster`, else `KUBECONFIG` (or `~/.kube/config`), else the in-cluster service account.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mysql_cluster import names

METADATA = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
WHOLE = "application/json"  # the whole object: only for objects that hold nothing secret (known_facts.py)
REQUEST_TIMEOUT_SECONDS = 30  # each read; an API server that does not answer fails the check, not hangs it


@dataclass(frozen=True)
class ClusterView:
    """The objects of cluster `cluster` found in its namespace (absent namespace: nothing found)."""

    statefulset: bool = False
    state_config_map: bool = False
    secret: bool = False
    claims: tuple[str, ...] = ()  # the data volumes' claims, `data-<cluster>-<ordinal>`, by ordinal

    @property
    def kept(self) -> bool:
        """Whether anything a destroy keeps (whenDeleted: Retain) is there."""
        return self.state_config_map or self.secret or bool(self.claims)


@dataclass(frozen=True)
class KubeSettings:
    """The default Kubernetes provider's connection settings, from the stack's `kubernetes:*` config."""

    kubeconfig: str | None = None  # a path, or a kubeconfig's contents
    context: str | None = None
    cluster: str | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> KubeSettings:
        def text(key: str) -> str | None:
            value = config.get(f"kubernetes:{key}")
            return str(value) if value not in (None, "") else None

        return cls(kubeconfig=text("kubeconfig"), context=text("context"), cluster=text("cluster"))


def read(settings: KubeSettings, cluster: str, namespace: str) -> ClusterView:
    """Look up, in `namespace`, the StatefulSet, the state ConfigMap, the Secret and the data claims."""
    client = api_client(settings)
    try:
        return read_with(client, cluster, namespace)
    finally:
        client.close()


def read_with(client: Any, cluster: str, namespace: str) -> ClusterView:
    """`read` through an API client (`kubernetes.client.ApiClient`)."""
    core = f"/api/v1/namespaces/{namespace}"
    apps = f"/apis/apps/v1/namespaces/{namespace}"
    # An empty list comes back as `"items": null`.
    claims = get_json(client, f"{core}/persistentvolumeclaims", METADATA_LIST).get("items") or []
    return ClusterView(
        statefulset=present(get_json(client, f"{apps}/statefulsets/{names.statefulset(cluster)}")),
        state_config_map=present(get_json(client, f"{core}/configmaps/{names.state_config_map(cluster)}")),
        secret=present(get_json(client, f"{core}/secrets/{names.secret(cluster)}")),
        claims=data_claims(cluster, [item["metadata"]["name"] for item in claims if present(item)]),
    )


def present(item: dict[str, Any]) -> bool:
    """Whether an object exists and is not being deleted: right after a destroy with `whenDeleted: Delete`
    the garbage collector is still removing the claims, which keep nothing."""
    return bool(item) and not item.get("metadata", {}).get("deletionTimestamp")


def data_claims(cluster: str, claims: list[str]) -> tuple[str, ...]:
    """Of the claims in a namespace, the data volumes of `cluster`'s pods, by ordinal."""
    pattern = re.compile(re.escape(names.data_claim(cluster, 0)[:-1]) + r"(0|[1-9][0-9]*)")
    matches = [match for match in map(pattern.fullmatch, claims) if match]
    return tuple(match.group(0) for match in sorted(matches, key=lambda match: int(match.group(1))))


def get_json(client: Any, path: str, accept: str = METADATA) -> dict[str, Any]:
    """The object's metadata at `path`, or {} when it does not exist."""
    method, url, headers, _body, _post = client.param_serialize(
        "GET", path, header_params={"Accept": accept}, auth_settings=["BearerToken"]
    )
    response = client.call_api(method, url, header_params=headers, _request_timeout=REQUEST_TIMEOUT_SECONDS)
    response.read()
    if response.status == 404:
        return {}
    if not 200 <= response.status < 300:
        # The API's own reason (forbidden, unauthorised, ...): names and verbs, never an object's data.
        raise RuntimeError(f"cannot read {path} from the Kubernetes API: {response.status} {response.reason}")
    parsed: dict[str, Any] = json.loads(response.data)
    return parsed


def api_client(settings: KubeSettings) -> Any:
    """An API client for the cluster the default Kubernetes provider deploys to."""
    # Imported here, when the guard checks (in the engine's provider process), not by every program run. The
    # client's loaders are untyped: held as Any.
    import kubernetes.client  # noqa: PLC0415
    import kubernetes.config  # noqa: PLC0415

    client: Any = kubernetes.client
    config: Any = kubernetes.config
    kube_config: Any = kubernetes.config.kube_config

    configuration = client.Configuration()
    paths = _kubeconfig_paths(settings.kubeconfig)
    if settings.kubeconfig is not None and not paths:
        import yaml  # noqa: PLC0415

        document: Any = yaml.safe_load(settings.kubeconfig)
        if not isinstance(document, dict):
            raise RuntimeError("kubernetes:kubeconfig is neither a file nor a kubeconfig document")
        loader = kube_config.KubeConfigLoader(
            config_dict=_with_cluster(document, settings), active_context=settings.context
        )
    elif paths:
        merged = kube_config.KubeConfigMerger(os.pathsep.join(paths)).config
        _with_cluster(merged.value, settings)
        loader = kube_config.KubeConfigLoader(config_dict=merged, active_context=settings.context)
    else:
        config.load_incluster_config(client_configuration=configuration)
        return client.ApiClient(configuration)
    loader.load_and_set(configuration)
    return client.ApiClient(configuration)


def _kubeconfig_paths(kubeconfig: str | None) -> list[str]:
    """The kubeconfig files to read: the configured path, else KUBECONFIG's, else ~/.kube/config (existing
    ones only); [] when `kubeconfig` is a document rather than a path."""
    if kubeconfig is not None:
        path = Path(kubeconfig).expanduser()
        return [str(path)] if "\n" not in kubeconfig and path.is_file() else []
    candidates = os.environ.get("KUBECONFIG", "").split(os.pathsep)
    if not any(candidates):
        candidates = [str(Path("~/.kube/config").expanduser())]
    return [path for path in candidates if path and Path(path).is_file()]


def _with_cluster(document: dict[str, Any], settings: KubeSettings) -> dict[str, Any]:
    """`kubernetes:cluster`: the context's cluster replaced, as the provider does."""
    if settings.cluster is None:
        return document
    name = settings.context or document.get("current-context")
    for node in document.get("contexts") or []:
        entry = getattr(node, "value", node)  # a merged file's entries are wrapped (kube_config.ConfigNode)
        if entry.get("name") == name:
            getattr(entry.setdefault("context", {}), "value", entry["context"])["cluster"] = settings.cluster
    return document
