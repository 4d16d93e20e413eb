"""Where the script tier finds each flavor's programs: on this host, or inside a database image's root
filesystem.

MariaDB 10.11 is this host's own (Debian bookworm, installed by tools/setup-host.sh). Newer releases are
not packaged for bookworm, and the host's apt sources must stay bookworm: `e2e/images/build-db.sh` builds
their images from pinned Debian packages (trixie, sid) and keeps each image's root filesystem unpacked in
its cache. The harness runs the container scripts and everything they start INSIDE that root filesystem
(`in-rootfs.sh`: a private mount namespace, chroot, the image's uid), so the tests exercise the image's
own server, client, backup tool, socat and bash, as a pod would.

`MYSQL_CLUSTER_ROOTFS_<FLAVOR>_<VERSION>` (e.g. `MYSQL_CLUSTER_ROOTFS_MARIADB_11_8=/some/rootfs`) points a
flavor at another root filesystem, for trying a build by hand.
"""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

from mysql_cluster.flavors import Flavor

REPOSITORY = Path(__file__).resolve().parents[2]
BUILD_DB = REPOSITORY / "e2e" / "images" / "build-db.sh"
IN_ROOTFS = Path(__file__).resolve().parent / "in-rootfs.sh"

ON_HOST = frozenset({("mariadb", "10.11")})
"""Flavors whose programs this host has (tools/setup-host.sh installs them)."""

IMAGES = {("mariadb", "11.8"): "mariadb:11.8", ("mysql", "9.7"): "mysql:9.7"}
"""Flavors built by e2e/images/build-db.sh: (name, version) -> image (localhost/mysql-cluster/<image>)."""


class RootfsMissingError(RuntimeError):
    """A flavor's root filesystem is not built (the error says how to build it)."""


@functools.cache
def locate(name: str, version: str) -> Path | None:
    """The root filesystem that runs `name` `version` (None: this host). Raises RootfsMissingError."""
    if (name, version) in ON_HOST:
        return None
    if (name, version) not in IMAGES:
        known = sorted([*ON_HOST, *IMAGES])
        raise RootfsMissingError(f"no server for {name} {version} in the script tier (known: {known})")
    override = os.environ.get(f"MYSQL_CLUSTER_ROOTFS_{name.upper()}_{version.replace('.', '_')}")
    if override:
        return Path(override)
    image = IMAGES[name, version]
    found = subprocess.run(
        ["bash", str(BUILD_DB), "--rootfs", image], capture_output=True, text=True, check=False
    )
    if found.returncode != 0:
        raise RootfsMissingError(
            f"the {image} root filesystem is not built: run `sudo bash e2e/images/build-db.sh {image}` "
            f"(or `make images-db`) first.\n{found.stderr.strip()}"
        )
    return Path(found.stdout.strip())


def rootfs_of(flavor: Flavor) -> Path | None:
    """`locate` for a Flavor."""
    return locate(flavor.name, flavor.version)


def command_prefix(rootfs: Path, uid: int, gid: int) -> list[str]:
    """The prefix that runs a command inside `rootfs` as uid:gid (the harness runs as root)."""
    if os.geteuid() != 0:
        raise RootfsMissingError(f"running programs inside {rootfs} needs root (mount namespaces, chroot)")
    return ["unshare", "--mount", "--", "bash", str(IN_ROOTFS), str(rootfs), str(uid), str(gid)]
