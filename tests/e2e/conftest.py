"""Fixtures of the end-to-end tier: the real `pulumi` CLI against the real local Kubernetes cluster.

The cluster (`e2e/cluster.sh up`) and the toolchain (`e2e/toolchain/build.sh`) are prepared by `make e2e`
before pytest starts; these fixtures only find them. The project is copied into a temporary directory so the
stack's files (`Pulumi.e2e.yaml`) never touch the checkout; the Pulumi state lives in a file backend there.
When a scenario fails, the pods' logs, the events and the cluster's component logs are saved under
`e2e-artifacts/<test name>/`, which `.ci/run` prints.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mysql_cluster.flavors import get_flavor

from .harness import (
    ARTIFACTS,
    CLONE_BANDWIDTH_MIB,
    E2E_FLAVOR,
    FLAVOR_NAME,
    FLAVOR_VERSION,
    LOCAL_IMAGE,
    REPO,
    Kube,
    Stack,
)
from .node import mark_done

NAMESPACE_PREFIX = f"mc-e2e-{E2E_FLAVOR.replace('.', '-')}-"
"""Every namespace this flavor's run creates starts with it (`mc-e2e-mysql-9-7-1a2b3c`)."""


def _create_existing_secret(env: dict[str, str], namespace: str, name: str) -> dict[str, str]:
    passwords = {key: secrets.token_urlsafe(24) for key in ("root", "replication", "backup")}
    subprocess.run(["kubectl", "create", "namespace", namespace], env=env, check=True, capture_output=True)
    manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "type": "Opaque",
        "stringData": {f"{key}-password": value for key, value in passwords.items()},
    }
    # Through stdin, so no password is on a command line. `apply` on purpose: it copies the manifest,
    # passwords included, into the last-applied-configuration annotation, as many users' Secrets have it, and
    # the stack must keep even that out of its state (asserted in the existingSecret scenario).
    subprocess.run(
        ["kubectl", "apply", "-f", "-"],
        input=json.dumps(manifest),
        text=True,
        env=env,
        check=True,
        capture_output=True,
    )
    return passwords


def _capture(cmd: list[str]) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="session")
def e2e_env() -> dict[str, str]:
    """The environment every command of the tier runs with: toolchain on PATH, the local kubeconfig."""
    try:
        path = _capture(["bash", str(REPO / "e2e/toolchain/build.sh"), "--print-path"])
        kubeconfig = _capture(["bash", str(REPO / "e2e/cluster.sh"), "kubeconfig"])
    except subprocess.CalledProcessError as err:
        pytest.fail(f"the e2e toolchain or cluster is missing (run `make cluster-up`): {err.stderr}")
    env = dict(os.environ)
    env["PATH"] = f"{path}:{REPO / '.venv/bin'}:{env['PATH']}"
    env["KUBECONFIG"] = kubeconfig
    env["PULUMI_SKIP_UPDATE_CHECK"] = "true"
    env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] = "true"
    env.pop("PULUMI_ACCESS_TOKEN", None)
    ready = subprocess.run(
        ["kubectl", "get", "--raw", "/readyz"], capture_output=True, text=True, env=env, check=False
    )
    if ready.returncode != 0:
        pytest.fail(f"the local cluster does not answer (run `make cluster-up`): {ready.stderr.strip()}")
    return env


def _remove_leftover_namespaces(env: dict[str, str]) -> None:
    """Namespaces of earlier runs that never reached their teardown (a killed run): the local cluster keeps
    etcd's data between runs, and one run per flavor at a time uses it, so every namespace of this flavor's
    prefix is a leftover (another flavor's run may be going on beside this one)."""
    names = subprocess.run(
        ["kubectl", "get", "namespaces", "-o", "name"], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    leftovers = [name for name in names if name.startswith(f"namespace/{NAMESPACE_PREFIX}")]
    if leftovers:
        subprocess.run(["kubectl", "delete", *leftovers, "--wait=true", "--timeout=180s"], env=env,
                       capture_output=True, check=False)  # fmt: skip


def _new_stack(e2e_env: dict[str, str], root: Path) -> Stack:
    """A fresh stack `e2e` of a copy of the project, local stack settings, in a namespace of its own."""
    workdir = root / "project"
    workdir.mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(REPO / name, workdir / name)
    (workdir / "mysql_cluster").symlink_to(REPO / "mysql_cluster")
    (workdir / ".venv").symlink_to(REPO / ".venv")
    (root / "state").mkdir()
    env = dict(e2e_env)
    env["PULUMI_BACKEND_URL"] = f"file://{root / 'state'}"
    env["PULUMI_HOME"] = str(root / "pulumi-home")
    env["PULUMI_CONFIG_PASSPHRASE"] = secrets.token_urlsafe(24)
    env["PYTHONPATH"] = str(workdir)
    # The local stack's settings (local images, small resources, generated passwords).
    shutil.copy(REPO / "Pulumi.local.yaml", workdir / "Pulumi.e2e.yaml")
    _remove_leftover_namespaces(e2e_env)
    st = Stack(workdir=workdir, env=env)
    st.pulumi("stack", "init", st.name)
    st.config_set("namespace", f"{NAMESPACE_PREFIX}{secrets.token_hex(3)}")
    for key, value in (("flavor", FLAVOR_NAME), ("version", FLAVOR_VERSION), ("image", LOCAL_IMAGE),
                       ("backupImage", LOCAL_IMAGE)):  # fmt: skip
        st.config_set(key, value)  # MYSQL_CLUSTER_E2E_FLAVOR (harness.py); the local stack's by default
    return st


def _remove(st: Stack, e2e_env: dict[str, str]) -> None:
    """Whatever happened, leave nothing behind on the shared local cluster."""
    namespace = st.pulumi("config", "get", "namespace").stdout.strip()
    st.pulumi("destroy", "--yes", "--skip-preview", check=False)
    subprocess.run(
        ["kubectl", "delete", "namespace", namespace, "--ignore-not-found", "--wait=false"],
        env=e2e_env,
        capture_output=True,
        check=False,
    )


@pytest.fixture(scope="session")
def stack(e2e_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The scenarios' stack: 3 pods, passwords generated by the random provider (the default path)."""
    st = _new_stack(e2e_env, tmp_path_factory.mktemp("e2e"))
    st.config_set("replicas", "3")
    if get_flavor(FLAVOR_NAME, FLAVOR_VERSION).seeding == "clone-plugin":
        st.config_set("serverConfig.clone_max_data_bandwidth", str(CLONE_BANDWIDTH_MIB), path=True)
    assert st.pulumi("config", "get", "existingSecret", check=False).returncode != 0, (
        "Pulumi.local.yaml names an existingSecret: the scenarios must run on generated passwords"
    )
    yield st
    _remove(st, e2e_env)


@pytest.fixture(scope="module")
def secret_stack(e2e_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A 2-pod stack whose passwords come from a Secret made beforehand (`existingSecret`)."""
    st = _new_stack(e2e_env, tmp_path_factory.mktemp("e2e-existing-secret"))
    st.config_set("replicas", "2")
    st.config_set("createNamespace", "false")
    st.config_set("existingSecret", "e2e-credentials")
    namespace = st.pulumi("config", "get", "namespace").stdout.strip()
    st.existing_passwords = _create_existing_secret(e2e_env, namespace, "e2e-credentials")
    yield st
    _remove(st, e2e_env)


@pytest.fixture(scope="module")
def retained_stack(e2e_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A 2-pod stack deployed with the local stack's `whenDeleted: Delete`, which its scenarios switch to the
    default `Retain` (and back), for the switch itself and the redeploy of retained data."""
    st = _new_stack(e2e_env, tmp_path_factory.mktemp("e2e-retained"))
    st.config_set("replicas", "2")
    st.config_set("pvcRetention.whenDeleted", "Delete", path=True)
    yield st
    _remove(st, e2e_env)


@pytest.fixture(scope="session")
def kube(stack: Stack, e2e_env: dict[str, str]) -> Kube:
    namespace = stack.pulumi("config", "get", "namespace").stdout.strip()
    return Kube(env=e2e_env, namespace=namespace)


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Any:
    """Print a measured figure to the terminal even when output is captured (and keep it for CI's log)."""
    capture = request.config.pluginmanager.getplugin("capturemanager")

    def write(message: str) -> None:
        line = f"[e2e] {request.node.name}: {message}"
        if capture is not None:
            with capture.global_and_fixture_disabled():
                print(line, flush=True)
        else:
            print(line, flush=True)

    return write


def pytest_sessionfinish(session: pytest.Session) -> None:
    mark_done()  # runs of other flavors waiting at the node restart stop waiting for this one


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()  # type: ignore[attr-defined]
    if rep.when == "call" and rep.failed:
        _save_artifacts(item)


def _save_artifacts(item: pytest.Item) -> None:
    funcargs = getattr(item, "funcargs", {})
    kube = next((v for v in funcargs.values() if isinstance(v, Kube)), None)
    stack = next((v for v in funcargs.values() if isinstance(v, Stack)), None)
    folder = ARTIFACTS / item.name
    folder.mkdir(parents=True, exist_ok=True)
    if stack is not None:
        (folder / "pulumi.log").write_text("\n".join(stack.log[-10:]))
    if kube is not None:
        for args, name in (
            (("get", "all,pvc,pv,endpointslices", "-o", "wide"), "objects.txt"),
            (("get", "events", "--sort-by=.lastTimestamp"), "events.txt"),
            (("describe", "pods"), "pods-describe.txt"),
        ):
            (folder / name).write_text(kube.run(*args, check=False).stdout)
        for pod in kube.pod_names():
            logs = kube.run("logs", pod, "--all-containers", "--prefix", "--timestamps", check=False)
            previous = kube.run(
                "logs", pod, "--all-containers", "--prefix", "--timestamps", "--previous", check=False
            )
            (folder / f"{pod}.log").write_text(logs.stdout + logs.stderr + previous.stdout)
    subprocess.run(
        ["bash", str(REPO / "e2e/cluster.sh"), "logs", str(folder / "cluster")],
        capture_output=True,
        check=False,
    )
