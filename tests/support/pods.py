"""Emulated StatefulSet pods on this host, running the REAL container scripts against real servers.

A `Cluster` is one StatefulSet: a temporary root directory holding its ConfigMap (the scripts from
`mysql_cluster/scripts/` and the files of `render_config_files(flavor)`, read-only) and one directory per
`Pod`. A pod gets what Kubernetes would give it: its volumes as directories (the PVC `data/`, the emptyDirs
`conf/` and `run/`), the environment of `mysql_cluster/scripts/README.md`, and its containers as processes:

    init containers   `Pod.init()` runs init-config.sh, then clone.sh, to completion (label-pod.sh needs an
                      API server: tests/scripts/test_label_pod.py covers it on its own);
    containers        `Pod.start()` starts server.sh and sidecar.sh in the background;
    probes            `Pod.probe("readiness")` runs probe.sh as the kubelet would.

Differences from a real pod, on purpose: every pod listens on 127.0.0.1 on its own free ports, so the
pattern of peer host names is plain `127.0.0.1` and the ports of the primary and of every possible clone
donor (the pods below it) are passed as PRIMARY_PORT and PEER_MYSQL_PORT_<ordinal>/PEER_CLONE_PORT_<ordinal>;
the ConfigMap carries a test-only `custom.cnf` (small InnoDB, no performance_schema, loopback only) which
init-config.sh appends after the real common.cnf and role file; the sidecar checks every second instead of
every ten.

Processes run as the `mysql` user (`setpriv`, when the tests run as root; else as the current user), each
in its own session, so that `stop()`/`kill()` reach every child (socat and its backups). For a flavor this
host has no server for (MariaDB 11.8, MySQL 9.7), every script and program runs inside that flavor's image
root filesystem instead, as its uid 999 (`tests/support/rootfs.py`): the same paths, the image's programs.
`Cluster.close()` (also on `with` exit and at interpreter exit) kills everything it started and removes its
directory.

Logs: each script's stdout and stderr go to `<pod>/logs/<script>.log` (appended across restarts);
`Pod.log(script)` and `Cluster.logs()` read them, and tests assert on them.

This module is shared: the script tests (tests/scripts/) and the post-deploy check tests (tests/check/)
build on it. Keep its public names stable:
    Cluster: start, add_replica, new_pod, replace_pod, pod, primary, replicas, pods, flavor, passwords,
        config_dir, root, uid, gid, rootfs, prefix, run, logs, close;
    Pod: name, ordinal, port, clone_port, address, socket, data_dir, data_root, root, env, init,
        command, run_script, start, start_server, start_sidecar, server_image_without, stop, kill,
        restart, stop_server,
        kill_server, kill_sidecar, wait_alive, wait_ready, probe, sql, connect, replica_status, log, logs;
    Passwords, DEFAULT_PASSWORDS, CommandLineWatch, wait_until, free_port, listening.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import pymysql

from mysql_cluster.flavors import Flavor, get_flavor, render_config_files
from tests.support.command_line_watch import CommandLineWatch  # noqa: F401 (a public name of this module)
from tests.support.rootfs import command_prefix, rootfs_of

SCRIPTS_DIR = Path(__file__).resolve().parents[2] / "mysql_cluster" / "scripts"
"""The container scripts, used verbatim."""

RUN_AS = "mysql"
"""OS user the pods' processes run as when the tests run as root (as `runAsUser` would)."""

TEST_CNF = """\
# Test-only additions (tests/support/pods.py): small and local. The real common.cnf and role file
# come first; init-config.sh appends this after them and the pod's identity after this.
[mysqld]
bind_address = 127.0.0.1
innodb_buffer_pool_size = 32M
innodb_log_file_size = 8M
performance_schema = OFF
"""
"""Content of the test ConfigMap's `custom.cnf` for MariaDB (`test_cnf(flavor)` for any flavor)."""


def test_cnf(flavor: Flavor) -> str:
    """The test ConfigMap's `custom.cnf` for `flavor`: a small redo log, by the option the server knows
    (MySQL 8.0.30 replaced innodb_log_file_size with innodb_redo_log_capacity; 9.x refuses the old one)."""
    if flavor.name == "mysql":
        return TEST_CNF.replace("innodb_log_file_size = 8M", "innodb_redo_log_capacity = 8M")
    return TEST_CNF


T = TypeVar("T")


@dataclass(frozen=True)
class Passwords:
    """The cluster Secret: passwords of root, the replication user and the backup user."""

    root: str
    replication: str
    backup: str

    def all(self) -> tuple[str, str, str]:
        """Every password, to search process command lines and logs for."""
        return (self.root, self.replication, self.backup)


DEFAULT_PASSWORDS = Passwords(
    # Hostile on purpose: quotes, backslashes, `#`, `&`, `$`, backticks and spaces must survive the SQL
    # literals, the option files and the shell. Distinct markers make leaks easy to find.
    root="R00t-pw 'single' \"double\" back\\slash #hash &amp $HOME `tick` END-ROOT",
    replication="Repl-pw 'q' \\ # & $x END-REPL",
    backup='Backup-pw "q" \\\\ # & END-BACKUP',
)


def wait_until(
    check: Callable[[], T | None], timeout: float = 30.0, interval: float = 0.25, what: str = "condition"
) -> T:
    """Calls `check` until it returns something other than None/False (returned); raises on timeout.

    Exceptions from `check` count as "not yet"; the last one is chained to the timeout error.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            result = check()
            if result is not None and result is not False:
                return result
        except Exception as error:  # "not yet"; reported if it never succeeds
            last_error = error
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}") from last_error
        time.sleep(interval)


_used_ports: set[int] = set()


def free_port() -> int:
    """A loopback TCP port nobody listens on now and this session has not handed out before."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _used_ports:
            _used_ports.add(port)
            return port


def listening(port: int) -> bool:
    """Whether some socket on this host listens on TCP `port` (read from /proc/net/tcp*, no connection:
    a connection to a clone port would start a backup)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                    return True
    return False


def _run_as() -> tuple[list[str], int, int]:
    """The command prefix that drops to the `mysql` user, and its uid/gid (no prefix when not root)."""
    if os.geteuid() != 0:
        return [], os.getuid(), os.getgid()
    entry = pwd.getpwnam(RUN_AS)
    prefix = ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups", "--"]
    return prefix, entry.pw_uid, entry.pw_gid


ProbeKind = Literal["startup", "liveness", "readiness"]


class Pod:
    """One emulated pod `<cluster name>-<ordinal>`: directories, environment and processes.

    Attributes: `name`, `ordinal`, `root` (its directory), `data_root` (DATA_ROOT, the PVC), `port` (the
    server's MYSQL_PORT), `clone_port` (the sidecar's CLONE_PORT), `env` (what every script gets).
    """

    def __init__(self, cluster: Cluster, ordinal: int, ports: tuple[int, int] | None = None) -> None:
        self.cluster = cluster
        self.ordinal = ordinal
        self.name = f"{cluster.name}-{ordinal}"
        self.root = cluster.root / self.name
        self.data_root = self.root / "data-volume"
        self.conf_dir = self.root / "conf"
        self.run_dir = self.root / "run"
        self.log_dir = self.root / "logs"
        # The pod's own /tmp (an emptyDir in the StatefulSet): servers of every pod on this host must not
        # share one, or one's temporary tables meet another's (same names across pid namespaces).
        self.tmp_dir = self.root / "tmp"
        for directory in (self.root, self.data_root, self.conf_dir, self.run_dir, self.log_dir, self.tmp_dir):
            directory.mkdir()
            os.chown(directory, cluster.uid, cluster.gid)
        self.port, self.clone_port = ports or (free_port(), free_port())
        self.env: dict[str, str] = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(self.root),
            "LANG": "C.UTF-8",
            "TMPDIR": str(self.tmp_dir),
            "POD_NAME": self.name,
            "POD_NAMESPACE": "mysql-cluster-test",
            "SERVER_ID_OFFSET": str(cluster.server_id_offset),
            "CLUSTER_CONFIG_DIR": str(cluster.config_dir),
            "DATA_ROOT": str(self.data_root),
            "SERVER_CONF_DIR": str(self.conf_dir),
            "RUN_DIR": str(self.run_dir),
            "MYSQL_PORT": str(self.port),
            "CLONE_PORT": str(self.clone_port),
            "POD_HOST_PATTERN": "127.0.0.1",
            "MAX_LAG_SECONDS": str(cluster.max_lag_seconds),
            "PRIMARY_SERVES_READS": "false",
            "REPLICATION_USER": "replicator",
            "BACKUP_USER": "backup",
            "MYSQL_ROOT_PASSWORD": cluster.passwords.root,
            "MYSQL_REPLICATION_PASSWORD": cluster.passwords.replication,
            "MYSQL_BACKUP_PASSWORD": cluster.passwords.backup,
            "DATA_CLAIM_TEMPLATE": "data",
            "MONITOR_INTERVAL": "1",
            "CLONE_RETRIES": "5",
            "CLONE_RETRY_DELAY": "1",
            "CLONE_RETRY_MAX_DELAY": "8",
            "CLONE_WAIT_TIMEOUT": "120",
        }
        if ordinal > 0:
            self.env["PRIMARY_PORT"] = str(cluster.pods[0].port)
        # Every pod below this one is a possible donor (scripts/donor.sh): its ports, as DNS would give them.
        for peer in cluster.pods[:ordinal]:
            self.env[f"PEER_MYSQL_PORT_{peer.ordinal}"] = str(peer.port)
            self.env[f"PEER_CLONE_PORT_{peer.ordinal}"] = str(peer.clone_port)
        self.env.update(cluster.extra_env)
        self.server: subprocess.Popen[bytes] | None = None
        self.sidecar: subprocess.Popen[bytes] | None = None
        # Overrides of the server container's environment only (`server_image_without`).
        self.server_env: dict[str, str] = {}
        # The UID of its PersistentVolumeClaim: a new one for every new volume (replace_pod).
        self.claim = uuid.uuid4().hex

    def __repr__(self) -> str:
        return f"<Pod {self.name} port={self.port} clone_port={self.clone_port}>"

    # ------------------------------------------------------------------------------------ paths --

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) of the server over TCP."""
        return ("127.0.0.1", self.port)

    @property
    def socket(self) -> Path:
        """The server's unix socket (root@localhost connects here)."""
        return self.run_dir / "mysqld.sock"

    @property
    def data_dir(self) -> Path:
        """The server's datadir: DATA_ROOT/data."""
        return self.data_root / "data"

    # ---------------------------------------------------------------------------------- scripts --

    def command(self, script: str, *args: str) -> list[str]:
        """The command line that runs `bash <script> <args>` as this pod's containers would."""
        return [*self.cluster.prefix, "bash", str(self.cluster.config_dir / script), *args]

    def run_script(
        self, script: str, *args: str, env: Mapping[str, str] | None = None, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        """Runs a script to completion as an init container would; its stderr is appended to its log.

        Returns the completed process (stdout captured; stderr also captured). Never raises on a
        non-zero exit: callers assert on `returncode`.
        """
        result = subprocess.run(
            self.command(script, *args),
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        with (self.log_dir / f"{Path(script).stem}.log").open("a") as log:
            log.write(result.stderr)
        return result

    def init(self) -> None:
        """The init containers: init-config.sh, on ordinal 0 the bootstrap facts label-pod.sh would gather
        from the API (`Cluster.write_bootstrap_facts`), then clone.sh. Raises on failure."""
        env: dict[str, str] = {}
        if self.ordinal == 0:
            env = self.cluster.write_bootstrap_facts(self)
        for script in ("init-config.sh", "clone.sh"):
            result = self.run_script(script, env=env)
            if result.returncode != 0:
                raise RuntimeError(f"{self.name}: {script} failed:\n{result.stderr}")

    def server_image_without(self, *programs: str) -> None:
        """From the next `start_server` on, the server container runs as from an image that lacks
        `programs` (a server image without the backup tools, such as mysql:8.4): its PATH is one directory
        of links to every other program of the pod's file system (the host's, or the flavor's root
        filesystem, where the links resolve)."""
        base = self.cluster.rootfs or Path("/")
        directory = self.root / "server-image-bin"
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir()
        for path_dir in self.env["PATH"].split(":"):
            found = base / path_dir.lstrip("/")
            for program in sorted(found.iterdir()) if found.is_dir() else ():
                link = directory / program.name
                if program.name not in programs and not link.exists() and not link.is_symlink():
                    link.symlink_to(f"{path_dir}/{program.name}")
        directory.chmod(0o755)
        self.server_env = {"PATH": str(directory)}

    def _spawn(self, script: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{Path(script).stem}.log").open("ab")
        with log:
            process = subprocess.Popen(
                self.command(script),
                env={**self.env, **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.cluster._processes.append(process)
        return process

    def start_server(self) -> None:
        """Starts the `mysql` container (server.sh) in the background."""
        if self.server is not None and self.server.poll() is None:
            raise RuntimeError(f"{self.name}: the server is already running")
        self.server = self._spawn("server.sh", self.server_env)

    def start_sidecar(self) -> None:
        """Starts the `backup` container (sidecar.sh) in the background."""
        if self.sidecar is not None and self.sidecar.poll() is None:
            raise RuntimeError(f"{self.name}: the sidecar is already running")
        self.sidecar = self._spawn("sidecar.sh")

    def start(self, *, init: bool = True, wait: bool = True, timeout: float = 120) -> None:
        """Like a (re)started pod: init containers (unless `init=False`), then server and sidecar.

        With `wait`, returns once the readiness probe passes.
        """
        if init:
            self.init()
        self.start_server()
        self.start_sidecar()
        if wait:
            self.wait_ready(timeout)

    @staticmethod
    def _signal(process: subprocess.Popen[bytes] | None, sig: signal.Signals, timeout: float) -> None:
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        # Children that outlived their session leader (a backup still streaming) go too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

    def stop_server(self, timeout: float = 60) -> None:
        """SIGTERM to the server (a clean shutdown), SIGKILL after `timeout`."""
        self._signal(self.server, signal.SIGTERM, timeout)

    def kill_server(self) -> None:
        """SIGKILL to the server: a crash."""
        self._signal(self.server, signal.SIGKILL, 10)

    def kill_sidecar(self) -> None:
        """SIGKILL to the sidecar and everything it started."""
        self._signal(self.sidecar, signal.SIGKILL, 10)

    def stop(self, timeout: float = 60) -> None:
        """Stops the pod as Kubernetes does: SIGTERM to every container, SIGKILL after `timeout`."""
        self._signal(self.sidecar, signal.SIGTERM, timeout)
        self._signal(self.server, signal.SIGTERM, timeout)

    def kill(self) -> None:
        """Kills every container of the pod at once (SIGKILL): a node failure."""
        self._signal(self.sidecar, signal.SIGKILL, 10)
        self._signal(self.server, signal.SIGKILL, 10)

    def restart(self, *, wait: bool = True, timeout: float = 120) -> None:
        """Stops the pod and starts it again, init containers included."""
        self.stop()
        self.start(wait=wait, timeout=timeout)

    # ----------------------------------------------------------------------------------- probes --

    def probe(
        self, kind: ProbeKind = "readiness", env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Runs `bash probe.sh <kind>` as the kubelet would (optionally with environment overrides)."""
        return subprocess.run(
            self.command("probe.sh", kind),
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    def _probe_passes(self, kind: ProbeKind) -> bool:
        for process in (self.server, self.sidecar):
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"{self.name}: a container exited ({process.returncode}):\n{self.logs()}")
        return self.probe(kind).returncode == 0

    def wait_alive(self, timeout: float = 60) -> None:
        """Waits until the liveness probe passes."""
        wait_until(lambda: self._probe_passes("liveness"), timeout, 0.25, f"{self.name} to be alive")

    def wait_ready(self, timeout: float = 120) -> None:
        """Waits until the readiness probe passes and, when the sidecar runs and the flavor streams backups,
        until it serves them (so that the next pod can clone at once); the error names the probe's last
        answer."""
        try:
            wait_until(lambda: self._probe_passes("readiness"), timeout, 0.25, f"{self.name} to be ready")
            if self.sidecar is not None and self.sidecar.poll() is None:
                wait_until(lambda: listening(self.clone_port), 30, 0.1, f"{self.name} to serve backups")
        except TimeoutError as error:
            raise TimeoutError(f"{error}: {self.probe('readiness').stdout.strip()}\n{self.logs()}") from None

    # -------------------------------------------------------------------------------------- SQL --

    def connect(
        self, *, via: Literal["socket", "tcp"] = "socket", user: str = "root", password: str | None = None
    ) -> pymysql.Connection[Any]:
        """A PyMySQL connection (autocommit). Over the socket root is root@localhost; over TCP, root@'%'."""
        secret = self.cluster.passwords.root if password is None else password
        target: dict[str, Any] = (
            {"unix_socket": str(self.socket)} if via == "socket" else {"host": "127.0.0.1", "port": self.port}
        )
        return pymysql.connect(
            user=user, password=secret, autocommit=True, connect_timeout=10, charset="utf8mb4", **target
        )

    def sql(
        self,
        query: str,
        args: tuple[Any, ...] | None = None,
        *,
        via: Literal["socket", "tcp"] = "socket",
        user: str = "root",
        password: str | None = None,
    ) -> list[tuple[Any, ...]]:
        """Runs one statement and returns its rows (as tuples)."""
        with (
            contextlib.closing(self.connect(via=via, user=user, password=password)) as conn,
            conn.cursor() as cursor,
        ):
            cursor.execute(query, args)
            return list(cursor.fetchall())

    def replica_status(self, password: str | None = None) -> dict[str, Any]:
        """The flavor's replica status row as a dict ({} when replication is not configured)."""
        with (
            contextlib.closing(self.connect(password=password)) as conn,
            conn.cursor(pymysql.cursors.DictCursor) as cursor,
        ):
            cursor.execute(self.cluster.flavor.show_replica_status)
            row = cursor.fetchone()
            return dict(row) if row else {}

    # ------------------------------------------------------------------------------------- logs --

    def log(self, script: str) -> str:
        """What a script wrote to its log so far ("" if it never ran), e.g. `log("clone")`."""
        path = self.log_dir / f"{Path(script).stem}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self) -> str:
        """Every log of this pod, each under a header (for failure messages)."""
        parts = [f"----- {path.name} of {self.name}\n{path.read_text(errors='replace')}" for path in
                 sorted(self.log_dir.glob("*.log"))]  # fmt: skip
        return "\n".join(parts)


_live_clusters: list[Cluster] = []


class Cluster:
    """One emulated StatefulSet of `Pod`s sharing a ConfigMap directory. Use it as a context manager.

    Args:
        flavor: the flavor whose rendered files the ConfigMap carries and whose server runs (default
            MariaDB 10.11: the server installed on the test host; others run in their image's root
            filesystem, see tests/support/rootfs.py).
        name: the StatefulSet name; pods are `<name>-<ordinal>`.
        passwords: the cluster Secret.
        max_lag_seconds, server_id_offset: as the stack configuration would set them.
        extra_env: added to (or overriding) every pod's environment.
        custom_cnf: the ConfigMap's custom.cnf (default `test_cnf(flavor)`).
    """

    def __init__(
        self,
        flavor: Flavor | None = None,
        *,
        name: str = "mysql",
        passwords: Passwords = DEFAULT_PASSWORDS,
        max_lag_seconds: int = 60,
        server_id_offset: int = 100,
        extra_env: Mapping[str, str] | None = None,
        custom_cnf: str | None = None,
    ) -> None:
        self.flavor = flavor or get_flavor("mariadb", "10.11")
        self.name = name
        self.passwords = passwords
        self.max_lag_seconds = max_lag_seconds
        self.server_id_offset = server_id_offset
        self.extra_env = dict(extra_env or {})
        self.retained: list[int] = []  # ordinals of claims kept from a scale-down (write_bootstrap_facts)
        self.rootfs = rootfs_of(self.flavor)
        """The root filesystem the pods' programs run in (None: this host's programs)."""
        if self.rootfs is None:
            self.prefix, self.uid, self.gid = _run_as()
        else:
            self.uid, self.gid = self.flavor.run_as_user, self.flavor.run_as_group
            self.prefix = command_prefix(self.rootfs, self.uid, self.gid)
        self.root = Path(tempfile.mkdtemp(prefix="mysql-cluster-pods-"))
        self.root.chmod(0o755)  # the pods' user must traverse it
        self.config_dir = self.root / "configmap"
        self._write_configmap(test_cnf(self.flavor) if custom_cnf is None else custom_cnf)
        self.pods: list[Pod] = []
        self._processes: list[subprocess.Popen[bytes]] = []
        # The state ConfigMap's initialised-claim: outlives every pod's volume, like the real one.
        self.initialised_claim: str | None = None
        _live_clusters.append(self)

    def _write_configmap(self, custom_cnf: str) -> None:
        self.config_dir.mkdir()
        files = {path.name: path.read_text() for path in SCRIPTS_DIR.glob("*.sh")}
        files.update(render_config_files(self.flavor))
        files["custom.cnf"] = custom_cnf
        for file_name, content in files.items():
            path = self.config_dir / file_name
            path.write_text(content)
            path.chmod(0o444)
        self.config_dir.chmod(0o555)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------- pods --

    @property
    def primary(self) -> Pod:
        """Ordinal 0."""
        return self.pods[0]

    @property
    def replicas(self) -> list[Pod]:
        """Ordinals 1..N-1."""
        return self.pods[1:]

    def pod(self, ordinal: int) -> Pod:
        """The pod with that ordinal."""
        return self.pods[ordinal]

    def new_pod(self) -> Pod:
        """Creates the next pod's directories and environment without running anything."""
        pod = Pod(self, len(self.pods))
        self.pods.append(pod)
        return pod

    def replace_pod(self, ordinal: int) -> Pod:
        """The pod with that ordinal, stopped and recreated on a new, empty volume (its claim deleted):
        same name and ports, fresh directories. Returns the new Pod (not started)."""
        old = self.pods[ordinal]
        old.kill()
        shutil.rmtree(old.root)
        pod = Pod(self, ordinal, ports=(old.port, old.clone_port))
        self.pods[ordinal] = pod
        return pod

    def start(self, timeout: float = 120) -> Pod:
        """Creates and starts the primary (ordinal 0), waiting until it is ready; returns it."""
        if self.pods:
            raise RuntimeError("the cluster already has a primary")
        pod = self.new_pod()
        pod.start(timeout=timeout)
        return pod

    def start_with_a_replica(self) -> None:
        """The usual start of a test: the primary with table `app.t` holding row 1, then one replica."""
        self.start()
        self.primary.sql("CREATE DATABASE app")
        self.primary.sql("CREATE TABLE app.t (id INT PRIMARY KEY)")
        self.primary.sql("INSERT INTO app.t VALUES (1)")
        self.add_replica()

    def add_replica(self, *, start: bool = True, wait: bool = True, timeout: float = 120) -> Pod:
        """Scales up by one: the new pod clones from the previous ordinal and replicates from ordinal 0.

        With `start=False` only its directories and environment exist (run its scripts yourself).
        """
        if not self.pods:
            raise RuntimeError("start the primary first")
        pod = self.new_pod()
        if start:
            pod.start(wait=wait, timeout=timeout)
        return pod

    def run(
        self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Runs a program as the pods' containers would (same user, same root filesystem); never raises
        on a non-zero exit."""
        return subprocess.run(
            [*self.prefix, *args],
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def logs(self) -> str:
        """Every log of every pod."""
        return "\n".join(pod.logs() for pod in self.pods)

    def write_bootstrap_facts(self, pod: Pod) -> dict[str, str]:
        """What label-pod.sh (bootstrap-facts.sh) writes on ordinal 0, from this emulated API: the recorded
        initialisation (recorded now when absent), the pod's claim, the other pods. Returns the environment
        that lets the pod reach its peers on their loopback ports."""
        peers = [p for p in self.pods if p.ordinal > 0 and p.ordinal not in self.retained]
        facts = pod.run_dir / "bootstrap-facts"
        facts.write_text(
            f"marker={self.initialised_claim or ''}\nclaim={pod.claim}\n"
            f"peers={' '.join(str(p.ordinal) for p in peers)}\nretained={' '.join(map(str, self.retained))}\n"
        )
        os.chown(facts, self.uid, self.gid)
        if self.initialised_claim is None:
            self.initialised_claim = pod.claim
        env: dict[str, str] = {}
        for peer in peers:
            env[f"PEER_MYSQL_PORT_{peer.ordinal}"] = str(peer.port)
            env[f"PEER_CLONE_PORT_{peer.ordinal}"] = str(peer.clone_port)
        return env

    def close(self) -> None:
        """Kills every process this cluster started (whole sessions) and removes its directory."""
        for process in self._processes:
            Pod._signal(process, signal.SIGKILL, 10)
        self._processes.clear()
        shutil.rmtree(self.root, ignore_errors=True)
        if self in _live_clusters:
            _live_clusters.remove(self)


@atexit.register
def _close_live_clusters() -> None:
    for cluster in list(_live_clusters):
        cluster.close()


@contextlib.contextmanager
def cluster(**kwargs: Any) -> Iterator[Cluster]:
    """`with cluster() as c:`: a Cluster that is closed on exit (same as `with Cluster() as c`)."""
    with Cluster(**kwargs) as created:
        yield created
