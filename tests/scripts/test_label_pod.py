"""label-pod.sh against a fake Kubernetes API server: a local TLS server that records each request and
answers with a scripted status. Proves the request (method, path, headers, merge patch), the TLS
verification, the retry policy and that the token never appears on a command line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.fake_api import TOKEN, FakeApiServer
from tests.support.pods import Cluster, Pod

pytestmark = pytest.mark.scripts

# socat where the image has it; openssl s_client where it has not (the official mysql images, and the local
# MySQL 9.7 image, built without socat to prove it).
TLS_CLIENTS = ["socat", "openssl"]


def image_has(cluster: Cluster, client: str) -> None:
    """Skips a socat case on an image without socat (MySQL's: test_socat_forced_on_an_image_without_it)."""
    if client == "socat" and cluster.flavor.name == "mysql":
        pytest.skip("the MySQL image has no socat, as the official ones have none")


@pytest.mark.parametrize("client", TLS_CLIENTS)
def test_a_certificate_for_another_address_gets_no_request(
    cluster: Cluster, certificates: dict[str, tuple[Path, Path]], client: str
) -> None:
    image_has(cluster, client)
    cert, key = certificates["elsewhere"]  # trusted as a CA, but it names 10.0.0.1, not 127.0.0.1
    with FakeApiServer(cert, key, [200]) as server:
        result = label(cluster.pod(1), server, cert, LABEL_RETRIES="2", KUBE_API_CLIENT=client)
    assert result.returncode == 1, result.stderr
    assert server.requests == []


def service_account(pod: Pod, ca: Path) -> Path:
    """The projected service account volume: token, ca.crt, namespace (readable by the pod's user)."""
    directory = pod.root / "serviceaccount"
    directory.mkdir(exist_ok=True)
    for name, content in (("token", TOKEN), ("ca.crt", ca.read_text()), ("namespace", "db")):
        (directory / name).write_text(content)
        (directory / name).chmod(0o644)
    return directory


def label(pod: Pod, server: FakeApiServer, ca: Path, **env: str) -> subprocess.CompletedProcess[str]:
    overrides = {
        "KUBE_API_HOST": "127.0.0.1",
        "KUBE_API_PORT": str(server.port),
        "KUBE_SERVICEACCOUNT_DIR": str(service_account(pod, ca)),
        "POD_NAMESPACE": "db",
        "LABEL_RETRY_DELAY": "0",
        **env,
    }
    return pod.run_script("label-pod.sh", env=overrides, timeout=60)


@pytest.mark.parametrize("client", TLS_CLIENTS)
def test_replica_is_labelled_with_a_merge_patch(
    cluster: Cluster, certificates: dict[str, tuple[Path, Path]], client: str
) -> None:
    image_has(cluster, client)
    cert, key = certificates["apiserver"]
    with FakeApiServer(cert, key, [200]) as server:
        result = label(cluster.pod(1), server, cert, KUBE_API_CLIENT=client)
    assert result.returncode == 0, result.stderr
    assert "labelled db/mysql-1 as replica" in result.stderr
    [request] = server.requests
    assert (request.method, request.path) == ("PATCH", "/api/v1/namespaces/db/pods/mysql-1")
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"] == "application/merge-patch+json"
    assert json.loads(request.body) == {
        "metadata": {"labels": {"mysql-cluster.io/role": "replica", "mysql-cluster.io/serves-reads": "true"}}
    }
    assert request.token_on_a_command_line == []
    assert TOKEN not in result.stderr + result.stdout


@pytest.mark.parametrize("serves_reads", ["true", "false"])
def test_primary_is_labelled_primary(
    cluster: Cluster, certificates: dict[str, tuple[Path, Path]], serves_reads: str
) -> None:
    cert, key = certificates["apiserver"]
    with FakeApiServer(cert, key, [200]) as server:
        result = label(cluster.pod(0), server, cert, PRIMARY_SERVES_READS=serves_reads)
    assert result.returncode == 0, result.stderr
    labels = json.loads(server.requests[0].body)["metadata"]["labels"]
    assert labels == {"mysql-cluster.io/role": "primary", "mysql-cluster.io/serves-reads": serves_reads}


def test_server_errors_are_retried(cluster: Cluster, certificates: dict[str, tuple[Path, Path]]) -> None:
    cert, key = certificates["apiserver"]
    with FakeApiServer(cert, key, [500, 500, 200]) as server:
        result = label(cluster.pod(1), server, cert)
    assert result.returncode == 0, result.stderr
    assert len(server.requests) == 3
    assert 'label: HTTP 500: pods "x" is internal server error here; retry 1/12 in 0s' in result.stderr


def test_forbidden_fails_at_once_with_the_api_message(
    cluster: Cluster, certificates: dict[str, tuple[Path, Path]]
) -> None:
    cert, key = certificates["apiserver"]
    with FakeApiServer(cert, key, [403]) as server:
        result = label(cluster.pod(1), server, cert)
    assert result.returncode == 1
    assert len(server.requests) == 1
    assert (
        'HTTP 403: pods "x" is forbidden here (service account RBAC needs get/patch on pods)' in result.stderr
    )


@pytest.mark.parametrize("client", TLS_CLIENTS)
def test_an_untrusted_server_gets_no_request(
    cluster: Cluster, certificates: dict[str, tuple[Path, Path]], client: str
) -> None:
    image_has(cluster, client)
    cert, key = certificates["impostor"]  # the pod trusts the apiserver CA only
    with FakeApiServer(cert, key, [200]) as server:
        result = label(
            cluster.pod(1), server, certificates["apiserver"][0], LABEL_RETRIES="2", KUBE_API_CLIENT=client
        )
    assert result.returncode == 1
    assert server.requests == []
    assert "no HTTP response from 127.0.0.1" in result.stderr
    assert "label: no answer after 2 attempts" in result.stderr
    assert TOKEN not in result.stderr


def api_routes(
    marker: str | None, retained: tuple[int, ...] = ()
) -> dict[tuple[str, str], tuple[int, dict[str, object]]]:
    """A 3-pod StatefulSet `mysql` in namespace db whose pods 0 and 1 have claims, pod 2 not (yet), and claims
    of higher ordinals `retained` (kept from a scale-down)."""
    core = "/api/v1/namespaces/db"
    state: dict[str, object] = {"kind": "ConfigMap", "metadata": {"name": "mysql-state", "uid": "cm-uid"}}
    if marker is not None:
        state["data"] = {"initialised-claim": marker}

    def claim(ordinal: int) -> dict[str, object]:
        return {"kind": "PersistentVolumeClaim", "metadata": {"name": f"data-mysql-{ordinal}",
                "namespace": "db", "uid": f"claim-{ordinal}"}, "spec": {"volumeName": "pv"}}  # fmt: skip

    beyond: dict[tuple[str, str], tuple[int, dict[str, object]]] = {
        ("GET", f"{core}/persistentvolumeclaims/data-mysql-{ordinal}"): (
            (200, claim(ordinal)) if ordinal in retained else (404, {"kind": "Status", "message": "nope"})
        )
        for ordinal in range(3, 64)
    }
    return beyond | {
        ("GET", f"{core}/configmaps/mysql-state"): (200, state),
        ("GET", "/apis/apps/v1/namespaces/db/statefulsets/mysql"): (
            200, {"kind": "StatefulSet", "metadata": {"name": "mysql"}, "spec": {"replicas": 3}},
        ),
        ("GET", f"{core}/persistentvolumeclaims/data-mysql-0"): (200, claim(0)),
        ("GET", f"{core}/persistentvolumeclaims/data-mysql-1"): (200, claim(1)),
        ("GET", f"{core}/persistentvolumeclaims/data-mysql-2"): (404, {"kind": "Status", "message": "nope"}),
        ("PATCH", f"{core}/configmaps/mysql-state"): (200, state),
    }  # fmt: skip


def test_primary_records_the_first_initialisation_and_writes_its_bootstrap_facts(
    cluster: Cluster, certificates: dict[str, tuple[Path, Path]]
) -> None:
    cert, key = certificates["apiserver"]
    pod = cluster.pod(0)
    with FakeApiServer(cert, key, [200], api_routes(marker=None)) as server:
        result = label(pod, server, cert, STATE_CONFIG_MAP="mysql-state")
    assert result.returncode == 0, result.stderr
    patches = [
        r
        for r in server.requests
        if (r.method, r.path) == ("PATCH", "/api/v1/namespaces/db/configmaps/mysql-state")
    ]
    assert [json.loads(r.body) for r in patches] == [{"data": {"initialised-claim": "claim-0"}}]
    facts = (pod.run_dir / "bootstrap-facts").read_text().splitlines()
    assert facts[1:] == ["marker=", "claim=claim-0", "peers=1", "retained="]
    assert all(r.token_on_a_command_line == [] for r in server.requests)


def test_primary_keeps_a_recorded_initialisation(
    cluster: Cluster, certificates: dict[str, tuple[Path, Path]]
) -> None:
    cert, key = certificates["apiserver"]
    pod = cluster.pod(0)
    routes = api_routes(marker="claim-of-a-lost-volume", retained=(3, 5, 12))
    with FakeApiServer(cert, key, [200], routes) as server:
        result = label(pod, server, cert, STATE_CONFIG_MAP="mysql-state")
    assert result.returncode == 0, result.stderr
    assert not [r for r in server.requests if "configmaps" in r.path and r.method == "PATCH"]
    facts = (pod.run_dir / "bootstrap-facts").read_text().splitlines()
    # Claims kept from a scale-down are found beyond spec.replicas, across a gap shorter than 8 ordinals (6
    # to 11); the scan stops after 8 missing in a row (13 to 20).
    assert facts[1:] == ["marker=claim-of-a-lost-volume", "claim=claim-0", "peers=1", "retained=3 5 12"]
    asked = {r.path.rsplit("-", 1)[-1] for r in server.requests if "persistentvolumeclaims" in r.path}
    assert asked == {str(ordinal) for ordinal in range(21)}  # stops after 8 missing in a row (13 to 20)


def test_socat_forced_on_an_image_without_it_says_so(
    cluster: Cluster, certificates: dict[str, tuple[Path, Path]]
) -> None:
    if cluster.flavor.name != "mysql":
        pytest.skip("MariaDB images carry socat")
    cert, key = certificates["apiserver"]
    with FakeApiServer(cert, key, [200]) as server:
        result = label(cluster.pod(1), server, cert, LABEL_RETRIES="1", KUBE_API_CLIENT="socat")
    assert result.returncode == 1
    assert "KUBE_API_CLIENT=socat, but this image has no socat (unset it: openssl is enough)" in result.stderr
    assert server.requests == []
