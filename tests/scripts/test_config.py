"""The pod's identity and configuration (init-config.sh) and the checks the scripts make before they do
anything. No server runs here: these are fast."""

from __future__ import annotations

import pytest

from mysql_cluster.server_config import render
from tests.support.pods import TEST_CNF, Cluster, Pod, wait_until

pytestmark = pytest.mark.scripts


def my_cnf(pod: Pod) -> str:
    return (pod.root / "conf" / "my.cnf").read_text()


def test_server_id_is_offset_plus_ordinal(cluster: Cluster) -> None:
    pod = cluster.pod(1)
    result = pod.run_script("init-config.sh", env={"POD_NAME": "mysql-7", "SERVER_ID_OFFSET": "1000"})
    assert result.returncode == 0, result.stderr
    identity = my_cnf(pod).split("# ---- identity of mysql-7")[1]
    assert "server_id = 1007\n" in identity
    assert f"port = {pod.port}\n" in identity
    assert f"socket = {pod.socket}\n" in identity
    assert f"datadir = {pod.data_dir}" in identity
    assert "mysql-7 is the replica, server_id=1007" in result.stderr


def test_my_cnf_layers_common_role_custom_then_identity(cluster: Cluster) -> None:
    primary, replica = cluster.pod(0), cluster.pod(1)
    for pod in (primary, replica):
        assert pod.run_script("init-config.sh").returncode == 0
    for pod, role_file in ((primary, "primary.cnf"), (replica, "replica.cnf")):
        text = my_cnf(pod)
        order = [text.index(f"# ---- {name}") for name in ("common.cnf", role_file, "custom.cnf")]
        order.append(text.index(f"# ---- identity of {pod.name}"))
        assert order == sorted(order)
        assert (cluster.config_dir / role_file).read_text() in text
    primary_role = my_cnf(primary).split("# ---- primary.cnf")[1]
    assert "read_only = OFF" in primary_role
    assert "read_only = ON" in my_cnf(replica).split("# ---- replica.cnf")[1]
    assert f"skip_{'replica' if cluster.flavor.name == 'mysql' else 'slave'}_start = ON" in my_cnf(replica)


@pytest.mark.parametrize(("max_lag", "timeout"), [("60", 30), ("12", 6), ("3", 1), ("1", 1), ("3600", 60)])
def test_the_receivers_network_timeout_is_half_the_lag_bound(
    cluster: Cluster, max_lag: str, timeout: int
) -> None:
    """A replica counts as connected (probe.sh) only while its receiver hears from the primary: it reconnects
    after half of MAX_LAG_SECONDS of silence (1 to 60 s), and custom.cnf may still override it."""
    pod = cluster.pod(1)
    assert pod.run_script("init-config.sh", env={"MAX_LAG_SECONDS": max_lag}).returncode == 0
    text = my_cnf(pod)
    derived = text.split("# ---- replica.cnf")[1].split("# ---- custom.cnf")[0]
    assert f"\n{cluster.flavor.net_timeout_variable} = {timeout}\n" in derived


@pytest.mark.parametrize("name", ["mysql", "mysql-", "mysql-01", "mysql-x", "Mysql-1", "-1", "mysql-1 "])
def test_pod_names_without_a_clean_ordinal_are_rejected(cluster: Cluster, name: str) -> None:
    result = cluster.pod(1).run_script("init-config.sh", env={"POD_NAME": name})
    assert result.returncode == 1
    assert f"POD_NAME='{name}' is not a StatefulSet pod name <name>-<ordinal>" in result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SERVER_ID_OFFSET": "abc"}, "SERVER_ID_OFFSET='abc' is not a non-negative number"),
        ({"SERVER_ID_OFFSET": ""}, "environment variable SERVER_ID_OFFSET is not set"),
        ({"SERVER_ID_OFFSET": "4294967295"}, "is not in 1..4294967295"),
        ({"POD_HOST_PATTERN": "mysql-%s.svc"}, "may hold one %d and no other % directive"),
        ({"MYSQL_PORT": "33o6"}, "MYSQL_PORT='33o6' is not a non-negative number"),
    ],
)
def test_bad_settings_are_rejected_with_their_name(
    cluster: Cluster, env: dict[str, str], message: str
) -> None:
    result = cluster.pod(1).run_script("init-config.sh", env=env)
    assert result.returncode == 1
    assert message in result.stderr


def test_pod_host_pattern_gives_the_peer_names(cluster: Cluster) -> None:
    pod = cluster.pod(1)
    pattern = "mysql-%d.mysql-headless.db.svc.cluster.local"
    result = pod.run_script("init-config.sh", env={"POD_NAME": "mysql-3", "POD_HOST_PATTERN": pattern})
    assert result.returncode == 0, result.stderr
    assert "report_host = mysql-3.mysql-headless.db.svc.cluster.local\n" in my_cnf(pod)


@pytest.mark.parametrize(
    "variable", ["MYSQL_ROOT_PASSWORD", "MYSQL_REPLICATION_PASSWORD", "MYSQL_BACKUP_PASSWORD"]
)
def test_primary_refuses_to_initialise_without_a_password(cluster: Cluster, variable: str) -> None:
    primary = cluster.pod(0)
    assert primary.run_script("init-config.sh").returncode == 0
    (primary.run_dir / "bootstrap-decision").write_text("initialise\n")  # the cluster's first start
    result = primary.run_script("server.sh", env={variable: ""}, timeout=30)
    (primary.run_dir / "bootstrap-decision").unlink()
    assert result.returncode == 1
    assert f"environment variable {variable} is not set" in result.stderr
    assert not primary.data_dir.exists()
    assert not (primary.data_root / ".init-tmp").exists()


def test_replica_without_data_waits_for_the_backup_container_to_clone_it(cluster: Cluster) -> None:
    # Issue 15, defect 5: the server image may lack the seeding tools, so its container never clones; the
    # backup container does (sidecar.sh), and the server starts once data/ is there. Alive, not ready.
    replica = cluster.pod(1)
    assert replica.run_script("init-config.sh").returncode == 0
    replica.start_server()
    try:
        wait_until(
            lambda: "waiting for the backup container to clone it" in replica.log("server"),
            30,
            what="server.sh to wait for data/",
        )
        assert "alive: waiting for data/" in replica.probe("liveness").stdout
        readiness = replica.probe("readiness")
        assert readiness.returncode == 1
        assert readiness.stdout.startswith("not ready: waiting for data/")
        assert replica.server is not None
        assert replica.server.poll() is None
        assert not replica.data_dir.exists()
        assert "cloning" not in replica.log("server")  # no clone.sh in this container
    finally:
        replica.kill_server()


def test_scripts_need_the_configmap(cluster: Cluster) -> None:
    result = cluster.pod(1).run_script("probe.sh", "readiness", env={"CLUSTER_CONFIG_DIR": "/nonexistent"})
    assert result.returncode != 0
    assert "the cluster ConfigMap is not mounted" in result.stderr


def test_probe_rejects_an_unknown_kind(cluster: Cluster) -> None:
    result = cluster.pod(1).run_script("probe.sh", "health")
    assert result.returncode == 2
    assert result.stdout == "usage: probe.sh startup|liveness|readiness\n"


def test_liveness_fails_with_one_line_when_no_server_runs(cluster: Cluster) -> None:
    result = cluster.pod(1).probe("liveness")
    assert result.returncode == 1
    assert result.stdout.startswith("not alive: ")
    assert len(result.stdout.splitlines()) == 1
    readiness = cluster.pod(1).probe("readiness")
    assert readiness.returncode == 1
    assert readiness.stdout.startswith("not ready: the server does not answer")


def test_server_config_reaches_every_server() -> None:
    # serverConfig renders custom.cnf (mysql_cluster/server_config.py); init-config.sh puts it before the
    # pod's identity, and the servers run with it.
    custom = TEST_CNF + (render({"max_connections": 321, "performance_schema": False}) or "")
    with Cluster(custom_cnf=custom) as built:
        built.start()
        replica = built.add_replica()
        for pod in (built.primary, replica):
            assert pod.sql("SELECT @@max_connections, @@performance_schema") == [(321, 0)]
            assert pod.sql("SELECT @@server_id")[0][0] == 100 + pod.ordinal  # identity still comes last
