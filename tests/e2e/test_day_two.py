"""Day two as a user types it (issue 18): in a shell that has nothing but the repository, `eval "$(make env)"`
and then the commands the README gives, `pulumi config set replicas ...`, `pulumi up`, `kubectl`,
`pulumi config set --path serverConfig...`, `make check`, `pulumi destroy`: not through the harness's own
environment. Before, `pulumi` was "command not found" and kubectl talked to localhost:8080.
"""

from __future__ import annotations

import os
import secrets
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from .checks import Report
from .harness import FLAVOR_NAME, FLAVOR_VERSION, LOCAL_IMAGE, REPO

pytestmark = [pytest.mark.e2e, pytest.mark.once]


@pytest.fixture
def user_stack(tmp_path: Path, e2e_env: dict[str, str]) -> Iterator[tuple[str, str, Path]]:
    """A stack file like the local one beside Pulumi.yaml (as a user's), its own namespace; removed after."""
    name = f"dayTwo{secrets.token_hex(3)}"
    namespace = f"e2e-day-two-{secrets.token_hex(3)}"
    config = yaml.safe_load((REPO / "Pulumi.local.yaml").read_text())["config"]
    config |= {
        "mysql-cluster:namespace": namespace,
        "mysql-cluster:replicas": "2",
        "mysql-cluster:flavor": FLAVOR_NAME,
        "mysql-cluster:version": FLAVOR_VERSION,
        "mysql-cluster:image": LOCAL_IMAGE,
        "mysql-cluster:backupImage": LOCAL_IMAGE,
    }
    stack_file = REPO / f"Pulumi.{name}.yaml"
    stack_file.write_text(yaml.safe_dump({"config": config}))
    home = tmp_path / "home"
    home.mkdir()
    try:
        yield name, namespace, home
    finally:
        stack_file.unlink(missing_ok=True)
        subprocess.run(["kubectl", "delete", "namespace", namespace, "--ignore-not-found", "--wait=false"],
                       env=e2e_env, capture_output=True, check=False)  # fmt: skip


def test_the_readmes_day_two_commands_work_in_a_users_shell(
    user_stack: tuple[str, str, Path], report: Report
) -> None:
    name, namespace, home = user_stack
    script = f"""
set -euo pipefail
cd {shlex.quote(str(REPO))}
eval "$(make env)"
pulumi up --yes
pulumi config set replicas 3
pulumi up --yes
kubectl -n {namespace} get pods -o name
pulumi config set --path serverConfig.max_connections 222
pulumi up --yes
make check
pulumi destroy --yes
pulumi stack rm --yes
"""
    # A login shell's environment: no pulumi, no kubectl, no KUBECONFIG, no backend, a HOME of its own.
    language = os.environ.get("LANG", "C.UTF-8")
    env = {"HOME": str(home), "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": language,
           "MYSQL_CLUSTER_TARGET": "local", "MYSQL_CLUSTER_STACK": name}  # fmt: skip
    result = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=1500, check=False
    )
    output = f"{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, output[-6000:]
    pods = [line for line in result.stdout.splitlines() if line.startswith("pod/")]
    assert sorted(pods) == ["pod/mysql-0", "pod/mysql-1", "pod/mysql-2"], output[-3000:]
    assert "command not found" not in output
    assert "localhost:8080" not in output
    report('day two through `eval "$(make env)"`: up, scale 2 -> 3, kubectl, serverConfig, check, destroy')
