#!/usr/bin/env bash
# Sourced by sidecar.sh and probe.sh (never run): the heartbeat. The primary's sidecar writes the time, every
# HEARTBEAT_INTERVAL seconds (default 1), into one row that replicates like any other write; a replica's data
# is at most as old as the newest heartbeat it has applied. That age is honest whatever the primary does: while
# the primary is away (a restart, a node drain) a replica keeps serving reads until its data is older than
# MAX_LAG_SECONDS, and `Seconds_Behind_*` (NULL whenever the receiver is not connected) is not needed. It is
# one of the readiness probe's two proofs of freshness: the other, a connected receiver whose applier caught
# up (probe.sh), keeps replicas ready while this writer (the primary's `backup` container) is down.
# The statements are plain SQL every flavor accepts. The written time is the primary's clock; the age is
# read on the replica's clock (nodes keep time with NTP; a negative age counts as 0).
# shellcheck shell=bash

heartbeat_schema=mysql_cluster
heartbeat_table=$heartbeat_schema.heartbeat
heartbeat_pid=

start_heartbeat() { # <option file>: the primary's writer, one client connection for its whole life
  local options=$1 interval=${HEARTBEAT_INTERVAL:-1}
  require_number interval
  {
    printf '%s\n' "CREATE DATABASE IF NOT EXISTS $heartbeat_schema;" \
      "CREATE TABLE IF NOT EXISTS $heartbeat_table (id TINYINT UNSIGNED NOT NULL PRIMARY KEY," \
      " server_id INT UNSIGNED NOT NULL, written_at TIMESTAMP(6) NOT NULL) ENGINE=InnoDB;"
    # The loop ends with SIGPIPE once the client has gone (the server restarted): the monitor restarts it.
    while printf 'REPLACE INTO %s (id, server_id, written_at) VALUES (1, @@server_id, NOW(6));\n' \
      "$heartbeat_table" 2>/dev/null; do
      sleep "$interval"
    done
  } | "$CLIENT_BIN" --defaults-file="$options" --batch --skip-column-names >/dev/null 2>"$RUN_DIR/heartbeat.log" &
  heartbeat_pid=$!
  log "heartbeat: writing $heartbeat_table every ${interval}s (pid $heartbeat_pid)"
}

keep_heartbeat() { # <option file>: restarts the writer when its connection ended
  if [[ -n $heartbeat_pid ]] && kill -0 "$heartbeat_pid" 2>/dev/null; then
    return 0
  fi
  [[ -n $heartbeat_pid ]] && log "heartbeat: the writer stopped ($(one_line "$(redact \
    "$(tail -n 1 "$RUN_DIR/heartbeat.log" 2>/dev/null)")")); starting it again"
  start_heartbeat "$1"
}

stop_heartbeat() {
  [[ -n $heartbeat_pid ]] && { kill "$heartbeat_pid" 2>/dev/null || true; }
  heartbeat_pid=
}

heartbeat_age() { # <option file>: prints the age in seconds (one decimal) of the newest applied heartbeat
  local micros
  micros=$(run_sql "$1" <<<"SELECT GREATEST(0, TIMESTAMPDIFF(MICROSECOND, written_at, NOW(6))) FROM \
$heartbeat_table WHERE id = 1;" 2>/dev/null) || return 1
  [[ $micros =~ ^[0-9]+$ ]] || return 1
  printf '%d.%d' $((micros / 1000000)) $((micros % 1000000 / 100000))
}
