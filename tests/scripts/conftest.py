"""Fixtures of the script tier."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.support.pods import Cluster

REQUIRED_TOOLS = ("mariadbd", "mariadb", "mariadb-admin", "mariadb-install-db", "mariadb-backup", "mbstream",
                  "socat", "setpriv", "openssl")  # fmt: skip


@pytest.fixture(scope="session", autouse=True)
def _tools_installed(request: pytest.FixtureRequest) -> None:
    """Fails (not skips) the server tests when the host lacks what they run: a skipped tier proves nothing."""
    if not any(item.get_closest_marker("scripts") for item in request.session.items):
        return
    missing = [
        tool for tool in REQUIRED_TOOLS if shutil.which(tool, path="/usr/sbin:/usr/bin:/sbin:/bin") is None
    ]
    if missing:
        pytest.fail(f"missing on this host: {', '.join(missing)} (run `bash tools/setup-host.sh`)")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """Two pods created but not started (mysql-0, mysql-1), for tests that run single scripts. Modules that
    need running servers define their own `cluster`, which takes precedence over this one."""
    with Cluster() as built:
        built.new_pod()
        built.new_pod()
        yield built
