"""What differs between MySQL 8.4 and 9.7 and MariaDB 10.11, 11.4 and 11.8: images, tools, server options
and SQL.

This package is the only place that spells SQL or server options that differ between versions: one module
per flavor (`mysql.py`, `mariadb.py`), the shape they share in `model.py`, the scripts' view in `env.py`.
The component ships `render_config_files(flavor)` in its ConfigMap; the container scripts source
`flavor.env` from it; the post-deploy checks import the status statements and column names from here.

Public API (names and signatures are stable; fields may be added):
    SUPPORTED_VERSIONS: dict[str, tuple[str, ...]]   flavor -> supported versions, default first
    RETIRED_VERSIONS: dict[tuple[str, str], str]     (flavor, version) -> why refused, what to use instead
    DEFAULT_FLAVOR: str
    get_flavor(name: str, version: str | None = None) -> Flavor   raises UnknownFlavorError
    render_config_files(flavor: Flavor) -> dict[str, str]          file name -> content

Which image runs which container (`mysql_cluster/scripts/README.md` has the whole contract):
    server image (`default_image`): init-config, the server, the probes;
    backup image (`default_backup_image`): label-pod, clone, the backup sidecar. The Percona XtraBackup
    images ship `xtrabackup`, `xbstream`, `socat` and the Percona Server `mysql` client, so the sidecar
    issues its SQL from there; for MariaDB, and for MySQL seeded by the CLONE plugin, both are the same.
Every container of a pod runs as `run_as_user`/`run_as_group` (999: the `mysql` user of the official
`mysql` and `mariadb` images). The Percona image's own user is 1001, but nothing in that image depends on
it, and running it as 999 keeps every file on the data volume owned by the server's natural user.

SQL templates carry `{{NAME}}` placeholders. The scripts substitute quoted SQL string literals (or, for
`{{SOURCE_PORT}}`, a validated number) and send the result to the client on stdin, never on its command
line. Placeholders: ROOT_PASSWORD, REPLICATION_USER, REPLICATION_PASSWORD, BACKUP_USER, BACKUP_PASSWORD,
SOURCE_HOST, SOURCE_PORT, GTID_POSITION.
"""

from __future__ import annotations

# `from <package>.<module> import <name>` only: `from <package> import <module>` would import the top-level
# package `mysql_cluster` (and with it Pulumi), which the check tool loads this package without.
from mysql_cluster.flavors.env import flavor_env
from mysql_cluster.flavors.mariadb import VERSIONS as MARIADB_VERSIONS
from mysql_cluster.flavors.mariadb import mariadb_flavor
from mysql_cluster.flavors.model import Flavor, UnknownFlavorError
from mysql_cluster.flavors.mysql import VERSIONS as MYSQL_VERSIONS
from mysql_cluster.flavors.mysql import mysql_flavor

__all__ = [
    "DEFAULT_FLAVOR",
    "DEFAULT_VERSIONS",
    "RETIRED_VERSIONS",
    "SUPPORTED_VERSIONS",
    "Flavor",
    "UnknownFlavorError",
    "get_flavor",
    "render_config_files",
]

DEFAULT_FLAVOR = "mysql"
# Each flavor's default version: one proven end to end here (MySQL 9.7 LTS, seeded by the CLONE plugin;
# MariaDB 10.11 LTS). README, "What has been verified".
DEFAULT_VERSIONS = {"mysql": "9.7", "mariadb": "10.11"}

SUPPORTED_VERSIONS: dict[str, tuple[str, ...]] = {
    "mysql": MYSQL_VERSIONS,
    "mariadb": MARIADB_VERSIONS,
}

RETIRED_VERSIONS: dict[tuple[str, str], str] = {
    ("mysql", "8.0"): "MySQL 8.0 reached its end of life in April 2026; use 8.4 or 9.7 (LTS releases)",
}


def get_flavor(name: str, version: str | None = None) -> Flavor:
    """The flavor `name` at `version` (default: `DEFAULT_VERSIONS[name]`)."""
    if name not in SUPPORTED_VERSIONS:
        raise UnknownFlavorError(
            f"unknown flavor {name!r}: supported flavors are {', '.join(sorted(SUPPORTED_VERSIONS))}"
        )
    versions = SUPPORTED_VERSIONS[name]
    chosen = DEFAULT_VERSIONS[name] if version is None else version
    if (name, chosen) in RETIRED_VERSIONS:
        raise UnknownFlavorError(f"unsupported {name} version {chosen!r}: {RETIRED_VERSIONS[name, chosen]}")
    if chosen not in versions:
        raise UnknownFlavorError(
            f"unsupported {name} version {chosen!r}: supported versions are {', '.join(versions)}"
        )
    return mysql_flavor(chosen) if name == "mysql" else mariadb_flavor(chosen)


def render_config_files(flavor: Flavor) -> dict[str, str]:
    """The ConfigMap files that depend on the flavor: `common.cnf`, `primary.cnf`, `replica.cnf` and
    `flavor.env` (sourced by the container scripts)."""
    return {
        "common.cnf": flavor.common_cnf,
        "primary.cnf": flavor.primary_cnf,
        "replica.cnf": flavor.replica_cnf,
        "flavor.env": flavor_env(flavor),
    }
