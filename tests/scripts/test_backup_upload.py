"""backup-upload.sh against a real object store (versitygw, signatures enforced) on every flavor: a full
physical backup streamed into a bucket, its manifest written last and matching what was stored, the S3
credentials never on a command line or in a log, a backup that restores (the rows, the GTID state), and no
manifest after a backup killed midway or whose backup tool failed."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mysql_cluster.flavors import Flavor
from tests.support.command_line_watch import CommandLineWatch
from tests.support.object_store import ObjectStore, object_store
from tests.support.pods import Cluster, Pod, wait_until
from tests.support.restore import restore_backup

pytestmark = pytest.mark.scripts

BUCKET = "cluster-backups"
PREFIX = "mysql-cluster-test/mysql"
PART_SIZE = 5 * 1024 * 1024
NOISE_ROWS = 6000
"""Rows of 1 KiB of random bytes: about 6 MiB that no compressor shrinks, so that the stream has two parts
and a rate-limited backup lasts seconds (the kill tests)."""


@dataclass
class Backup:
    """One run of backup-upload.sh."""

    id: str
    result: subprocess.CompletedProcess[str]
    gtid: str
    leaks: list[str]
    seen: set[str]


@pytest.fixture(scope="module")
def store(flavor: Flavor, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObjectStore]:
    """An object store per flavor (the backups' names are the same on each)."""
    with object_store(tmp_path_factory.mktemp("object-store")) as started:
        started.make_bucket(BUCKET)
        yield started


@pytest.fixture(scope="module")
def cluster(flavor: Flavor, store: ObjectStore) -> Iterator[Cluster]:
    """A primary with app.t (rows 1-3) and app.noise (incompressible rows)."""
    with Cluster(flavor) as built:
        built.start()
        primary = built.primary
        primary.sql("CREATE DATABASE app")
        primary.sql("CREATE TABLE app.t (id INT PRIMARY KEY)")
        primary.sql("INSERT INTO app.t VALUES (1), (2), (3)")
        primary.sql("CREATE TABLE app.noise (id INT AUTO_INCREMENT PRIMARY KEY, b VARBINARY(1024))")
        with primary.connect() as conn, conn.cursor() as cursor:
            for _ in range(NOISE_ROWS // 500):
                rows = ", ".join(["(RANDOM_BYTES(1024))"] * 500)
                cursor.execute(f"INSERT INTO app.noise (b) VALUES {rows}")
        # No heartbeat writes from here on: the GTID state a backup records is then known exactly.
        primary.kill_sidecar()
        store.write_credentials(built.root / "s3-credentials", built.uid, built.gid)
        yield built


def backup_env(pod: Pod, store: ObjectStore, backup_id: str, **extra: str) -> dict[str, str]:
    """The environment of backup-upload.sh: the pod's and the object store's."""
    return {
        **pod.env,
        "S3_ENDPOINT": store.endpoint,
        "S3_BUCKET": BUCKET,
        "S3_CREDENTIALS_DIR": str(pod.cluster.root / "s3-credentials"),
        "S3_PART_SIZE": str(PART_SIZE),
        "BACKUP_PREFIX": PREFIX,
        "BACKUP_ID": backup_id,
        **extra,
    }


def executed_gtid(pod: Pod) -> str:
    """The server's GTID state as a backup of it records it."""
    query = (
        "SELECT @@GLOBAL.gtid_binlog_pos"
        if pod.cluster.flavor.name == "mariadb"
        else "SELECT @@GLOBAL.gtid_executed"
    )
    return str(pod.sql(query)[0][0]).replace("\n", "")


def manifest_of(store: ObjectStore, backup_id: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(store.read(BUCKET, f"{PREFIX}/{backup_id}/manifest.json"))
    return loaded


@pytest.fixture(scope="module")
def backup(cluster: Cluster, store: ObjectStore) -> Backup:
    """A complete backup of the primary, taken while every command line was watched."""
    primary = cluster.primary
    gtid = executed_gtid(primary)
    with CommandLineWatch((*store.secrets(), *cluster.passwords.all())) as watch:
        result = subprocess.run(
            primary.command("backup-upload.sh"), env=backup_env(primary, store, "complete"),
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    return Backup("complete", result, gtid, watch.leaks, watch.seen)


def test_a_backup_uploads_the_data_then_a_manifest_that_matches_it(
    backup: Backup, cluster: Cluster, store: ObjectStore
) -> None:
    assert backup.result.returncode == 0, backup.result.stderr
    assert "backup complete complete:" in backup.result.stderr
    manifest = manifest_of(store, backup.id)
    flavor = cluster.flavor
    (data,) = manifest["objects"]
    assert store.keys(BUCKET, f"{PREFIX}/{backup.id}/") == sorted(
        [data["key"], f"{PREFIX}/{backup.id}/manifest.json"]
    )
    stored = (store.root / BUCKET / data["key"]).read_bytes()
    assert data["bytes"] == len(stored)
    assert data["sha256"] == hashlib.sha256(stored).hexdigest()
    assert data["parts"] >= 2
    assert data["compression"] == "zstd"
    assert data["format"] == ("mbstream" if flavor.name == "mariadb" else "tar")
    assert manifest["dataBytes"] > NOISE_ROWS * 1024
    assert (manifest["flavor"], manifest["version"], manifest["pod"]) == (
        flavor.name,
        flavor.version,
        "mysql-0",
    )
    assert manifest["serverId"] == 100
    assert manifest["gtidExecuted"] == backup.gtid
    assert backup.gtid
    assert manifest["startTime"] <= manifest["endTime"]
    if flavor.name == "mariadb":
        assert manifest["binlogFile"]
        assert manifest["binlogPosition"] > 0
    else:
        assert manifest["serverUuid"] == cluster.primary.sql("SELECT @@server_uuid")[0][0]


def test_the_object_store_credentials_stay_off_command_lines_and_logs(
    backup: Backup, cluster: Cluster, store: ObjectStore
) -> None:
    assert backup.result.returncode == 0, backup.result.stderr
    assert "curl" in backup.seen
    assert "backup-upload.sh" in backup.seen
    assert backup.leaks == []
    for secret in store.secrets():
        assert secret not in backup.result.stderr
        assert secret not in cluster.logs()


def test_the_backup_restores_with_its_rows_and_gtid_state(
    backup: Backup, cluster: Cluster, store: ObjectStore
) -> None:
    assert backup.result.returncode == 0, backup.result.stderr
    manifest = manifest_of(store, backup.id)
    with restore_backup(cluster.flavor, store, BUCKET, manifest) as restored:
        assert restored.sql("SELECT id FROM app.t ORDER BY id") == [(1,), (2,), (3,)]
        assert restored.sql("SELECT COUNT(*) FROM app.noise") == [(NOISE_ROWS,)]
        assert executed_gtid(restored) == manifest["gtidExecuted"]


def start_backup(pod: Pod, store: ObjectStore, backup_id: str) -> subprocess.Popen[str]:
    """A backup in the background, uploading at 1 MB/s so that it lasts seconds."""
    return subprocess.Popen(
        pod.command("backup-upload.sh"), env=backup_env(pod, store, backup_id, S3_MAX_RATE="1M"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip


def uploading_part(number: int) -> bool:
    """Whether some curl is uploading that part of a multipart upload now."""
    for entry in Path("/proc").iterdir():
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if args[0].endswith(b"curl") and any(f"partNumber={number}&".encode() in arg for arg in args):
            return True
    return False


def producer_pids(flavor: Flavor) -> list[int] | None:
    """The processes producing a backup stream now: mariadb-backup --backup, or the tar of a MySQL copy
    (None while there is none)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        name = os.path.basename(args[0].decode(errors="replace"))
        if (flavor.name == "mariadb" and name == "mariadb-backup" and b"--backup" in args) or (
            flavor.name == "mysql" and name == "tar" and b"-cf" in args
        ):
            found.append(int(entry.name))
    return found or None


def test_a_backup_killed_midway_leaves_no_manifest(cluster: Cluster, store: ObjectStore) -> None:
    running = start_backup(cluster.primary, store, "killed")
    wait_until(lambda: uploading_part(1) or running.poll() is not None, 120, 0.05, "the first part's upload")
    assert running.poll() is None, running.communicate()
    time.sleep(0.5)
    os.killpg(running.pid, signal.SIGKILL)
    running.wait(10)
    assert store.keys(BUCKET, f"{PREFIX}/killed/") == []
    status, _ = store.request("GET", f"/{BUCKET}/{PREFIX}/killed/manifest.json")
    assert status == 404
    # The next backup takes over what the killed one left (MySQL: its staged copy) and completes.
    after = subprocess.run(
        cluster.primary.command("backup-upload.sh"), env=backup_env(cluster.primary, store, "after-kill"),
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert after.returncode == 0, after.stderr
    assert manifest_of(store, "after-kill")["id"] == "after-kill"
    if cluster.flavor.name == "mysql":
        assert "left by an interrupted backup" in after.stderr
    assert not (cluster.primary.data_root / ".backup-tmp").exists()


def test_a_backup_whose_tool_fails_leaves_no_manifest_and_no_data(
    cluster: Cluster, store: ObjectStore
) -> None:
    running = start_backup(cluster.primary, store, "tool-failed")

    # Killed once its first bytes reached the upload: the stream ends early, everything after it succeeds.
    def streaming() -> list[int] | None:
        spooled = any(part.stat().st_size > 0 for part in cluster.primary.run_dir.glob("s3-upload.*/part"))
        return producer_pids(cluster.flavor) if spooled else None

    for pid in wait_until(streaming, 120, 0.01, "the backup tool to stream"):
        os.kill(pid, signal.SIGKILL)
    _, stderr = running.communicate(timeout=120)
    assert running.returncode == 1, stderr
    assert "failed" in stderr
    assert store.keys(BUCKET, f"{PREFIX}/tool-failed/") == []


def test_a_second_backup_on_the_same_pod_is_refused_while_one_runs(
    cluster: Cluster, store: ObjectStore
) -> None:
    running = start_backup(cluster.primary, store, "first")
    try:
        wait_until(
            lambda: uploading_part(1) or running.poll() is not None, 120, 0.05, "the first part's upload"
        )
        second = subprocess.run(
            cluster.primary.command("backup-upload.sh"), env=backup_env(cluster.primary, store, "second"),
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert second.returncode == 1
        assert "another backup of mysql-0 is running" in second.stderr
        assert store.keys(BUCKET, f"{PREFIX}/second/") == []
    finally:
        os.killpg(running.pid, signal.SIGKILL)
        running.wait(10)
