"""Chaos on the real cluster (issue 7), after the ordinary scenarios and before destroy: a writer records
every acknowledged row while something breaks; afterwards every acknowledged row is on the primary and on
every replica, and CHECKSUM TABLE agrees everywhere. Each scenario prints what it measured: (a) SIGKILL of the
primary's server, (b) a replica's pod and volume deleted, (c) the donor killed in the middle of a clone, (d) a
replica's network cut for longer than maxLagSeconds, (e) scale 3 -> 5 -> 2 -> 3, (f) the whole node restarted.

(g) the primary's volume lost and (h) a scale to zero, under writes too, are in test_scenarios_storage.py.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mysql_cluster.flavors import get_flavor

from .checks import Report, assert_healthy, connect, pod_ips, query, ready_read_endpoints, wait_for
from .harness import CLONE_BANDWIDTH_MIB, CLUSTER_NAME, FLAVOR_NAME, FLAVOR_VERSION, Kube, Stack
from .node import restart_node_with_peers
from .writer import Writer, assert_every_acked_row_everywhere

pytestmark = pytest.mark.e2e

# e2e/cluster.sh keeps containerd's socket under its state directory.
CONTAINERD_SOCKET = (
    f"{os.environ.get('MYSQL_CLUSTER_STATE', '/var/lib/mysql-cluster-e2e')}/containerd/containerd.sock"
)


def container_id(kube: Kube, pod: str, container: str) -> str:
    statuses = kube.json("get", "pod", pod)["status"]["containerStatuses"]
    [status] = [s for s in statuses if s["name"] == container]
    return str(status["containerID"]).removeprefix("containerd://")


def restarts(kube: Kube, pod: str, container: str) -> int:
    statuses = kube.json("get", "pod", pod)["status"]["containerStatuses"]
    return int(next(s["restartCount"] for s in statuses if s["name"] == container))


def test_a_sigkill_of_the_primary_server_under_writes(stack: Stack, kube: Kube, report: Report) -> None:
    password = stack.password()
    primary = f"{CLUSTER_NAME}-0"
    with Writer(kube, password) as writer:
        writer.wait_for_rows(200)
        before = restarts(kube, primary, "mysql")
        start = time.monotonic()
        kill_container(kube, primary, "mysql")
        wait_for("the server container to restart", lambda: restarts(kube, primary, "mysql") > before, 120)
        writer.wait_for_rows(200)
        report(f"primary server SIGKILLed: writes acknowledged again after {time.monotonic() - start:.0f}s")
    assert_healthy(stack, pods=3)
    assert_every_acked_row_everywhere(kube, password, writer, report)


def test_b_a_replica_pod_and_volume_deleted_under_writes(stack: Stack, kube: Kube, report: Report) -> None:
    password = stack.password()
    replica, claim = f"{CLUSTER_NAME}-2", f"data-{CLUSTER_NAME}-2"
    with Writer(kube, password) as writer:
        writer.wait_for_rows(200)
        start = time.monotonic()
        kube.run("delete", "pvc", claim, "--wait=false")
        kube.run("delete", "pod", replica, "--wait=true")
        assert_healthy(stack, pods=3)
        report(f"replica {replica} and its claim deleted: re-cloned and healthy after "
               f"{time.monotonic() - start:.0f}s")  # fmt: skip
        writer.wait_for_rows(200)
    clone_log = kube.run("logs", replica, "-c", "clone").stdout
    assert "complete after" in clone_log, clone_log
    assert_every_acked_row_everywhere(kube, password, writer, report)


def kill_container(kube: Kube, pod: str, container: str, known_id: str | None = None) -> None:
    """SIGKILL to the container's task, from the node (`known_id`: its container ID, already looked up)."""
    subprocess.run(
        ["ctr", "--address", CONTAINERD_SOCKET, "--namespace", "k8s.io", "task", "kill", "--signal",
         "SIGKILL", known_id or container_id(kube, pod, container)],
        check=True, capture_output=True,
    )  # fmt: skip


def streaming_donor(kube: Kube, password: str) -> tuple[str, str] | None:
    """(pod, container) serving a clone right now, or None: on a streamed-backup flavor the pod of this
    namespace running the backup tool (seen from the node), with the CLONE plugin the server that has the
    backup account connected (its processlist)."""
    if get_flavor(FLAVOR_NAME, FLAVOR_VERSION).seeding == "backup-stream":
        tool = get_flavor(FLAVOR_NAME, FLAVOR_VERSION).backup_binary
        for proc in Path("/proc").iterdir():
            try:
                argv = (proc / "cmdline").read_bytes().split(b"\0")
                if not argv or Path(argv[0].decode()).name != tool or b"--backup" not in argv:
                    continue
                env = dict(
                    item.decode().partition("=")[::2] for item in (proc / "environ").read_bytes().split(b"\0")
                )
            except OSError:
                continue
            if env.get("POD_NAMESPACE") == kube.namespace:
                return env["POD_NAME"], "backup"
        return None
    for pod, ip in pod_ips(kube).items():
        with contextlib.suppress(Exception):
            sql = "SELECT COUNT(*) FROM performance_schema.processlist WHERE USER = 'backup'"
            if query(ip, password, sql)[0][0]:
                return pod, "mysql"
    return None


def test_c_the_donor_killed_in_the_middle_of_a_clone(stack: Stack, kube: Kube, report: Report) -> None:
    """A new replica's donor dies while it serves the clone: the recipient notices the broken clone, retries
    and completes; nothing acknowledged is lost. With the CLONE plugin the copy is capped by the stack's
    serverConfig (CLONE_BANDWIDTH_MIB, harness.py): uncapped, it ended before the kill landed in one run of
    three."""
    password = stack.password()
    clone_plugin = get_flavor(FLAVOR_NAME, FLAVOR_VERSION).seeding == "clone-plugin"
    primary = pod_ips(kube)[f"{CLUSTER_NAME}-0"]
    with connect(primary, password) as conn, conn.cursor() as cur:  # about 64 MB: a clone of seconds
        cur.execute("CREATE TABLE IF NOT EXISTS e2e.ballast (id INT AUTO_INCREMENT PRIMARY KEY, pad TEXT)")
        for _ in range(64):
            cur.executemany("INSERT INTO e2e.ballast (pad) VALUES (%s)", [("x" * 1000,)] * 1000)
        if clone_plugin:  # serverConfig reached the server (custom.cnf, `loose_` since initialisation)
            cur.execute("SELECT @@GLOBAL.clone_max_data_bandwidth")
            assert cur.fetchone() == (CLONE_BANDWIDTH_MIB,)
    recipient = f"{CLUSTER_NAME}-3"
    # A claim kept from an earlier scale-down would let it resume instead of cloning.
    kube.run("delete", "pvc", f"data-{recipient}", "--ignore-not-found", "--wait=true")
    # Every possible donor's container, looked up now: the kill then costs one `ctr` call.
    serving = "mysql" if clone_plugin else "backup"
    containers = {pod: container_id(kube, pod, serving) for pod in pod_ips(kube)}
    with Writer(kube, password) as writer:
        writer.wait_for_rows(100)
        stack.config_set("replicas", "4")
        failures: list[BaseException] = []

        def scale_up() -> None:
            try:
                stack.up()
            except BaseException as error:  # reported by the main thread
                failures.append(error)

        up = threading.Thread(target=scale_up, daemon=True)
        up.start()
        found: list[tuple[str, str]] = []

        def donor_streams() -> bool:
            donor = streaming_donor(kube, password)
            if donor is not None:
                found.append(donor)
            return donor is not None

        wait_for("a donor to serve the new replica's clone", donor_streams, timeout=300, interval=0.05)
        seen = time.monotonic()
        donor_pod, container = found[-1]
        kill_container(kube, donor_pod, container, containers.get(donor_pod))
        start = time.monotonic()
        report(f"{donor_pod}'s {container} container killed {start - seen:.2f}s after it was seen serving "
               f"the clone of {recipient} (at {time.strftime('%H:%M:%S', time.gmtime())} UTC)")  # fmt: skip
        up.join(900)
        assert not up.is_alive(), "pulumi up of 4 pods did not return"
        assert not failures, failures
        assert_healthy(stack, pods=4)
        report(f"{recipient} cloned and healthy {time.monotonic() - start:.0f}s after the kill")
        writer.wait_for_rows(100)
    clone_log = kube.run("logs", recipient, "-c", "clone").stdout
    attempts = re.search(r"complete after (\d+) attempt", clone_log)
    assert attempts, clone_log
    assert int(attempts[1]) >= 2, clone_log  # the broken clone was noticed and redone
    broken = next((line for line in clone_log.splitlines() if "failed backup" in line), "none logged")
    report(f"{recipient}'s clone completed after {attempts[1]} attempts; the broken one: {broken}")
    report(f"{recipient}'s clone log ends: {clone_log.strip().splitlines()[-1]}")
    assert_every_acked_row_everywhere(kube, password, writer, report)
    # The ballast served its purpose: the later scenarios' clones need not copy it.
    with connect(primary, password) as conn, conn.cursor() as cur:
        cur.execute("DROP TABLE e2e.ballast")
    stack.config_set("replicas", "3")
    stack.up()
    assert_healthy(stack, pods=3)


@contextlib.contextmanager
def network_cut(ip: str) -> Iterator[None]:
    """Every packet to or from `ip` dropped on the node's bridge (e2e/cluster.sh turns bridge-nf-call-iptables
    on, so bridged pod traffic crosses FORWARD); the kubelet's exec probes do not use the network."""
    rules = [("-s", ip), ("-d", ip)]
    for direction, address in rules:
        subprocess.run(["iptables", "-I", "FORWARD", "1", direction, address, "-j", "DROP"], check=True)
    try:
        yield
    finally:
        for direction, address in rules:
            subprocess.run(["iptables", "-D", "FORWARD", direction, address, "-j", "DROP"], check=False)


def test_d_a_replica_cut_off_leaves_the_read_service_then_returns(
    stack: Stack, kube: Kube, report: Report
) -> None:
    """Cut off from the primary, a replica keeps serving reads while its data is at most maxLagSeconds
    old (the newest heartbeat it applied), leaves the read Service once it is older, and returns once it
    caught up."""
    password = stack.password()
    replica = f"{CLUSTER_NAME}-1"
    read_service = stack.outputs()["readService"]
    max_lag = int(stack.pulumi("config", "get", "maxLagSeconds").stdout.strip())
    with Writer(kube, password) as writer:
        writer.wait_for_rows(100)
        assert replica in ready_read_endpoints(kube, read_service)
        with network_cut(pod_ips(kube)[replica]):
            left = wait_for(
                f"{replica} to leave the read Service",
                lambda: replica not in ready_read_endpoints(kube, read_service),
                timeout=max_lag + 60,
            )
            # Not before its data could be older than the bound (a few seconds of probe and clock slack).
            assert left >= max_lag - 5, (left, max_lag)
            report(f"{replica} cut off: left the read Service after {left:.0f}s (maxLagSeconds {max_lag})")
            writer.wait_for_rows(100)
        back = wait_for(
            f"{replica} to return to the read Service",
            lambda: replica in ready_read_endpoints(kube, read_service),
            timeout=180,
        )
        report(f"{replica} reconnected: caught up and back in the read Service after {back:.0f}s")
        writer.wait_for_rows(100)
    assert_healthy(stack, pods=3)
    assert_every_acked_row_everywhere(kube, password, writer, report)


def test_e_scale_3_to_5_to_2_to_3_under_writes(stack: Stack, kube: Kube, report: Report) -> None:
    password = stack.password()
    with Writer(kube, password) as writer:
        for replicas in (5, 2, 3):
            writer.wait_for_rows(100)
            stack.config_set("replicas", str(replicas))
            start = time.monotonic()
            stack.up()
            assert_healthy(stack, pods=replicas)
            report(f"scaled to {replicas} under writes: healthy after {time.monotonic() - start:.0f}s")
        writer.wait_for_rows(100)
    assert_every_acked_row_everywhere(kube, password, writer, report)
    assert sorted(pod_ips(kube)) == [f"{CLUSTER_NAME}-{i}" for i in range(3)]


def test_f_the_whole_node_restarted_under_writes(stack: Stack, kube: Kube, report: Report) -> None:
    """Every process of the node stopped at once (e2e/cluster.sh down: containers killed, the kubelet, the
    control plane and containerd stopped) and started again on the same disks, as after a power cut."""
    password = stack.password()
    with Writer(kube, password) as writer:
        writer.wait_for_rows(100)
        start = time.monotonic()
        by = restart_node_with_peers()  # with the other flavors' runs going on beside this one (node.py)
        restarted = time.monotonic() - start
        report(f"node down and up by {by}, {restarted:.0f}s after this run reached the restart")
        start = time.monotonic()
        assert_healthy(stack, pods=3)
        report(f"the cluster healthy again {time.monotonic() - start:.0f}s after the node was up")
        writer.wait_for_rows(100)
    assert_every_acked_row_everywhere(kube, password, writer, report)
