"""cluster-facts.sh (sourced by label-pod.sh on every pod) against the fake Kubernetes API (issue 15,
defect 7): the facts a pod's configuration binds the data to are recorded when the state ConfigMap lacks
them (data initialised before they were recorded keeps working), a newer version raises the record, and a
pod configured against the record stops before its server starts, saying which setting to set back. Its
patches are conditional on the ConfigMap's resourceVersion: two pods starting at once never overwrite each
other."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.fake_api import Answer, FakeApiServer, Request
from tests.support.pods import Cluster

from .test_label_pod import label

pytestmark = pytest.mark.scripts

STATE = "/api/v1/namespaces/db/configmaps/mysql-state"
FACTS = {"flavor": "mariadb", "newest-version": "10.11", "server-id-offset": "100",
         "lower-case-table-names": "0", "innodb-page-size": "16384"}  # fmt: skip


def state(data: dict[str, str], version: str = "41") -> Answer:
    body: dict[str, object] = {"kind": "ConfigMap", "apiVersion": "v1",
                               "metadata": {"name": "mysql-state", "resourceVersion": version}}  # fmt: skip
    if data:
        body["data"] = data
    return 200, body


def run(
    cluster: Cluster,
    certs: dict[str, tuple[Path, Path]],
    reads: list[Answer],
    configured: dict[str, str] = FACTS,
    patches: list[Answer] | None = None,
) -> tuple[subprocess.CompletedProcess[str], list[Request]]:
    """label-pod.sh on replica mysql-1 configured with `configured`; the state ConfigMap answers `reads` in
    turn, its patches `patches` (default: accepted)."""
    cert, key = certs["apiserver"]
    routes = {("GET", STATE): reads, ("PATCH", STATE): patches or [state(FACTS)]}
    words = " ".join(f"{fact}={value}" for fact, value in configured.items())
    with FakeApiServer(cert, key, [200], routes) as server:
        result = label(cluster.pod(1), server, cert, STATE_CONFIG_MAP="mysql-state", CLUSTER_FACTS=words)
    return result, [r for r in server.requests if r.path == STATE]


def patched(requests: list[Request]) -> list[object]:
    return [json.loads(r.body) for r in requests if r.method == "PATCH"]


def test_data_from_before_the_record_gets_its_facts_recorded(
    cluster: Cluster, certificates: dict[str, tuple[Path, Path]]
) -> None:
    result, requests = run(cluster, certificates, [state({"initialised-claim": "claim-0"})])
    assert result.returncode == 0, result.stderr
    assert patched(requests) == [{"metadata": {"resourceVersion": "41"}, "data": FACTS}]
    assert "cluster facts: recorded {" in result.stderr


def test_facts_as_recorded_change_nothing(
    cluster: Cluster, certificates: dict[str, tuple[Path, Path]]
) -> None:
    result, requests = run(cluster, certificates, [state({"initialised-claim": "claim-0", **FACTS})])
    assert result.returncode == 0, result.stderr
    assert patched(requests) == []
    assert "cluster facts: as recorded in ConfigMap mysql-state" in result.stderr


def test_a_newer_version_raises_the_record(
    cluster: Cluster, certificates: dict[str, tuple[Path, Path]]
) -> None:
    result, requests = run(cluster, certificates, [state(FACTS)], {**FACTS, "newest-version": "11.8"})
    assert result.returncode == 0, result.stderr
    assert patched(requests) == [{"metadata": {"resourceVersion": "41"}, "data": {"newest-version": "11.8"}}]


@pytest.mark.parametrize(
    ("fact", "configured", "says"),
    [("server-id-offset", "101", "serverIdOffset is 101, but the cluster runs with 100"),
     ("newest-version", "10.6", "version is 10.6, but 10.11 has run on this data"),
     ("flavor", "mysql", "flavor is mysql, but this data is mariadb's"),
     ("innodb-page-size", "8192",
      "serverConfig.innodb_page_size is 8192, but this data was initialised with 16384")],
)  # fmt: skip
def test_a_pod_configured_against_the_record_does_not_start(
    cluster: Cluster, certificates: dict[str, tuple[Path, Path]], fact: str, configured: str, says: str
) -> None:
    result, requests = run(cluster, certificates, [state(FACTS)], {**FACTS, fact: configured})
    assert result.returncode == 1
    assert "cluster facts: this pod does not start (nothing was changed)" in result.stderr
    assert says in result.stderr
    assert patched(requests) == []


def test_a_record_changed_meanwhile_is_read_again(
    cluster: Cluster, certificates: dict[str, tuple[Path, Path]]
) -> None:
    """Two pods record at once: the second one's patch is refused (409), it reads the record again and finds
    the first one's facts."""
    reads = [state({"initialised-claim": "claim-0"}), state(FACTS, version="42")]
    conflict: Answer = (409, {"kind": "Status", "message": "the object has been modified"})
    result, requests = run(cluster, certificates, reads, patches=[conflict, state(FACTS)])
    assert result.returncode == 0, result.stderr
    assert [r.method for r in requests] == ["GET", "PATCH", "GET"]
    assert "changed meanwhile; reading it again" in result.stderr
    assert "cluster facts: as recorded in ConfigMap mysql-state" in result.stderr
