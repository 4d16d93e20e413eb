"""The two systems under test, behind one interface: the tutorial's manifests and this program's stack."""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .db import Login, connect
from .flavors import Flavor
from .kube import REPO, BenchError, Kube, Stack

CHECK_USER = "benchcheck"


@dataclass
class System:
    """What the scenarios need to know about one deployment of three or more pods."""

    name: str
    kube: Kube
    flavor: Flavor
    selector: str  # label selector of its pods
    datadir: str  # the server's datadir in the backup container
    volume: str  # where the data volume is mounted in the backup container
    backup_container: str
    clone_container: str
    login: Login = field(default=Login("root", ""), repr=False)

    def deploy(self) -> None:
        """Create the cluster with three pods; return when the tool that deploys it returns."""
        raise NotImplementedError

    def scale(self, pods: int) -> None:
        raise NotImplementedError

    def check(self, pods: int) -> tuple[int, str]:
        """Run scripts/check.py until healthy (at most 300 s); its exit code and last stderr line."""
        raise NotImplementedError

    def preview(self) -> float:
        raise NotImplementedError

    def noop_update(self) -> float:
        raise NotImplementedError

    def teardown(self) -> None:
        raise NotImplementedError

    def primary_address(self) -> str:
        """Where clients write: the write Service, or the primary pod when there is none."""
        return self.kube.pod_ip("mysql-0")

    def pod_ips(self) -> dict[str, str]:
        return {name: p["status"].get("podIP", "") for name, p in self.kube.pods(self.selector).items()}


def _run_check(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=420)
    last = result.stderr.strip().splitlines()[-1:] or [""]
    failures = ""
    try:
        failures = json.dumps(json.loads(result.stdout).get("failures", []))[:400]
    except json.JSONDecodeError:
        failures = result.stdout[-400:]
    return result.returncode, f"{last[0]} {failures}".strip()


@dataclass
class Tutorial(System):
    """The tutorial's manifests (bench/tutorial/, for the flavor: bench/flavors.py), applied and scaled with
    kubectl."""

    manifests: Path = Path()

    def deploy(self) -> None:
        self.kube.ensure_namespace()
        self.kube.run("apply", "-f", str(self.manifests))
        self.kube.run("rollout", "status", "statefulset/mysql", "--timeout=900s", timeout=960)

    def scale(self, pods: int) -> None:
        self.kube.run("scale", "statefulset/mysql", f"--replicas={pods}")

    def check(self, pods: int) -> tuple[int, str]:
        # The tutorial's root has an empty password, which the check tool refuses: the check logs in as a
        # user with a password, made on the primary (it replicates like any write).
        password = secrets.token_urlsafe(18)
        with connect(self.primary_address(), self.login) as conn, conn.cursor() as cur:
            # %% is a literal % for the driver's parameter formatting.
            cur.execute(f"CREATE USER IF NOT EXISTS '{CHECK_USER}'@'%%' IDENTIFIED BY %s", (password,))
            cur.execute(f"GRANT ALL ON *.* TO '{CHECK_USER}'@'%'")
        env = dict(self.kube.env, MYSQL_ROOT_PASSWORD=password)
        cmd = [
            sys.executable, str(REPO / "scripts/check.py"), "--namespace", self.kube.namespace,
            "--statefulset", "mysql", "--replicas", str(pods), "--user", CHECK_USER,
            "--flavor", self.flavor.name, "--version", self.flavor.version,
            "--primary-source", "mysql-0.mysql:3306",
            "--json", "--wait", "300",
        ]  # fmt: skip
        return _run_check(cmd, REPO, env)

    def preview(self) -> float:
        start = time.monotonic()
        result = self.kube.run("diff", "-f", str(self.manifests), check=False)
        if result.returncode not in (0, 1):
            raise BenchError(f"kubectl diff failed: {result.stderr.strip()}")
        return time.monotonic() - start

    def noop_update(self) -> float:
        start = time.monotonic()
        self.kube.run("apply", "-f", str(self.manifests))
        return time.monotonic() - start

    def teardown(self) -> None:
        self.kube.delete_namespace()


@dataclass
class Program(System):
    """This project's stack (Pulumi.local.yaml), deployed and scaled with the real pulumi CLI."""

    stack: Stack | None = None
    secret_name: str = ""

    def attach(self, stack: Stack) -> None:
        self.stack = stack
        self.secret_name = stack.config_get("existingSecret")

    def _stack(self) -> Stack:
        if self.stack is None:
            raise BenchError("the program's stack is not set up")
        return self.stack

    def prepare(self) -> None:
        """The namespace and the Secret the local stack names (as `make up` makes them), before the clock."""
        self.kube.ensure_namespace()
        manifest = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": self.secret_name, "namespace": self.kube.namespace},
            "type": "Opaque",
            "stringData": {
                f"{key}-password": secrets.token_urlsafe(24) for key in ("root", "replication", "backup")
            },
        }
        # `create` through stdin: no password on a command line or in an annotation.
        self.kube.run("create", "-f", "-", stdin=json.dumps(manifest))
        self.login = Login("root", self.kube.secret_value(self.secret_name, "root-password"))

    def deploy(self) -> None:
        self._stack().timed("up", "up", "--yes", "--skip-preview")

    def scale(self, pods: int) -> None:
        stack = self._stack()
        stack.config_set("replicas", str(pods))
        stack.timed(f"up-{pods}", "up", "--yes", "--skip-preview")

    def check(self, pods: int) -> tuple[int, str]:
        stack = self._stack()
        cmd = [
            sys.executable,
            str(REPO / "scripts/check.py"),
            "--stack",
            stack.name,
            "--json",
            "--wait",
            "300",
        ]
        return _run_check(cmd, stack.root, stack.env)

    def preview(self) -> float:
        return self._stack().timed("preview", "preview")

    def noop_update(self) -> float:
        return self._stack().timed("noop-up", "up", "--yes", "--skip-preview")

    def primary_address(self) -> str:
        service = self._stack().outputs()["writeService"]
        address = str(self.kube.json("get", "service", service)["spec"]["clusterIP"])
        try:  # kube-proxy routes the host's own connections to Service IPs too; if not, the pod itself
            socket.create_connection((address, 3306), timeout=3).close()
        except OSError:
            print(f"[bench] the write Service {address} does not answer here: using the pod", file=sys.stderr)
            return self.kube.pod_ip("mysql-0")
        return address

    def teardown(self) -> None:
        if self.stack is not None:
            try:
                self.stack.pulumi("destroy", "--yes", "--skip-preview")
            except BenchError as error:
                print(f"[bench] destroy failed, deleting the namespace anyway: {error}", file=sys.stderr)
        self.kube.delete_namespace()


def tutorial(env: dict[str, str], flavor: Flavor, workdir: Path) -> Tutorial:
    return Tutorial(
        name="tutorial",
        kube=Kube(env, "bench-tutorial"),
        flavor=flavor,
        selector="app=mysql",
        datadir="/var/lib/mysql",
        volume="/var/lib/mysql",
        backup_container=flavor.replication_container,
        clone_container="clone-mysql",
        manifests=flavor.write_tutorial(workdir / "tutorial"),
    )


def program(env: dict[str, str], flavor: Flavor) -> Program:
    return Program(
        name="program",
        kube=Kube(env, "bench-program"),
        flavor=flavor,
        selector="app.kubernetes.io/instance=mysql",
        datadir="/var/lib/mysql/data",
        volume="/var/lib/mysql",
        backup_container="backup",
        clone_container="clone",
    )
