"""The accounts a new cluster's primary creates (`Flavor.init_accounts`): each holds what it needs and nothing
more, on every flavor and version."""

from __future__ import annotations

import re

import pytest

from mysql_cluster.flavors import SUPPORTED_VERSIONS, get_flavor
from mysql_cluster.flavors.model import LOCAL_ADMIN_USER

pytestmark = pytest.mark.unit

ALL = [(name, version) for name, versions in SUPPORTED_VERSIONS.items() for version in versions]


RECEIVED_TABLE = "performance_schema.replication_connection_status"


@pytest.mark.parametrize(("name", "version"), ALL)
def test_accounts_have_least_privilege(name: str, version: str) -> None:
    accounts = get_flavor(name, version).init_accounts
    grants = re.findall(r"^GRANT (.+) ON (\S+) TO (\S+?)(?: WITH GRANT OPTION)?;$", accounts, re.MULTILINE)
    replication = [(what, on) for what, on, to in grants if to == "{{REPLICATION_USER}}@`%`"]
    # Replication, and reading what a replica received (a re-seed ranks replicas by it): nothing else.
    monitor = ("SLAVE MONITOR", "*.*") if name == "mariadb" else ("SELECT", RECEIVED_TABLE)
    assert replication == [("REPLICATION SLAVE", "*.*"), monitor]
    # The pod-local administrator: socket authentication only, never a password.
    local = f"`{LOCAL_ADMIN_USER}`@`localhost`"
    assert [(what, on) for what, on, to in grants if to == local] == [("ALL PRIVILEGES", "*.*")]
    plugin = "WITH auth_socket" if name == "mysql" else "VIA unix_socket"
    assert f"CREATE USER IF NOT EXISTS {local} IDENTIFIED {plugin};" in accounts
    backup_targets = {to for what, on, to in grants if "BACKUP_USER" in to}
    if get_flavor(name, version).seeding == "clone-plugin":
        # The CLONE donor is reached over the network, with TLS only, and may do nothing but BACKUP_ADMIN.
        assert backup_targets == {"{{BACKUP_USER}}@`%`"}
        assert [(what, on) for what, on, to in grants if "BACKUP_USER" in to] == [("BACKUP_ADMIN", "*.*")]
        assert "{{BACKUP_USER}}@`%` IDENTIFIED BY {{BACKUP_PASSWORD}} REQUIRE SSL;" in accounts
    else:
        assert backup_targets == {"{{BACKUP_USER}}@`localhost`"}  # the backup tool uses the socket only
    assert "ALL" not in " ".join(what for what, on, to in grants if "BACKUP_USER" in to)
    # Passwords are placeholders, filled by the scripts as quoted literals; never empty.
    assert "IDENTIFIED BY ''" not in accounts
    assert accounts.count("IDENTIFIED BY {{") == 4
    assert accounts.startswith("SET SESSION sql_log_bin = 0;")
