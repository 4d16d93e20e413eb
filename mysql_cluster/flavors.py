"""What differs between MySQL 8.4, MySQL 8.0 and MariaDB: images, tools, server options and SQL.

This is the only module that spells SQL or server options that differ between versions. The component
ships `render_config_files(flavor)` in its ConfigMap; the container scripts source `flavor.env` from it;
the post-deploy checks import the status statements from here.

SKELETON written by the lead to fix the interface; the scripts engineer owns and completes this file.
Public API (keep these names and signatures; add fields freely):
    SUPPORTED_VERSIONS: dict[str, tuple[str, ...]]   flavor -> supported versions, default first
    DEFAULT_FLAVOR: str
    get_flavor(name: str, version: str | None = None) -> Flavor   raises UnknownFlavorError
    render_config_files(flavor: Flavor) -> dict[str, str]          file name -> content
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_FLAVOR = "mysql"

SUPPORTED_VERSIONS: dict[str, tuple[str, ...]] = {
    "mysql": ("8.4", "8.0"),
    "mariadb": ("10.11", "11.4"),
}


class UnknownFlavorError(ValueError):
    """A flavor or version this project does not support."""


@dataclass(frozen=True)
class Flavor:
    """One database flavor at one major version."""

    name: str  # "mysql" or "mariadb"
    version: str  # "8.4", "8.0", "10.11", "11.4"
    default_image: str  # server image
    default_backup_image: str  # image of the clone init container and the backup sidecar
    run_as_user: int  # uid the server and the backup tool run as (files on the volume are theirs)
    run_as_group: int
    show_replica_status: str  # "SHOW REPLICA STATUS" or "SHOW SLAVE STATUS"
    io_running_column: str  # "Replica_IO_Running" or "Slave_IO_Running"
    sql_running_column: str
    lag_column: str  # "Seconds_Behind_Source" or "Seconds_Behind_Master"
    source_host_column: str  # "Source_Host" or "Master_Host"
    stop_replica: str
    start_replica: str


def get_flavor(name: str, version: str | None = None) -> Flavor:
    raise NotImplementedError


def render_config_files(flavor: Flavor) -> dict[str, str]:
    raise NotImplementedError
