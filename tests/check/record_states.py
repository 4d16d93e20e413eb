"""Records the server states of `data/` from a real primary and replica of any flavor the pod harness runs
(not a test itself; needs root, like the script tier):

    .venv/bin/python -m tests.check.record_states mysql 9.7

starts a primary on 127.0.0.1:33061 and a replica on 127.0.0.1:33062 (the addresses that
`conftest.recorded_cluster` describes) with the real container scripts, stops both sidecars so that nothing
else writes or re-configures, then puts the pair into each state by SQL as root@localhost (statements that
differ by flavor come from the flavor) and writes `data/<flavor>-<version>-<state>.json`: what
`mysql_cluster_check.probe.collect` returned for the primary, then the replica. `data/record.sh` recorded the
MariaDB 10.11 files from hand-made servers.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "scripts"), str(REPO)]

from mysql_cluster_check import Address, Password  # noqa: E402
from mysql_cluster_check.probe import collect, connect  # noqa: E402

from mysql_cluster.flavors import Flavor, get_flavor  # noqa: E402
from tests.check.conftest import check_cnf  # noqa: E402
from tests.support.pods import Cluster, Pod, free_port, wait_until  # noqa: E402

PORTS = (33061, 33062)
DATA = Path(__file__).parent / "data"


class Recorder:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.flavor: Flavor = cluster.flavor
        self.primary, self.replica = cluster.pods
        change = self.flavor.change_source
        self.change = change[: change.index(" TO ") + len(" TO ")]  # CHANGE MASTER / REPLICATION SOURCE TO
        self.option = self.flavor.source_port_column.removesuffix("_Port").upper()  # MASTER_ / SOURCE_...

    def record(self, state: str) -> None:
        password = Password(self.cluster.passwords.root)
        servers = []
        for pod in (self.primary, self.replica):
            with contextlib.closing(connect(Address(*pod.address), "root", password, 5.0)) as conn:
                servers.append(collect(conn))
        path = DATA / f"{self.flavor.name}-{self.flavor.version}-{state}.json"
        path.write_text(json.dumps(servers, indent=1) + "\n")
        print(path)

    def on_replica(self, *statements: str, writes: bool = False) -> None:
        """Runs statements in one session as root@localhost; `writes` lifts MySQL's super_read_only for them
        (read_only stays ON: root writes through it) and the flavor's read-only statement restores it."""
        with contextlib.closing(self.replica.connect()) as conn, conn.cursor() as cursor:
            lift = writes and "super_read_only" in self.flavor.read_only_variables
            if lift:
                cursor.execute("SET GLOBAL super_read_only = OFF")
            for statement in statements:
                cursor.execute(statement)
            if lift:
                cursor.execute(self.flavor.enforce_read_only)

    def reconfigure(self, options: str) -> None:
        """Stops replication, changes the source's options, starts it again."""
        stop, start = self.flavor.stop_replica, self.flavor.start_replica
        self.on_replica(stop, f"{self.change}{options}", start)

    def opt(self, name: str, value: int) -> str:
        return f"{self.option}_{name} = {value}"

    def run(self) -> None:
        stop, start = self.flavor.stop_replica, self.flavor.start_replica
        self.primary.sql("INSERT INTO app.t VALUES (100 + FLOOR(RAND() * 1000000))")
        time.sleep(1)
        self.record("healthy")

        for thread in ("SQL_THREAD", "IO_THREAD"):
            self.on_replica(f"{stop} {thread}")
            self.record(f"{thread.split('_')[0].lower()}-thread-stopped")
            self.on_replica(f"{start} {thread}")
        self.on_replica("SET GLOBAL read_only = OFF")  # on MySQL super_read_only goes with it
        self.record("writable-replica")
        self.on_replica(self.flavor.enforce_read_only)
        if "super_read_only" in self.flavor.read_only_variables:
            self.on_replica("SET GLOBAL super_read_only = OFF")
            self.record("super-read-only-off")
            self.on_replica(self.flavor.enforce_read_only)
        self.primary.sql(self.flavor.enforce_read_only)
        self.record("read-only-primary")
        self.primary.sql("SET GLOBAL read_only = OFF")
        self.on_replica("SET GLOBAL server_id = 100")
        self.record("duplicate-server-id")
        self.on_replica("SET GLOBAL server_id = 101")

        # The source moved to a port where nothing listens: the IO thread keeps Connecting, with an IO error.
        self.reconfigure(f"{self.opt('PORT', PORTS[0] + 8)}, {self.opt('CONNECT_RETRY', 1)}")
        time.sleep(3)
        self.record("wrong-source-io-error")
        self.reconfigure(f"{self.opt('PORT', PORTS[0])}, {self.opt('CONNECT_RETRY', 60)}")

        # A row the replica already has: the SQL thread stops on a duplicate key (1062).
        conflict = 5000000 + int(time.time()) % 100000
        self.on_replica("SET SESSION sql_log_bin = 0", f"INSERT INTO app.t VALUES ({conflict})", writes=True)
        self.primary.sql(f"INSERT INTO app.t VALUES ({conflict})")
        wait_until(lambda: self.replica.replica_status()[self.flavor.last_sql_errno_column], 30)
        self.record("sql-error")
        self.on_replica(
            "SET SESSION sql_log_bin = 0", f"DELETE FROM app.t WHERE id = {conflict}", writes=True
        )
        self.on_replica(f"{start} SQL_THREAD")

        # Delayed replication: the lag grows while the write waits out the delay.
        self.reconfigure(self.opt("DELAY", 3600))
        self.primary.sql("INSERT INTO app.t VALUES (200 + FLOOR(RAND() * 1000000))")
        time.sleep(6)
        self.record("lagging")
        self.reconfigure(self.opt("DELAY", 0))
        time.sleep(1)

        self.on_replica(stop, self.flavor.reset_replica_all)
        self.record("replication-not-configured")


def main(name: str, version: str) -> None:
    flavor = get_flavor(name, version)
    with Cluster(flavor, name="mysql", custom_cnf=check_cnf(flavor)) as cluster:
        for ordinal, port in enumerate(PORTS):
            pod = Pod(cluster, ordinal, ports=(port, free_port()))
            cluster.pods.append(pod)
            pod.start()
            if ordinal == 0:
                pod.sql("CREATE DATABASE app")
                pod.sql("CREATE TABLE app.t (id INT PRIMARY KEY)")
        replica = cluster.pods[1]
        wait_until(lambda: bool(replica.sql("SHOW TABLES FROM app")), 30, what="the table on the replica")
        for pod in cluster.pods:
            pod.kill_sidecar()  # no heartbeat, no re-configuration from here on
        Recorder(cluster).run()


if __name__ == "__main__":
    main(*sys.argv[1:])
