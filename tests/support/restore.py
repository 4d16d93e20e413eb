"""Restores a backup that backup-upload.sh uploaded, as the script tier proves it restorable: download through
the S3 API, check the manifest's checksum, decompress and extract it with the image's own tools (MariaDB:
mbstream, then `mariadb-backup --prepare`; MySQL: tar), and start pod 0 of a new cluster on it. A MariaDB
backup carries its GTID position in its binlog info file; it is handed to server.sh as a re-seeded primary's
(`clone-gtid-position`), which starts the binary log there."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mysql_cluster.flavors import Flavor
from tests.support.object_store import ObjectStore
from tests.support.pods import Cluster, Pod


def _own(path: Path, cluster: Cluster) -> None:
    os.chown(path, cluster.uid, cluster.gid)


@contextmanager
def restore_backup(
    flavor: Flavor, store: ObjectStore, bucket: str, manifest: dict[str, Any]
) -> Iterator[Pod]:
    """Pod 0 of a new cluster, its server started on the restored backup (no sidecar: nothing else writes)."""
    (data_object,) = manifest["objects"]
    with Cluster(flavor) as cluster:
        pod = cluster.new_pod()
        downloaded = store.read(bucket, data_object["key"])
        assert hashlib.sha256(downloaded).hexdigest() == data_object["sha256"], (
            "the object's checksum differs"
        )
        base = pod.root / f"base.{data_object['format']}.zst"
        base.write_bytes(downloaded)
        _own(base, cluster)
        target = pod.data_dir
        target.mkdir(mode=0o750)
        _own(target, cluster)
        if flavor.name == "mariadb":
            steps = f"zstd -d -c {base} | mbstream -x -C {target}"
            steps += f" && mariadb-backup --prepare --target-dir={target}"
        else:
            steps = f"zstd -d -c {base} | tar -x -C {target}"
        done = cluster.run("bash", "-c", f"set -euo pipefail; {steps}", timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        if flavor.name == "mariadb":
            info = (target / flavor.backup_binlog_info_file).read_text().split()
            assert info[2] == manifest["gtidExecuted"], (
                f"the backup's binlog info {info} differs from its manifest"
            )
            position = pod.data_root / "clone-gtid-position"
            position.write_text(f"gtid={info[2]}\n")
            _own(position, cluster)
        init = pod.run_script("init-config.sh")
        assert init.returncode == 0, init.stderr
        pod.start_server()
        pod.wait_alive(120)
        yield pod
