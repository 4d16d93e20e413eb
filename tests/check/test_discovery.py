"""Finding the cluster and the password: flags, stack outputs (a fake pulumi), Secrets and port-forwards
(a fake kubectl whose port-forward is a real socat to the live servers)."""

from __future__ import annotations

import base64
import inspect
import json
import os
from pathlib import Path

import pytest
from mysql_cluster_check import Address
from mysql_cluster_check.discovery import Outputs, Request, host_aliases, parse_endpoints, resolve
from mysql_cluster_check.model import ConfigError

from mysql_cluster.component import MySQLCluster

from .conftest import PASSWORD, LiveCluster, on_mariadb_10_11, run_check
from .statefulsets import NEW_REVISION, OLD_REVISION, after_image_change, just_applied, statefulset

pytestmark = pytest.mark.check

FAKES = Path(__file__).parent / "fakes"


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The fake kubectl and pulumi first on PATH, their call logs in tmp_path, no password in the env."""
    env = {
        "PATH": f"{FAKES}:{os.environ['PATH']}",
        "FAKE_KUBECTL_LOG": str(tmp_path / "kubectl.log"),
        "FAKE_PULUMI_LOG": str(tmp_path / "pulumi.log"),
        "FAKE_SECRET": base64.b64encode(PASSWORD.encode()).decode(),
        "MYSQL_ROOT_PASSWORD": "",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def calls(env: dict[str, str], tool: str) -> list[str]:
    path = Path(env[f"FAKE_{tool.upper()}_LOG"])
    return path.read_text().splitlines() if path.exists() else []


# --- flags ---------------------------------------------------------------------------------------------


def test_endpoints_parse_pod_host_and_port() -> None:
    parsed = parse_endpoints(["mysql-0=127.0.0.1:3306", "mysql-1=[::1]:3307", "mysql-2=db.example:1"])
    assert parsed == {
        "mysql-0": Address("127.0.0.1", 3306),
        "mysql-1": Address("::1", 3307),
        "mysql-2": Address("db.example", 1),
    }


@pytest.mark.parametrize(
    "spec", ["mysql-0", "=127.0.0.1:1", "mysql-0=127.0.0.1", "mysql-0=h:0", "mysql-0=h:x"]
)
def test_bad_endpoint_is_a_misconfiguration(spec: str) -> None:
    with pytest.raises(ConfigError, match="expected <pod>=<host>:<port>"):
        parse_endpoints([spec])


def test_pod_host_aliases_follow_the_dns_search_path() -> None:
    assert host_aliases("mysql-0.mysql-headless.db.svc.cluster.local") == [
        "mysql-0.mysql-headless.db.svc.cluster.local",
        "mysql-0.mysql-headless.db.svc",
        "mysql-0.mysql-headless.db",
        "mysql-0.mysql-headless",
    ]
    assert host_aliases("127.0.0.1") == ["127.0.0.1"]


def test_endpoints_alone_describe_the_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    request = Request(endpoints=["mysql-0=127.0.0.1:41000", "mysql-1=127.0.0.1:41001"])
    target = resolve(request, environ={"MYSQL_ROOT_PASSWORD": PASSWORD})
    assert target.cluster.pods == ("mysql-0", "mysql-1")
    assert target.cluster.statefulset == "mysql"
    assert target.cluster.primary_sources == (Address("127.0.0.1", 41000),)
    assert target.kubectl is None
    assert target.password.reveal() == PASSWORD
    assert PASSWORD not in repr(target)


def test_a_pod_without_endpoint_needs_a_namespace() -> None:
    request = Request(endpoints=["mysql-0=127.0.0.1:41000"], replicas=3)
    with pytest.raises(ConfigError, match="no --namespace to reach mysql-1, mysql-2"):
        resolve(request, environ={"MYSQL_ROOT_PASSWORD": PASSWORD})


def test_no_password_anywhere_is_a_misconfiguration() -> None:
    with pytest.raises(ConfigError, match="no root password: set MYSQL_ROOT_PASSWORD"):
        resolve(Request(endpoints=["mysql-0=127.0.0.1:41000"]), environ={})


def test_namespace_derives_pod_hosts_sources_and_the_secret(fakes: dict[str, str]) -> None:
    target = resolve(Request(namespace="db", statefulset="mysql", replicas=2, context="ctx"), environ={})
    assert target.pod_hosts == (
        "mysql-0.mysql-headless.db.svc.cluster.local",
        "mysql-1.mysql-headless.db.svc.cluster.local",
    )
    assert target.cluster.primary_sources[0] == Address("mysql-0.mysql-headless.db.svc.cluster.local", 3306)
    assert Address("mysql-0.mysql-headless", 3306) in target.cluster.primary_sources
    assert target.cluster.pod_at(Address("mysql-1.mysql-headless.db", 3306)) == "mysql-1"
    assert target.password.reveal() == PASSWORD
    [call] = calls(fakes, "kubectl")
    expected = "--context ctx --namespace db get secret mysql-credentials -o jsonpath={.data.root-password}"
    assert call.split()[1:] == expected.split()


def test_an_explicit_secret_wins_over_the_environment(fakes: dict[str, str]) -> None:
    request = Request(namespace="db", statefulset="mysql", replicas=1, secret="other", secret_key="pw")
    target = resolve(request, environ={"MYSQL_ROOT_PASSWORD": "from-env"})
    assert target.password.reveal() == PASSWORD
    assert "get secret other -o jsonpath={.data.pw}" in calls(fakes, "kubectl")[0]


def test_stack_outputs_describe_the_cluster(fakes: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = {
        "namespace": "db",
        "statefulSetName": "main",
        "replicas": 3,
        "flavor": "mariadb",
        "version": "10.11",
        "rootPassword": PASSWORD,
    }
    monkeypatch.setenv("FAKE_STACK_OUTPUTS", json.dumps(outputs))
    monkeypatch.setenv("FAKE_STACK_CONFIG", json.dumps({"mysql-cluster:maxLagSeconds": {"value": "15"}}))
    target = resolve(Request(stack="dev"), environ={"MYSQL_ROOT_PASSWORD": "from-env"})
    assert target.cluster.pods == ("main-0", "main-1", "main-2")
    assert (target.cluster.flavor, target.cluster.version, target.cluster.max_lag_seconds) == (
        "mariadb",
        "10.11",
        15,
    )
    assert target.password.reveal() == PASSWORD  # the stack's own password, not the environment's
    assert target.kubectl is not None
    assert target.kubectl.namespace == "db"
    assert [call.split(" ", 1)[1] for call in calls(fakes, "pulumi")] == [
        "stack output --json --show-secrets --non-interactive --stack dev",
        "config --json --non-interactive --stack dev",
    ]


def test_a_failing_pulumi_is_a_misconfiguration(
    fakes: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_STACK_OUTPUTS", "not json")
    with pytest.raises(ConfigError, match="printed no JSON"):
        resolve(Request(use_stack=True), environ={})


def test_the_components_outputs_are_read(fakes: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    # What the component exports for an existing Secret (no rootPassword output): the Secret is read.
    hosts = [f"db-{i}.db-headless.prod.svc.example.org" for i in range(2)]
    outputs = {
        "namespace": "prod",
        "statefulSetName": "db",
        "headlessService": "db-headless",
        "replicas": 2,
        "podNames": ["db-0", "db-1"],
        "podHosts": hosts,
        "port": 3306,
        "maxLagSeconds": 30,
        "secretName": "db-existing",
        "rootPassword": None,
    }
    monkeypatch.setenv("FAKE_STACK_OUTPUTS", json.dumps(outputs))
    target = resolve(Request(use_stack=True), environ={})
    assert target.cluster.pods == ("db-0", "db-1")
    assert target.pod_hosts == tuple(hosts)
    assert target.cluster.primary_sources[0] == Address(hosts[0], 3306)
    assert target.cluster.max_lag_seconds == 30
    assert target.password.reveal() == PASSWORD
    assert "get secret db-existing " in calls(fakes, "kubectl")[0]


def test_output_names_are_the_ones_the_component_exports() -> None:
    exported = inspect.getsource(MySQLCluster.outputs)
    for name, value in vars(Outputs).items():
        if name.isupper():
            assert f'"{value}":' in exported, f"the component exports no {value!r}"


# --- through kubectl port-forward, against the live servers ---------------------------------------------


def fake_pods(cluster: LiveCluster) -> str:
    return " ".join(f"{pod}={address}" for pod, address in cluster.endpoints.items())


@on_mariadb_10_11
def test_port_forward_reaches_every_pod_and_is_torn_down(cluster: LiveCluster, fakes: dict[str, str]) -> None:
    env = fakes | {"FAKE_PODS": fake_pods(cluster)}
    run = run_check(
        *("--context", "kind-test", "--namespace", "db", "--statefulset", "mysql", "--replicas", "3"),
        *("--primary-source", cluster.endpoints["mysql-0"], "--json"),
        env=env,
    )
    assert run.code == 0, run.stdout
    forwarded = [pod["endpoint"] for pod in run.json["pods"]]
    assert all(endpoint.startswith("127.0.0.1:") for endpoint in forwarded)
    assert not set(forwarded) & set(cluster.endpoints.values())  # through the forwards, not directly
    forwards = [call.split() for call in calls(env, "kubectl") if " port-forward " in call]
    assert sorted(call[1:] for call in forwards) == [
        f"--context kind-test --namespace db port-forward --address 127.0.0.1 pod/{pod} :3306".split()
        for pod in cluster.pods
    ]
    for call in forwards:
        assert not Path(f"/proc/{call[0]}").exists(), "a port-forward outlived the check"


@on_mariadb_10_11
def test_a_pod_kubectl_cannot_forward_to_is_unreachable(cluster: LiveCluster, fakes: dict[str, str]) -> None:
    env = fakes | {"FAKE_PODS": fake_pods(cluster)}
    run = run_check(
        *("--namespace", "db", "--statefulset", "mysql", "--replicas", "4", "--canary-timeout", "3"),
        *("--primary-source", cluster.endpoints["mysql-0"], "--json"),
        env=env,
    )
    assert run.code == 2
    # The StatefulSet has the 3 pods that exist, not the 4 asked for: its rollout is not the expected one.
    assert run.failures() == {("mysql-3", "reachable"), (None, "rollout")}
    [failure] = [f for f in run.json["failures"] if f["check"] == "reachable"]
    assert (
        failure["observed"]
        == 'kubectl port-forward ended: Error from server (NotFound): pods "mysql-3" not found'
    )


@on_mariadb_10_11
def test_stack_outputs_and_port_forwards_together(cluster: LiveCluster, fakes: dict[str, str]) -> None:
    outputs = {"namespace": "db", "statefulSetName": "mysql", "replicas": 3, "rootPassword": PASSWORD}
    env = fakes | {"FAKE_PODS": fake_pods(cluster), "FAKE_STACK_OUTPUTS": json.dumps(outputs)}
    run = run_check("--stack-outputs", "--primary-source", cluster.endpoints["mysql-0"], env=env)
    assert run.code == 0, run.stdout
    assert run.stdout.splitlines()[-1].startswith("HEALTHY")


@on_mariadb_10_11
def test_pod_ip_path_asks_kubectl_for_the_pod_ip(cluster: LiveCluster, fakes: dict[str, str]) -> None:
    # The fake answers `get pod` with the loopback address; the port is the pods' MySQL port (--mysql-port).
    primary_port = cluster.endpoints["mysql-0"].rsplit(":", 1)[1]
    env = fakes | {"FAKE_PODS": f"mysql-0={cluster.endpoints['mysql-0']}"}  # a StatefulSet of one pod
    run = run_check(
        *("--namespace", "db", "--statefulset", "mysql", "--replicas", "1", "--via", "pod-ip"),
        *("--mysql-port", primary_port, "--json"),
        env=env,
    )
    assert run.code == 0, run.stdout
    assert [pod["endpoint"] for pod in run.json["pods"]] == [cluster.endpoints["mysql-0"]]
    assert "--namespace db get pod mysql-0 -o jsonpath={.status.podIP}" in calls(env, "kubectl")[-1]


# --- the StatefulSet's rollout, read through kubectl every round ------------------------------------------


def rollout_flags(cluster: LiveCluster) -> list[str]:
    return [
        *("--context", "kind-test", "--namespace", "db", "--statefulset", "mysql", "--replicas", "3"),
        *("--primary-source", cluster.endpoints["mysql-0"], "--no-canary"),
    ]


def statefulset_calls(env: dict[str, str]) -> list[str]:
    return [call.split(" ", 1)[1] for call in calls(env, "kubectl") if " get statefulset " in call]


@on_mariadb_10_11
def test_an_unfinished_rollout_exits_1_naming_the_statefulset(
    cluster: LiveCluster, fakes: dict[str, str]
) -> None:
    # The pods are healthy (the old ones, still serving): only the StatefulSet says the update is not done.
    env = fakes | {"FAKE_PODS": fake_pods(cluster), "FAKE_STATEFULSETS": json.dumps([after_image_change()])}
    run = run_check(*rollout_flags(cluster), env=env)
    assert run.code == 1, run.stdout
    assert run.stdout.splitlines()[-2:] == [
        "FAIL mysql (statefulset) rollout: observed 1/3 pods updated, 2/3 ready, "
        f"revision {OLD_REVISION} -> {NEW_REVISION}, expected a finished rollout of 3 pods",
        "UNHEALTHY: 1 failed check",
    ]
    assert statefulset_calls(env) == ["--context kind-test --namespace db get statefulset mysql -o json"]


@on_mariadb_10_11
def test_a_finished_rollout_exits_0(cluster: LiveCluster, fakes: dict[str, str]) -> None:
    done = statefulset(generation=3, current_revision=NEW_REVISION)
    env = fakes | {"FAKE_PODS": fake_pods(cluster), "FAKE_STATEFULSETS": json.dumps([done])}
    run = run_check(*rollout_flags(cluster), "--json", env=env)
    assert run.code == 0, run.stdout
    rollout = run.json["cluster"]["rollout"]
    assert (rollout["complete"], rollout["update_revision"], rollout["generation"]) == (True, NEW_REVISION, 3)


@on_mariadb_10_11
def test_wait_lasts_until_the_rollout_is_finished(cluster: LiveCluster, fakes: dict[str, str]) -> None:
    # pulumi up returned at once (pulumi-kubernetes#3329): the controller has not seen the new spec yet, then
    # replaces the pods one by one, then is done.
    rounds = [just_applied(), after_image_change(), statefulset(generation=3, current_revision=NEW_REVISION)]
    env = fakes | {"FAKE_PODS": fake_pods(cluster), "FAKE_STATEFULSETS": json.dumps(rounds)}
    run = run_check(*rollout_flags(cluster), "--json", "--wait", "60", "--interval", "0.2", env=env)
    assert run.code == 0, run.stderr
    assert len(statefulset_calls(env)) == 3  # once per round
    progress = run.stderr.splitlines()
    assert len(progress) == 2
    assert all("unhealthy: mysql (statefulset) rollout=" in line for line in progress), progress
    assert "generation 3 not yet seen by the controller" in progress[0]
    assert run.json["cluster"]["rollout"]["complete"] is True


@on_mariadb_10_11
def test_a_missing_statefulset_is_a_misconfiguration(cluster: LiveCluster, fakes: dict[str, str]) -> None:
    env = fakes | {"FAKE_PODS": fake_pods(cluster)}  # the StatefulSet there is `mysql`
    run = run_check(
        *("--context", "kind-test", "--namespace", "db", "--statefulset", "mysq", "--replicas", "3"),
        *("--json", "--wait", "60"),
        env=env,
    )
    assert run.code == 2
    expected = (
        "statefulset mysq not found in namespace db (context kind-test): "
        "check --namespace, --statefulset and --context, or the stack outputs"
    )
    assert (run.json["error"], run.json["pods"]) == (expected, [])
    assert run.stderr.strip() == f"[check] {expected}"
    assert len(statefulset_calls(env)) == 1  # not waited for: nothing will create it
    assert not [call for call in calls(env, "kubectl") if " port-forward " in call]
