"""kubectl and the pulumi CLI against the local cluster, as the end-to-end tier drives them."""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def log(message: str) -> None:
    print(f"[bench] {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


class BenchError(RuntimeError):
    """A step of the benchmark failed; the message says which and why."""


def capture(cmd: list[str], env: dict[str, str] | None = None) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout.strip()


def local_env() -> dict[str, str]:
    """The environment of every command: the cached toolchain on PATH, the local cluster's kubeconfig."""
    toolchain = capture(["bash", str(REPO / "e2e/toolchain/build.sh"), "--print-path"])
    kubeconfig = capture(["bash", str(REPO / "e2e/cluster.sh"), "kubeconfig"])
    env = dict(os.environ)
    env["PATH"] = f"{toolchain}:{REPO / '.venv/bin'}:{env['PATH']}"
    env["KUBECONFIG"] = kubeconfig
    env["PULUMI_SKIP_UPDATE_CHECK"] = "true"
    env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] = "true"
    env.pop("PULUMI_ACCESS_TOKEN", None)
    return env


def parse_time(stamp: str) -> float:
    """Seconds since the epoch of an RFC 3339 time as Kubernetes writes it (nanoseconds cut to micro)."""
    head, _, frac = stamp.rstrip("Z").partition(".")
    micros = (frac + "000000")[:6]
    return datetime.fromisoformat(f"{head}.{micros}+00:00").timestamp()


@dataclass
class Kube:
    """kubectl in one namespace."""

    env: dict[str, str]
    namespace: str

    def run(
        self, *args: str, stdin: str | None = None, check: bool = True, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        cmd = ["kubectl", "-n", self.namespace, *args]
        result = subprocess.run(
            cmd, input=stdin, capture_output=True, text=True, env=self.env, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise BenchError(f"{' '.join(cmd[:6])} failed ({result.returncode}): {result.stderr.strip()}")
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-o", "json").stdout)

    def pods(self, selector: str) -> dict[str, dict[str, Any]]:
        items = self.json("get", "pods", "-l", selector)["items"]
        return {p["metadata"]["name"]: p for p in items}

    def pod_ip(self, pod: str) -> str:
        return str(self.json("get", "pod", pod)["status"].get("podIP", ""))

    def exec(self, pod: str, container: str, script: str, timeout: float = 600) -> str:
        return self.run("exec", pod, "-c", container, "--", "bash", "-c", script, timeout=timeout).stdout

    def secret_value(self, name: str, key: str) -> str:
        data = self.json("get", "secret", name)["data"]
        return base64.b64decode(data[key]).decode()

    def ensure_namespace(self) -> None:
        kubectl = ["kubectl", "delete", "namespace", self.namespace, "--ignore-not-found", "--wait=true"]
        subprocess.run(kubectl, env=self.env, capture_output=True, check=False, timeout=600)
        subprocess.run(
            ["kubectl", "create", "namespace", self.namespace], env=self.env, capture_output=True, check=True
        )

    def delete_namespace(self, wait: bool = True) -> None:
        subprocess.run(
            [
                "kubectl",
                "delete",
                "namespace",
                self.namespace,
                "--ignore-not-found",
                f"--wait={str(wait).lower()}",
            ],
            env=self.env,
            capture_output=True,
            check=False,
            timeout=900,
        )

    def container_times(self, pod: str, container: str) -> tuple[float, float] | None:
        """When an init container started and finished, from the pod's status (second resolution)."""
        status = self.json("get", "pod", pod)["status"]
        for entry in status.get("initContainerStatuses", []):
            done = entry.get("state", {}).get("terminated")
            if entry["name"] == container and done:
                return parse_time(done["startedAt"]), parse_time(done["finishedAt"])
        return None

    def log_lines(self, pod: str, container: str) -> list[tuple[float, str]]:
        """The container's log with the kubelet's timestamps."""
        out = self.run("logs", pod, "-c", container, "--timestamps", check=False).stdout
        lines = []
        for line in out.splitlines():
            stamp, _, text = line.partition(" ")
            try:
                lines.append((parse_time(stamp), text))
            except ValueError:
                continue
        return lines


@dataclass
class Stack:
    """A stack `bench` of a copy of this project, driven through the real pulumi CLI with a file backend."""

    root: Path
    env: dict[str, str]
    name: str = "bench"
    timings: list[tuple[str, float]] = field(default_factory=list)

    @classmethod
    def create(cls, root: Path, base_env: dict[str, str], namespace: str) -> Stack:
        workdir = root / "project"
        workdir.mkdir(parents=True)
        for name in ("Pulumi.yaml", "__main__.py"):
            shutil.copy(REPO / name, workdir / name)
        (workdir / "mysql_cluster").symlink_to(REPO / "mysql_cluster")
        (workdir / ".venv").symlink_to(REPO / ".venv")
        shutil.copy(REPO / "Pulumi.local.yaml", workdir / "Pulumi.bench.yaml")
        (root / "state").mkdir()
        env = dict(base_env)
        env["PULUMI_BACKEND_URL"] = f"file://{root / 'state'}"
        env["PULUMI_HOME"] = str(root / "pulumi-home")
        env["PULUMI_CONFIG_PASSPHRASE"] = secrets.token_urlsafe(24)
        env["PYTHONPATH"] = str(workdir)
        stack = cls(root=workdir, env=env)
        stack.pulumi("stack", "init", stack.name)
        stack.config_set("namespace", namespace)
        # The local stack generates its passwords now; the bench makes the namespace and a Secret of its own
        # beforehand (outside the clock, as `make up` does for an existingSecret), as it did before.
        stack.pulumi("config", "set", "--plaintext", "existingSecret", "mysql-bench-credentials")  # a name
        stack.config_set("createNamespace", "false")
        return stack

    def pulumi(self, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
        stack = [] if args[:2] == ("stack", "init") else ["--stack", self.name]
        cmd = ["pulumi", *args, *stack, "--non-interactive"]
        result = subprocess.run(
            cmd, cwd=self.root, capture_output=True, text=True, env=self.env, timeout=timeout, check=False
        )
        if result.returncode != 0:
            raise BenchError(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout[-3000:]}")
        return result

    def config_set(self, key: str, value: str) -> None:
        self.pulumi("config", "set", key, value)

    def config_get(self, key: str) -> str:
        return self.pulumi("config", "get", key).stdout.strip()

    def timed(self, label: str, *args: str) -> float:
        start = time.monotonic()
        self.pulumi(*args)
        elapsed = time.monotonic() - start
        self.timings.append((label, elapsed))
        return elapsed

    def outputs(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.pulumi("stack", "output", "--json", "--show-secrets").stdout)
        return parsed
