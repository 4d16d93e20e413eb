"""What the end-to-end tests drive: the pulumi CLI on one stack, and kubectl in its namespace."""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
# The flavor the scenarios deploy: MYSQL_CLUSTER_E2E_FLAVOR=<flavor>-<version> (default: the local stack's
# MariaDB 10.11). Each runs from its local image: e2e/images/build.sh (10.11), build-db.sh (11.8, MySQL 9.7).
E2E_FLAVORS = {
    "mariadb-10.11": ("mariadb", "10.11"),
    "mariadb-11.8": ("mariadb", "11.8"),
    "mysql-9.7": ("mysql", "9.7"),
}
E2E_FLAVOR = os.environ.get("MYSQL_CLUSTER_E2E_FLAVOR", "mariadb-10.11")
if E2E_FLAVOR not in E2E_FLAVORS:
    raise ValueError(f"MYSQL_CLUSTER_E2E_FLAVOR={E2E_FLAVOR!r}: allowed are {', '.join(E2E_FLAVORS)}")
FLAVOR_NAME, FLAVOR_VERSION = E2E_FLAVORS[E2E_FLAVOR]
LOCAL_IMAGE = f"localhost/mysql-cluster/{FLAVOR_NAME}:{FLAVOR_VERSION}"
ARTIFACTS = REPO / "e2e-artifacts" / E2E_FLAVOR
"""Where a failed scenario's logs and events go (one folder per flavor; `.ci/run` prints them)."""
CLIENT = "mysql" if FLAVOR_NAME == "mysql" else "mariadb"
"""The SQL client in LOCAL_IMAGE."""
CLUSTER_NAME = "mysql"
CLONE_BANDWIDTH_MIB = 16
"""The scenarios' stack caps every CLONE (flavors seeded by the CLONE plugin) with serverConfig's
`clone_max_data_bandwidth` (MiB/s): chaos (c) needs its CLONE to last long enough to kill the donor in the
middle. Measured on mysqld 9.7.4 for ~160 MB (the data with (c)'s ballast): 0.3 s uncapped, 3 to 4 s at
16 (the plugin sleeps at most 1 s per check, so short copies run in bursts), at most ~10 s (160 MB at
16 MiB/s). The other scenarios' clones cost up to ~4 s more each (against an uncapped run the same hour:
scale-up 13 -> 15 s, (b) 18 -> 18 s, (e) to 5 pods 16 -> 20 s)."""


def _capture(cmd: list[str], env: dict[str, str] | None = None) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout.strip()


@dataclass
class Kube:
    """kubectl against the local cluster, in the stack's namespace."""

    env: dict[str, str]
    namespace: str

    def run(
        self, *args: str, check: bool = True, namespaced: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        cmd = ["kubectl", *(["-n", self.namespace] if namespaced else []), *args]
        result = subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=self.env, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def json(self, *args: str, namespaced: bool = True) -> Any:
        return json.loads(self.run(*args, "-o", "json", namespaced=namespaced).stdout)

    def pod_names(self) -> list[str]:
        pods = self.json("get", "pods", "-l", f"app.kubernetes.io/instance={CLUSTER_NAME}")
        return sorted(p["metadata"]["name"] for p in pods["items"])


@dataclass
class Stack:
    """One Pulumi stack of the project, driven through the real CLI with a local file backend."""

    workdir: Path
    env: dict[str, str]
    name: str = "e2e"
    log: list[str] = field(default_factory=list)
    # The passwords of the Secret the test made, by key ("root", ...), when the stack uses `existingSecret`;
    # None when the stack generates its passwords.
    existing_passwords: dict[str, str] | None = None

    def pulumi(
        self, *args: str, check: bool = True, timeout: float = 1800
    ) -> subprocess.CompletedProcess[str]:
        # `stack init NAME` takes the name as its argument and refuses --stack beside it.
        stack = [] if args[:2] == ("stack", "init") else ["--stack", self.name]
        cmd = ["pulumi", *args, *stack, "--non-interactive"]
        result = subprocess.run(
            cmd, cwd=self.workdir, capture_output=True, text=True, env=self.env, timeout=timeout, check=False
        )
        self.log.append(f"$ {' '.join(cmd)}\n{result.stdout}\n{result.stderr}")
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result

    def config_set(self, key: str, value: str, *, path: bool = False, plaintext: bool = False) -> None:
        flags = [*(["--path"] if path else []), *(["--plaintext"] if plaintext else [])]
        self.pulumi("config", "set", *flags, key, value)

    def up(self) -> float:
        start = time.monotonic()
        self.pulumi("up", "--yes", "--skip-preview")
        return time.monotonic() - start

    def password(self) -> str:
        """The root password: from the stack's secret output, or the existing Secret the test created."""
        if self.existing_passwords is not None:
            return self.existing_passwords["root"]
        password: str = self.outputs()["rootPassword"]
        return password

    def all_passwords(self) -> list[str]:
        """The cluster's three passwords, wherever they came from."""
        if self.existing_passwords is not None:
            return list(self.existing_passwords.values())
        outputs = self.outputs()
        return [outputs[key] for key in ("rootPassword", "replicationPassword", "backupPassword")]

    def outputs(self) -> dict[str, Any]:
        out = self.pulumi("stack", "output", "--json", "--show-secrets").stdout
        parsed: dict[str, Any] = json.loads(out)
        return parsed
