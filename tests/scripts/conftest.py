"""Fixtures of the script tier: the flavors it runs against, and two pods for single-script tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mysql_cluster.flavors import Flavor, get_flavor
from tests.support.fake_api import make_certificate
from tests.support.pods import Cluster

REQUIRED_TOOLS = ("mariadbd", "mariadb", "mariadb-admin", "mariadb-install-db", "mariadb-backup", "mbstream",
                  "socat", "setpriv", "openssl", "unshare", "chroot")  # fmt: skip

MARIADB_FLAVORS = [("mariadb", "10.11"), ("mariadb", "11.8")]
SCRIPT_FLAVORS = [*MARIADB_FLAVORS, ("mysql", "9.7")]
"""Every flavor the container scripts are tested against with real servers: 10.11 from this host, the
others inside their images' root filesystems (tests/support/rootfs.py; `make images-db` builds them).
Modules about mariadb-backup's stream (test_clone, test_replication) run the MariaDB flavors only;
tests/scripts/test_mysql.py is their MySQL counterpart."""


def flavor_id(param: tuple[str, str]) -> str:
    """Test id of a (name, version) parameter, e.g. mariadb-11.8."""
    return "-".join(param)


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


@pytest.fixture(scope="module", params=SCRIPT_FLAVORS, ids=flavor_id)
def flavor(request: pytest.FixtureRequest) -> Flavor:
    """The flavor a module's cluster runs (each module runs once per flavor)."""
    name, version = request.param
    return get_flavor(name, version)


@pytest.fixture(scope="module")
def cluster(flavor: Flavor) -> Iterator[Cluster]:
    """Two pods created but not started (mysql-0, mysql-1), for tests that run single scripts. Modules that
    need running servers define their own `cluster`, which takes precedence over this one."""
    with Cluster(flavor) as built:
        built.new_pod()
        built.new_pod()
        yield built


@pytest.fixture(scope="module")
def certificates(cluster: Cluster) -> dict[str, tuple[Path, Path]]:
    """The fake API server's certificate (`apiserver`), one nobody trusts, one for another address
    (tests/support/fake_api.py; label-pod and its cluster facts)."""
    directory = cluster.root / "pki"
    directory.mkdir()
    made = {name: make_certificate(directory, name) for name in ("apiserver", "impostor")}
    # Signed by the right CA key but for another address: a stolen certificate replayed elsewhere.
    made["elsewhere"] = make_certificate(directory, "elsewhere", address="10.0.0.1")
    return made


@contextmanager
def donor_cluster(flavor: Flavor | None, handshake_timeout: int) -> Iterator[Cluster]:
    """A started primary with a table of one row, one backup at a time and a short handshake timeout: the
    donor the clone port modules attack and stream from."""
    with Cluster(
        flavor, extra_env={"CLONE_MAX_BACKUPS": "1", "CLONE_HANDSHAKE_TIMEOUT": str(handshake_timeout)}
    ) as built:
        built.start()
        built.primary.sql("CREATE DATABASE app")
        built.primary.sql("CREATE TABLE app.t (id INT PRIMARY KEY)")
        built.primary.sql("INSERT INTO app.t VALUES (1)")
        yield built
