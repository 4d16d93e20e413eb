#!/usr/bin/env bash
# Re-records the mariadb-10.11-* states in this folder (tests/check/record_states.py records the other
# flavors' from the pod harness) from a live primary and replica (mariadbd, GTID replication
# configured with MASTER_USE_GTID=slave_pos, replica read-only, table app.t (id INT PRIMARY KEY) on both).
# Usage: MYSQL_ROOT_PASSWORD=... record.sh PRIMARY_SOCKET REPLICA_SOCKET PRIMARY_PORT REPLICA_PORT
# The states were recorded with the primary on 127.0.0.1:33061 and the replica on 127.0.0.1:33062: the
# tests describe the cluster with those addresses (conftest.recorded_cluster).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
primary_socket=$1 replica_socket=$2 primary_port=$3 replica_port=$4
python=${PYTHON:-$here/../../../.venv/bin/python}

on_primary() { MYSQL_PWD=$MYSQL_ROOT_PASSWORD mariadb -S "$primary_socket" -uroot -e "$1"; }
on_replica() { MYSQL_PWD=$MYSQL_ROOT_PASSWORD mariadb -S "$replica_socket" -uroot -e "$1"; }
record() { "$python" "$here/../capture_rows.py" "mariadb-10.11-$1" "127.0.0.1:$primary_port" "127.0.0.1:$replica_port"; }
settle() { sleep "${1:-1}"; }

on_primary "INSERT INTO app.t VALUES (100 + FLOOR(RAND() * 1000000))"; settle
record healthy

on_replica "STOP SLAVE SQL_THREAD"; record sql-thread-stopped; on_replica "START SLAVE SQL_THREAD"
on_replica "STOP SLAVE IO_THREAD"; record io-thread-stopped; on_replica "START SLAVE IO_THREAD"
on_replica "SET GLOBAL read_only = 0"; record writable-replica; on_replica "SET GLOBAL read_only = 1"
on_primary "SET GLOBAL read_only = 1"; record read-only-primary; on_primary "SET GLOBAL read_only = 0"
on_replica "SET GLOBAL server_id = 100"; record duplicate-server-id; on_replica "SET GLOBAL server_id = 101"

# The source moved to a port where nothing listens: the IO thread keeps Connecting, with an IO error.
on_replica "STOP SLAVE; CHANGE MASTER TO MASTER_PORT = $((primary_port + 8)), MASTER_CONNECT_RETRY = 1; START SLAVE"
settle 3; record wrong-source-io-error
on_replica "STOP SLAVE; CHANGE MASTER TO MASTER_PORT = $primary_port, MASTER_CONNECT_RETRY = 60; START SLAVE"

# A row the replica already has: the SQL thread stops on a duplicate key (1062).
conflict=$((5000000 + RANDOM))
on_replica "SET sql_log_bin = 0; INSERT INTO app.t VALUES ($conflict)"; on_primary "INSERT INTO app.t VALUES ($conflict)"
settle; record sql-error
on_replica "SET sql_log_bin = 0; DELETE FROM app.t WHERE id = $conflict; START SLAVE SQL_THREAD"

# Delayed replication: Seconds_Behind_Master grows while the write waits out MASTER_DELAY.
on_replica "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = 3600; START SLAVE"
on_primary "INSERT INTO app.t VALUES (200 + FLOOR(RAND() * 1000000))"; settle 6; record lagging
on_replica "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = 0; START SLAVE"; settle

on_replica "STOP SLAVE; RESET SLAVE ALL"; record replication-not-configured  # left so: configure it again
