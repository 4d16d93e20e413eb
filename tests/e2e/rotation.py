"""What a password rotation must leave behind on the real cluster (issue 7, defect 4), for the scenarios of
test_scenarios_rotation.py (generated passwords) and test_existing_secret.py (the user's Secret edited).

The cluster applies a rotation without restarting a pod: the kubelet updates the mounted Secret's files, the
primary's sidecar runs ALTER USER (binlogged), each replica re-points its replication with the new password,
every sidecar serves backups with the new backup password's credential.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pymysql

from .checks import Report, pod_ips, ready_read_endpoints, wait_for
from .harness import CLIENT, CLUSTER_NAME, Kube

ACCESS_DENIED = 1045


@dataclass(frozen=True)
class Passwords:
    root: str
    replication: str
    backup: str


def network_login(host: str, user: str, password: str) -> bool:
    """Whether `user` logs in over the network (root@'%', the replication user, MySQL's backup@'%' which
    requires TLS); False on access denied."""
    try:
        if CLIENT == "mysql":
            conn = pymysql.connect(host=host, port=3306, user=user, password=password, connect_timeout=10,
                                   ssl={"check_hostname": False})  # fmt: skip
        else:
            conn = pymysql.connect(host=host, port=3306, user=user, password=password, connect_timeout=10)
    except pymysql.err.OperationalError as error:
        if error.args[0] == ACCESS_DENIED:
            return False
        raise
    conn.close()
    return True


def local_login(kube: Kube, pod: str, user: str, password: str) -> bool:
    """Whether `user` logs in over the pod's socket (root@localhost, MariaDB's backup@localhost); the
    password reaches the client on stdin, never on a command line."""
    script = (
        'IFS= read -r MYSQL_PWD; export MYSQL_PWD; exec "$0" --socket=/run/mysqld/mysqld.sock '
        '-u"$1" -e "SELECT 1"'
    )
    result = kube.run("exec", "-i", pod, "-c", "mysql", "--", "bash", "-c", script, CLIENT, user,
                      check=False, stdin=password + "\n")  # fmt: skip
    return result.returncode == 0


def restarts(kube: Kube) -> dict[str, int]:
    pods = kube.json("get", "pods", "-l", f"app.kubernetes.io/instance={CLUSTER_NAME}")["items"]
    return {
        p["metadata"]["name"]: sum(s["restartCount"] for s in p["status"].get("containerStatuses", []))
        for p in pods
    }


class ServiceWatch:
    """Samples the ready endpoints of the write and read Services every second, in a thread."""

    def __init__(self, kube: Kube, write_service: str, read_service: str) -> None:
        self.kube, self.services = kube, (write_service, read_service)
        self.empty: list[str] = []
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ServiceWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.is_set():
            for service in self.services:
                if not ready_read_endpoints(self.kube, service):
                    self.empty.append(f"{service} at {time.strftime('%H:%M:%S')}")
            self.samples += 1
            self._stop.wait(1)


def wait_until_rotated(
    kube: Kube, old: Passwords, new: Passwords, report: Report, timeout: float = 300
) -> float:
    """Waits until the new passwords work everywhere and the old ones nowhere, replication runs on every
    replica and every sidecar serves backups with the new credential; returns the seconds it took."""
    pods = sorted(pod_ips(kube))
    primary = f"{CLUSTER_NAME}-0"

    def rotated() -> bool:
        ips = pod_ips(kube)
        for pod in pods:
            if not network_login(ips[pod], "root", new.root) or network_login(ips[pod], "root", old.root):
                return False
        if not network_login(ips[primary], "replicator", new.replication):
            return False
        for pod in pods[1:]:
            logs = kube.run("logs", pod, "-c", "backup", check=False).stdout
            if "re-pointed with the new replication password" not in logs:
                return False
        for pod in pods:
            logs = kube.run("logs", pod, "-c", "backup", check=False).stdout
            if "serving backups with its new credential" not in logs:
                return False
        return True

    seconds = wait_for("the new passwords applied everywhere", rotated, timeout=timeout)
    report(f"new passwords applied on {len(pods)} pods {seconds:.0f}s after the Secret changed")
    return seconds


def assert_rotated(kube: Kube, old: Passwords, new: Passwords, report: Report) -> None:
    """Old passwords refused, new ones accepted, for every account; replication running on every replica."""
    ips = pod_ips(kube)
    primary = f"{CLUSTER_NAME}-0"
    assert network_login(ips[primary], "replicator", new.replication)
    assert not network_login(ips[primary], "replicator", old.replication)
    for pod in sorted(ips):
        assert local_login(kube, pod, "root", new.root), pod
        assert not local_login(kube, pod, "root", old.root), pod
    if CLIENT == "mysql":  # the CLONE plugin's donor account: backup@'%', over TLS
        assert network_login(ips[primary], "backup", new.backup)
        assert not network_login(ips[primary], "backup", old.backup)
    else:
        assert local_login(kube, primary, "backup", new.backup)
        assert not local_login(kube, primary, "backup", old.backup)
    for pod in sorted(ips):
        if pod == primary:
            continue
        with (
            pymysql.connect(host=ips[pod], port=3306, user="root", password=new.root) as conn,
            conn.cursor(pymysql.cursors.DictCursor) as cursor,
        ):
            cursor.execute("SHOW SLAVE STATUS" if CLIENT == "mariadb" else "SHOW REPLICA STATUS")
            row = cursor.fetchone() or {}
        threads = [row.get(f"{prefix}_{thread}_Running") for prefix in ("Slave", "Replica") for thread in
                   ("IO", "SQL")]  # fmt: skip
        assert [t for t in threads if t is not None] == ["Yes", "Yes"], (pod, row)
    report("old root, replication and backup passwords refused, new ones accepted; replication runs")
