"""The copies a scale-out makes: how long each clone took, and a raw copy of the same bytes to compare."""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

import pymysql

from . import db
from .kube import BenchError, log
from .poll import BackgroundPoll
from .systems import System

RAW_COPY_PORT = 3399
# The raw copy's plain TCP stream: socat where the image has it, else perl-base's IO::Socket::INET (every
# Debian minbase image has perl-base; the MySQL 9.7 image built without socat has no other plain TCP tool).
LISTEN = (
    f"if command -v socat >/dev/null; then socat -u TCP-LISTEN:{RAW_COPY_PORT},reuseaddr STDOUT; else "
    "perl -MIO::Socket::INET -e '$l = IO::Socket::INET->new("
    "LocalPort => $ARGV[0], Listen => 1, ReuseAddr => 1)"
    ' or die "listen: $!"; $c = $l->accept or die "accept: $!"; binmode $c; binmode STDOUT;'
    ' print STDOUT $b while sysread($c, $b, 1 << 20); close STDOUT or die "write: $!"\''
    f" {RAW_COPY_PORT}; fi"
)
SEND = (
    f"if command -v socat >/dev/null; then socat -u STDIN TCP:$ip:{RAW_COPY_PORT}; else "
    "perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(PeerAddr => $ARGV[0], PeerPort => $ARGV[1])"
    ' or die "connect: $!"; binmode $s; binmode STDIN; print $s $b while sysread(STDIN, $b, 1 << 20);'
    ' close $s or die "send: $!"\''
    f" $ip {RAW_COPY_PORT}; fi"
)
# What a physical copy takes: the datadir without binary and relay logs (mariadb-backup and CLONE copy
# neither). The patterns match every deployment's names: mysql-bin.*, mysql-0-bin.*, relay-bin.*,
# mysql-1-relay-bin.* and MySQL's default binlog.*.
NOT_COPIED = (
    "--exclude='*bin.[0-9]*' --exclude='*bin.index' --exclude='binlog.[0-9]*' --exclude='binlog.index'"
)


@dataclass
class CloneWatch(BackgroundPoll):
    """MySQL's CLONE plugin: polls every pod's processlist for the donor side of a CLONE (COMMAND 'clone')
    and keeps, per donor, the first and last time one was seen. Neither system logs the copy itself (this
    program's recipient logs its start before it initialises its scratch server)."""

    system: System
    interval: float = 0.25
    seen: dict[str, list[float]] = field(default_factory=dict)  # donor pod -> [first, last] (epoch seconds)

    def _active(self) -> bool:
        return self.system.flavor.name == "mysql"  # MariaDB clones with mariadb-backup: timed from the logs

    def _poll(self) -> None:
        sql = "SELECT COUNT(*) AS n FROM performance_schema.processlist WHERE COMMAND = 'clone'"
        while not self._stop.is_set():
            try:
                ips = self.system.pod_ips()
            except BenchError:
                ips = {}
            for pod, ip in ips.items():
                try:
                    busy = ip and db.query(ip, self.system.login, sql)[0]["n"]
                except pymysql.MySQLError:
                    continue
                if busy:
                    now = time.time()
                    self.seen.setdefault(pod, [now, now])[1] = now
            self._stop.wait(self.interval)


def clone_timing(system: System, pod: str, watch: CloneWatch | None = None) -> dict[str, Any]:
    """The clone of `pod`: its init container's run, and the stream phase (the copy over the network)."""
    timing: dict[str, Any] = {}
    times = system.kube.container_times(pod, system.clone_container)
    if times:
        timing["container_s"] = times[1] - times[0]
    lines = system.kube.log_lines(pod, system.clone_container)
    donor = int(pod.rsplit("-", 1)[1]) - 1
    for _, text in lines:
        if match := re.search(r"(?:from|copy of|clone of) ordinal (\d+)", text):  # chosen at clone time
            donor = int(match.group(1))
    timing["donor"] = f"mysql-{donor}"
    if system.flavor.name == "mysql":
        span = _clone_plugin_span(system, lines, timing, watch)
    else:
        span = _backup_stream_span(system, pod, donor, lines)
    if span is not None:
        timing["stream_s"] = span[1] - span[0]
    return timing


def _clone_plugin_span(
    system: System, lines: list[tuple[float, str]], timing: dict[str, Any], watch: CloneWatch | None
) -> tuple[float, float] | None:
    """The donor's CLONE session, as polled (resolution 0.25 s); for the tutorial also the CLONE statement's
    span from its `set -x` lines, as a cross-check."""
    if system.name == "tutorial":
        statement = next((t for t, text in lines if "clone_valid_donor_list" in text), None)
        after = next((t for t, text in lines if text.startswith("+ mysql") and "clone_status" in text), None)
        if statement is not None and after is not None:
            timing["clone_statement_s"] = after - statement
    if watch is None or timing["donor"] not in watch.seen:
        return None
    first, last = watch.seen[timing["donor"]]
    return first, last


def _backup_stream_span(
    system: System, pod: str, donor: int, lines: list[tuple[float, str]]
) -> tuple[float, float] | None:
    start = end = None
    if system.name == "tutorial":  # `set -x` lines of the clone container
        start = next(
            (t for t, text in lines if text.startswith("+ socat") or text.startswith("+ mbstream")), None
        )
        end = next((t for t, text in lines if "--prepare" in text), None)
    else:  # the donor's sidecar logs each stream it serves, with the receiver's address
        ip = system.kube.pod_ip(pod)
        for t, text in system.kube.log_lines(f"mysql-{donor}", system.backup_container):
            if f"streaming a backup of mysql-{donor} to {ip}:" in text:
                start, end = t, None
            elif f"streamed a complete backup to {ip}:" in text and start is not None:
                end = t
    return (start, end) if start is not None and end is not None else None


def datadir_bytes(system: System, pod: str) -> int:
    """Bytes of the pod's datadir that a clone copies (du --apparent-size, logs excluded)."""
    return int(
        system.kube.exec(pod, system.backup_container, f"du -sb {NOT_COPIED} {system.datadir} | cut -f1")
    )


def raw_copy(system: System, donor: str, recipient: str) -> dict[str, Any]:
    """The donor's datadir copied raw to the recipient's volume (tar | socat), timed, then removed."""
    size = datadir_bytes(system, donor)
    target = f"{system.volume}/.bench-rawcopy"
    receiver_script = (
        f"rm -rf {target} && mkdir -p {target} && ({LISTEN}) | tar -x -C {target} && sync -f {target}"
    )
    receiver = subprocess.Popen(
        ["kubectl", "-n", system.kube.namespace, "exec", recipient, "-c", system.backup_container, "--",
         "bash", "-c", receiver_script],
        env=system.kube.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        time.sleep(3)  # the listener is up well before this (kubectl exec takes well under a second)
        ip = system.kube.pod_ip(recipient)
        start = time.monotonic()
        # tar reads a live datadir: "file changed as we read it" is expected and does not matter here.
        system.kube.exec(
            donor, system.backup_container,
            f"ip={ip}; (tar -c {NOT_COPIED} -C {system.datadir} . || true) | ({SEND})",
        )  # fmt: skip
        _, err = receiver.communicate(timeout=900)
        seconds = time.monotonic() - start
        if receiver.returncode != 0:
            raise BenchError(f"{system.name}: raw copy receiver failed: {err.strip()}")
    finally:
        if receiver.poll() is None:
            receiver.kill()
        system.kube.exec(recipient, system.backup_container, f"rm -rf {target}", timeout=300)
    log(f"{system.name}: raw copy {donor} -> {recipient}: {size / 2**20:.0f} MiB in {seconds:.1f}s")
    return {"donor": donor, "recipient": recipient, "bytes": size, "seconds": seconds}
