"""The one node of the local cluster, shared by the flavors' runs going on at once (e2e/run.sh).

Restarting the node (chaos scenario (f)) stops every pod on it, whichever run's. So each run that reaches
(f) says so in the runs' shared directory (MYSQL_CLUSTER_E2E_SYNC) and waits for every other run of
MYSQL_CLUSTER_E2E_PEERS to be there too, or finished (a run writes `<flavor>.done` when its session ends:
the smoke run has no (f)); the last to arrive restarts the node once, for all, and the others wait for it.
Without those variables (one run alone) the run restarts the node itself at once.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .harness import E2E_FLAVOR, REPO

SYNC = os.environ.get("MYSQL_CLUSTER_E2E_SYNC", "")
PEERS = os.environ.get("MYSQL_CLUSTER_E2E_PEERS", "").split()
ARRIVAL_TIMEOUT = 1800  # seconds a run at (f) waits for the others: about the longest run's duration
RESTARTED = "node-restarted"


def mark_done() -> None:
    """This run's session is over: runs waiting at (f) stop waiting for it."""
    if SYNC:
        (Path(SYNC) / f"{E2E_FLAVOR}.done").touch()


def _present(sync: Path, flavor: str) -> bool:
    return (sync / f"{flavor}.at-restart").exists() or (sync / f"{flavor}.done").exists()


@contextmanager
def _locked(sync: Path) -> Iterator[None]:
    with (sync / "restart.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _down_and_up() -> None:
    for command in ("down", "up"):
        cluster_sh = ["bash", str(REPO / "e2e/cluster.sh"), command]
        done = subprocess.run(cluster_sh, check=False, capture_output=True, text=True)
        assert done.returncode == 0, f"cluster.sh {command}:\n{done.stderr[-3000:]}"


def restart_node_with_peers() -> str:
    """Restarts the node once every peer run is at (f) or finished; returns who restarted it."""
    if not SYNC or E2E_FLAVOR not in PEERS:
        _down_and_up()
        return "this run"
    sync = Path(SYNC)
    (sync / f"{E2E_FLAVOR}.at-restart").touch()
    deadline = time.monotonic() + ARRIVAL_TIMEOUT
    while True:
        with _locked(sync):
            restarted = sync / RESTARTED
            if restarted.exists():
                return restarted.read_text()
            if all(_present(sync, peer) for peer in PEERS):
                _down_and_up()
                restarted.write_text(f"the {E2E_FLAVOR} run, for {' '.join(PEERS)}")
                return "this run"
        missing = [peer for peer in PEERS if not _present(sync, peer)]
        assert time.monotonic() < deadline, f"runs {missing} never reached the node restart"
        time.sleep(1)
