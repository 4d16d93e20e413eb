"""The flavors the benchmark runs on (those the e2e tier deploys), and the tutorial's manifests for each."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .kube import REPO

TUTORIAL_DIR = REPO / "bench/tutorial"  # MariaDB 10.11: the manifests as applied
TUTORIAL_MYSQL_DIR = REPO / "bench/tutorial-mysql"  # MySQL 9.7: its own ConfigMap and StatefulSet
BASE_IMAGE = "localhost/mysql-cluster/mariadb:10.11"


@dataclass(frozen=True)
class Flavor:
    key: str  # BENCH_FLAVOR's value: mariadb-10.11
    name: str  # mariadb or mysql (the project's `flavor` setting and the check's --flavor)
    version: str

    @property
    def image(self) -> str:
        return f"localhost/mysql-cluster/{self.name}:{self.version}"

    @property
    def replication_container(self) -> str:
        """The tutorial's sidecar: serves backups (xtrabackup), or on MySQL 9.7 only starts replication."""
        return "replication" if self.name == "mysql" else "xtrabackup"

    def tutorial_manifests(self) -> dict[str, str]:
        """The tutorial's manifests for this flavor (file name -> YAML), adapted only where the image forces
        it (bench/README.md lists every adaptation)."""
        services = (TUTORIAL_DIR / "services.yaml").read_text()
        if self.name == "mysql":
            return {
                "services.yaml": services,
                "configmap.yaml": (TUTORIAL_MYSQL_DIR / "configmap.yaml").read_text(),
                "statefulset.yaml": (TUTORIAL_MYSQL_DIR / "statefulset.yaml").read_text(),
            }
        changes = [(BASE_IMAGE, self.image)]
        if self.version != "10.11":
            changes += [
                # mariadb-backup 11.x names its info files mariadb_backup_*.
                ("xtrabackup_binlog_info", "mariadb_backup_binlog_info"),
                ("xtrabackup_slave_info", "mariadb_backup_slave_info"),
                # MariaDB 11.4+ replicates over TLS and verifies the source's self-signed certificate through
                # the password; the tutorial's root has none ("SSL certificate is self-signed").
                ("MASTER_CONNECT_RETRY=10;", "MASTER_CONNECT_RETRY=10, MASTER_SSL_VERIFY_SERVER_CERT=0;"),
            ]
        statefulset = (TUTORIAL_DIR / "statefulset.yaml").read_text()
        for old, new in changes:
            if old not in statefulset:
                raise ValueError(f"bench/tutorial/statefulset.yaml no longer contains {old!r}")
            statefulset = statefulset.replace(old, new)
        return {
            "services.yaml": services,
            "configmap.yaml": (TUTORIAL_DIR / "configmap.yaml").read_text(),
            "statefulset.yaml": statefulset,
        }

    def write_tutorial(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in self.tutorial_manifests().items():
            (directory / name).write_text(text)
        return directory


FLAVORS = {
    f.key: f
    for f in (
        Flavor("mariadb-10.11", "mariadb", "10.11"),
        Flavor("mariadb-11.8", "mariadb", "11.8"),
        Flavor("mysql-9.7", "mysql", "9.7"),
    )
}
DEFAULT_FLAVOR = "mariadb-10.11"


def chosen_flavor(environ: Mapping[str, str] | None = None) -> Flavor:
    """BENCH_FLAVOR (default mariadb-10.11); a clear error naming the allowed values otherwise."""
    raw = (os.environ if environ is None else environ).get("BENCH_FLAVOR", DEFAULT_FLAVOR)
    if raw not in FLAVORS:
        raise SystemExit(f"[bench] BENCH_FLAVOR={raw!r}: allowed: {', '.join(FLAVORS)}")
    return FLAVORS[raw]


def chosen_flavors(environ: Mapping[str, str] | None = None) -> list[Flavor]:
    """BENCH_FLAVORS, a comma-separated list (default: BENCH_FLAVOR if set, else every flavor)."""
    env = os.environ if environ is None else environ
    if "BENCH_FLAVORS" not in env:
        return [chosen_flavor(env)] if "BENCH_FLAVOR" in env else list(FLAVORS.values())
    names = [n.strip() for n in env["BENCH_FLAVORS"].split(",") if n.strip()]
    if not names or any(n not in FLAVORS for n in names):
        allowed = ", ".join(FLAVORS)
        raise SystemExit(
            f"[bench] BENCH_FLAVORS={env['BENCH_FLAVORS']!r}: allowed: a comma-separated list of {allowed}"
        )
    return [FLAVORS[n] for n in names]
