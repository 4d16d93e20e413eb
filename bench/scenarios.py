"""The four measurements, each run the same way on either system."""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import db
from .copies import CloneWatch, clone_timing, datadir_bytes
from .kube import BenchError, log, parse_time
from .poll import BackgroundPoll
from .systems import System

__all__ = ["log"]  # run.py logs through scenarios.log

POLL_SECONDS = 1.0


@dataclass
class ReplicationWatch(BackgroundPoll):
    """Polls in the background until every pod in `pods` replicates (and has the canary row, if given)."""

    system: System
    pods: list[str]
    canary: int | None = None
    start: float = field(default_factory=time.monotonic)
    done_at: dict[str, float] = field(default_factory=dict)

    def _poll(self) -> None:
        while not self._stop.is_set() and len(self.done_at) < len(self.pods):
            try:
                ips = self.system.pod_ips()
            except BenchError:
                ips = {}
            for pod in self.pods:
                if pod in self.done_at or not ips.get(pod):
                    continue
                ok = db.replicating(ips[pod], self.system.login)
                if ok and self.canary is not None:
                    ok = db.has_canary(ips[pod], self.system.login, self.canary)
                if ok:
                    self.done_at[pod] = time.monotonic() - self.start
            self._stop.wait(POLL_SECONDS)

    def wait(self, timeout: float) -> float:
        """Seconds from the start until the last pod replicated; BenchError after `timeout`."""
        deadline = self.start + timeout
        while len(self.done_at) < len(self.pods):
            if time.monotonic() > deadline:
                missing = sorted(set(self.pods) - set(self.done_at))
                raise BenchError(
                    f"{self.system.name}: {', '.join(missing)} not replicating after {timeout:.0f}s"
                )
            time.sleep(0.2)
        return max(self.done_at.values())


def fresh_deploy(system: System) -> dict[str, Any]:
    """Seconds from nothing to two replicas replicating, and to the check passing."""
    log(f"{system.name}: deploying 3 pods")
    wall_start = time.time()
    with ReplicationWatch(system, ["mysql-1", "mysql-2"]) as watch:
        system.deploy()
        deployed = time.monotonic() - watch.start
        code, detail = system.check(3)
        checked = time.monotonic() - watch.start
        replicating = watch.wait(600)
    result: dict[str, Any] = {
        "replicating_s": replicating,
        "deploy_command_s": deployed,
        "per_pod_s": watch.done_at,
        "timeline": timeline(system, wall_start),
    }
    if code == 0:
        result["check_passed_s"] = checked
    else:  # recorded, and the other measurements still run: the cluster replicates
        result["check_error"] = f"exit {code} after {checked:.0f}s: {detail}"
    log(f"{system.name}: replicating at {replicating:.1f}s, deploy command done at {deployed:.1f}s, "
        f"check exit {code} at {checked:.1f}s")  # fmt: skip
    return result


def timeline(system: System, wall_start: float) -> dict[str, dict[str, float]]:
    """For each pod, seconds from `wall_start` to its creation, each container's start and end, and Ready
    (the kubelet's timestamps, one-second resolution): where a deploy spends its time."""
    out: dict[str, dict[str, float]] = {}
    for name, pod in sorted(system.kube.pods(system.selector).items()):
        events = {"created": parse_time(pod["metadata"]["creationTimestamp"]) - wall_start}
        status = pod["status"]
        for entry in status.get("initContainerStatuses", []) + status.get("containerStatuses", []):
            state = entry.get("state", {})
            done = state.get("terminated") or entry.get("lastState", {}).get("terminated")
            running = state.get("running")
            if done:
                events[f"{entry['name']}.start"] = parse_time(done["startedAt"]) - wall_start
                events[f"{entry['name']}.end"] = parse_time(done["finishedAt"]) - wall_start
            elif running:
                events[f"{entry['name']}.start"] = parse_time(running["startedAt"]) - wall_start
            events[f"{entry['name']}.restarts"] = float(entry.get("restartCount", 0))
        for condition in status.get("conditions", []):
            if condition["type"] == "Ready" and condition["status"] == "True":
                events["ready"] = parse_time(condition["lastTransitionTime"]) - wall_start
        out[name] = events
    return out


def update_cost(system: System) -> dict[str, Any]:
    preview = system.preview()
    noop = system.noop_update()
    log(f"{system.name}: preview {preview:.1f}s, no-change update {noop:.1f}s")
    return {"preview_s": preview, "noop_update_s": noop}


def load_data(system: System, mib: int) -> dict[str, Any]:
    primary = system.primary_address()
    db.prepare_schema(primary, system.login)
    log(f"{system.name}: loading {mib} MiB of rows on the primary")
    start = time.monotonic()
    rows = db.load_rows(primary, system.login, mib * 1024 * 1024, system.flavor.name)
    loaded = time.monotonic() - start
    canary = db.write_canary(primary, system.login)
    with ReplicationWatch(system, ["mysql-1", "mysql-2"], canary) as watch:
        caught_up = watch.wait(1800)
    size = datadir_bytes(system, "mysql-0")
    log(f"{system.name}: {rows} rows in {loaded:.0f}s, replicas caught up {caught_up:.0f}s later, "
        f"primary datadir {size / 2**20:.0f} MiB")  # fmt: skip
    return {"rows": rows, "load_s": loaded, "catch_up_s": caught_up, "primary_datadir_bytes": size}


def scale_out(system: System, before: int, after: int) -> dict[str, Any]:
    """Seconds from the scale command to every new pod replicating with a row written just before."""
    canary = db.write_canary(system.primary_address(), system.login)
    new = [f"mysql-{i}" for i in range(before, after)]
    log(f"{system.name}: scaling {before} -> {after}")
    with CloneWatch(system) as clone_watch, ReplicationWatch(system, new, canary) as watch:
        system.scale(after)
        command = time.monotonic() - watch.start
        total = watch.wait(1800)
    clones = {pod: clone_timing(system, pod, clone_watch) for pod in new}
    log(f"{system.name}: +{after - before} replicating at {total:.1f}s (command {command:.1f}s)")
    return {"pods_before": before, "pods_after": after, "seconds": total, "command_s": command,
            "per_pod_s": watch.done_at, "clones": clones}  # fmt: skip


def wait_caught_up(system: System, replicas: list[str]) -> float:
    """Seconds until every replica has a row written on the primary now: no backlog from a previous load."""
    canary = db.write_canary(system.primary_address(), system.login)
    with ReplicationWatch(system, replicas, canary) as watch:
        return watch.wait(900)


def lag_under_load(system: System, seconds: int, threads: int, rate: int = 0) -> dict[str, Any]:
    """sysbench oltp_write_only on the primary's write address (as fast as it goes, or `rate` transactions
    per second); the heartbeat's age sampled on every replica meanwhile."""
    primary = system.primary_address()
    db.prepare_schema(primary, system.login)
    with db.connect(primary, system.login) as conn, conn.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS sbtest")
        cur.execute("CREATE DATABASE sbtest")
    ips = system.pod_ips()
    replicas = {pod: ips[pod] for pod in sorted(ips) if pod != "mysql-0"}
    caught_up = wait_caught_up(system, list(replicas))
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "sysbench.cfg"
        config.touch(mode=0o600)
        # The password goes in a private file, never on sysbench's command line.
        config.write_text(
            f"mysql-host={primary}\nmysql-user={system.login.user}\nmysql-password={system.login.password}\n"
            f"mysql-db=sbtest\nthreads={threads}\ntime={seconds}\nreport-interval=10\ndb-ps-mode=auto\n"
        )
        # The workload's own options are read from the command line only (a config file sets sysbench's).
        base = ["sysbench", f"--config-file={config}", "oltp_write_only", "--tables=4", "--table-size=20000"]
        subprocess.run([*base, "prepare"], check=True, capture_output=True, text=True, timeout=600)
        base.append(f"--rate={rate}")
        log(f"{system.name}: sysbench oltp_write_only, {threads} threads, {seconds}s, rate {rate or 'unset'}")
        with db.LagSampler(primary, replicas, system.login) as sampler:
            run = subprocess.run(
                [*base, "run"], check=True, capture_output=True, text=True, timeout=seconds + 300
            )
    tps = re.search(r"transactions:\s+\d+\s+\(([\d.]+) per sec", run.stdout)
    per_replica = {
        pod: {
            "p50_s": db.percentile(values, 0.50),
            "p99_s": db.percentile(values, 0.99),
            "max_s": max(values, default=0.0),
            "samples": len(values),
        }
        for pod, values in sampler.samples.items()
    }
    if sampler.errors:
        log(f"{system.name}: lag sampler errors: {sampler.errors}")
    log(f"{system.name}: {tps.group(1) if tps else '?'} tps; lag {per_replica}")
    after = wait_caught_up(system, list(replicas))
    log(f"{system.name}: replicas caught up {after:.1f}s after the load ended")
    return {"tps": float(tps.group(1)) if tps else None, "threads": threads, "seconds": seconds, "rate": rate,
            "caught_up_before_s": caught_up, "caught_up_after_s": after,
            "replicas": per_replica, "sampler_errors": sampler.errors}  # fmt: skip
