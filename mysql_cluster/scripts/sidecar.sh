#!/usr/bin/env bash
# Container `backup` (backup image), in the foreground for the life of the pod:
# 1. waits for the local server (SERVER_WAIT_TIMEOUT, default 900 s, with a log line every 10 s);
# 2. runs the flavor's upgrade step (mariadb-upgrade; a no-op unless the server's version changed); on a
#    replica, on EVERY start, configures replication idempotently (configure_replication,
#    sidecar-replication.sh), leaving a person's pause (STOP REPLICA) as it is;
# 3. serves backups to the next pod (transport.sh): mutual TLS on $CLONE_PORT with the credential derived from
#    the backup password, one backup-stream.sh per authenticated connection, at most CLONE_MAX_BACKUPS (2)
#    at once; refused connections are logged;
# 4. watches, every MONITOR_INTERVAL (default 10 s): restarts the listener if it died, configures
#    replication again when the server restarted underneath it (a new token in $RUN_DIR/server-run, written
#    by server.sh at every start, so a restart within seconds counts too), leaves replication stopped by
#    hand stopped (STOP REPLICA is the operator's pause, outliving restarts of this container and password
#    rotations, ended by START REPLICA or a server restart; the replica is not ready meanwhile: see
#    sidecar-replication.sh), logs replication state changes, and, when the primary can no longer
#    serve a replica's position (SOURCE_PURGED_ERRNO: 1236, MySQL 13114), has it cloned again only if that
#    provably discards nothing, else refuses and says what a person must decide (reclone.sh).
# A replica without data/ (set aside for a re-clone by server.sh) is cloned here, in the backup image where
# the seeding tools are (clone.sh), while its server container waits.
# On the primary it also writes the heartbeat (heartbeat.sh) every HEARTBEAT_INTERVAL seconds.
# Password rotation (the mounted Secret changed; lib.sh refresh_passwords): the primary applies the Secret's
# passwords with ALTER USER (binlogged, so the replicas receive the new hashes); a replica re-points its
# replication with the new replication password once the primary accepts it (also on IO error 1045); every
# pod serves backups with the credential of the new backup password (the listener restarts).
# SIGTERM/SIGINT stop the listener and exit 0.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=heartbeat.sh
source "$(dirname "${BASH_SOURCE[0]}")/heartbeat.sh"
# shellcheck source-path=SCRIPTDIR source=transport.sh
source "$(dirname "${BASH_SOURCE[0]}")/transport.sh"

require_env CLUSTER_CONFIG_DIR SERVER_CONF_DIR DATA_ROOT RUN_DIR MYSQL_PORT CLONE_PORT MYSQL_ROOT_PASSWORD \
  MYSQL_BACKUP_PASSWORD
require_number MYSQL_PORT
require_number CLONE_PORT
max_backups=${CLONE_MAX_BACKUPS:-2}
require_number max_backups
((max_backups >= 1)) || die "CLONE_MAX_BACKUPS='$max_backups' must be at least 1"
parse_ordinal
load_flavor

wait_timeout=${SERVER_WAIT_TIMEOUT:-900}
interval=${MONITOR_INTERVAL:-10}
require_number wait_timeout
require_number interval
mkdir -p "$RUN_DIR"
root=$(root_option_file)
listener_pid=
sleeper_pid=

wait_for_root() { # <timeout>: polls until the server answers whichever root password works (root_option_file)
  local waited=0
  until root=$(root_option_file) && server_answers "$root"; do
    if ((waited >= $1)); then
      log "the local server did not answer within ${1}s"
      return 1
    fi
    ((waited % 10 == 0)) && log "waiting for the local server ($(server_socket)): ${waited}s/${1}s"
    sleep 1
    waited=$((waited + 1))
  done
  if secret_root_password_refused; then
    # A rotation this data has not received yet (the pod restarted in its middle): the primary applies it
    # now, a replica receives it by replication.
    log "the local server answers (after ${waited}s), not yet to the Secret's root password (a rotation on" \
      "its way to this data)"
  else
    log "the local server answers (after ${waited}s)"
  fi
}

on_term() {
  log "stopping (signal received)"
  stop_heartbeat
  [[ -n $sleeper_pid ]] && { kill "$sleeper_pid" 2>/dev/null || true; }
  [[ -n ${clone_pid:-} ]] && { kill -TERM "$clone_pid" 2>/dev/null || true; }
  if [[ -n $listener_pid ]]; then
    kill -TERM "$listener_pid" 2>/dev/null || true
    wait "$listener_pid" 2>/dev/null || true
  fi
  exit 0
}
trap on_term TERM INT

# shellcheck source-path=SCRIPTDIR source=sidecar-server.sh
source "$(dirname "${BASH_SOURCE[0]}")/sidecar-server.sh"
# shellcheck source-path=SCRIPTDIR source=reclone.sh
source "$(dirname "${BASH_SOURCE[0]}")/reclone.sh"
# shellcheck source-path=SCRIPTDIR source=sidecar-replication.sh
source "$(dirname "${BASH_SOURCE[0]}")/sidecar-replication.sh"

# ---------------------------------------------------------------------------------- listener --

listener_digest= # the digest of the backup password the listener's credential derives from

start_listener() {
  listener_digest=$(password_digest "$MYSQL_BACKUP_PASSWORD")
  if ! transport_listen "$CLONE_PORT"; then
    listener_pid=
    log "could not serve backups on port $CLONE_PORT; trying again at the next check"
    return 0
  fi
  listener_pid=$TRANSPORT_LISTENER_PID
  log "serving backups on port $CLONE_PORT (mutual TLS, the backup password's credential; at most" \
    "$max_backups at once; listener pid $listener_pid)"
}

# ------------------------------------------------------------------------------------ monitor --

last_run= # the server-run token (server.sh) seen at the last check, to notice restarts between two checks
last_stop_notice=
last_state=

watch_replication() { # logs state changes, keeps the pause rules (sidecar-replication.sh), re-points with a new
  # password; a purged-binlog error (stale data) goes to reclone_check
  local status io sql lag io_errno io_error sql_errno sql_error state run wanted start='' paused=''
  run=$(server_run)
  status=$(query_vertical "$root" "$SQL_SHOW_REPLICA_STATUS" 2>/dev/null) || return 0
  # No source (the next check configures it), or a server that restarted while asked (the next check sees it).
  [[ -n $status && $(server_run) == "$run" ]] || return 0
  io=$(field "$status" "$IO_RUNNING_COLUMN") || io=unconfigured
  sql=$(field "$status" "$SQL_RUNNING_COLUMN") || sql=unconfigured
  lag=$(field "$status" "$LAG_COLUMN") || lag=NULL
  io_errno=$(field "$status" "$LAST_IO_ERRNO_COLUMN") || io_errno=0
  io_error=$(field "$status" "$LAST_IO_ERROR_COLUMN") || io_error=
  sql_errno=$(field "$status" "$LAST_SQL_ERRNO_COLUMN") || sql_errno=0
  sql_error=$(field "$status" "$LAST_SQL_ERROR_COLUMN") || sql_error=
  state="$IO_RUNNING_COLUMN=$io $SQL_RUNNING_COLUMN=$sql"
  [[ $io_errno != 0 ]] && state+=" last IO error $io_errno: $io_error"
  [[ $sql_errno != 0 ]] && state+=" last SQL error $sql_errno: $sql_error"
  if [[ $state != "$last_state" ]]; then
    log "replication: $state ($LAG_COLUMN=$lag)"
    last_state=$state
  fi
  [[ -z $(running_threads "$io" "$sql") ]] || note_replication_ran "$run"
  wanted=$(threads_to_run "$io" "$sql" "$io_errno" "$sql_errno" "$run")
  # Threads stopped without an error: the sidecar's own, or on a server where replication never ran, are
  # started (configure_replication normally did so already: a safety net); the others are a person's pause.
  if [[ $io == No && $io_errno == 0 ]]; then
    if [[ " $wanted " == *" io "* ]]; then start=io; else paused=io; fi
  fi
  if [[ $sql == No && $sql_errno == 0 ]]; then
    if [[ " $wanted " == *" sql "* ]]; then start+="${start:+ }sql"; else paused+="${paused:+ }sql"; fi
  fi
  if [[ -n $start ]]; then
    log "replication: $(thread_names "$start") stopped without an error on a server it has not run on" \
      "(or by this sidecar); starting it"
    start_threads "$start" "$run" || true
  fi
  if [[ -z $paused ]]; then
    last_stop_notice=
  elif [[ $last_stop_notice != "$state" ]]; then
    # The readiness probe keeps this replica out of the read Service while its applier is stopped.
    log "replication: $(thread_names "$paused") stopped by hand on this server; left stopped (not ready while" \
      "the applier is stopped) until someone starts it (${SQL_START_REPLICA%;}) or the server restarts"
    last_stop_notice=$state
  fi
  rotate_replication_password "$io" "$io_errno" "$sql" "$wanted" "$run"
  if [[ $io_errno == "$SOURCE_PURGED_ERRNO" ]]; then
    reclone_check "$status" "$io_error"
  else
    reclone_clear
  fi
  return 0
}

needs_configuration() { # a fresh clone's position waits, or the server has no replication source
  local status
  [[ -f $(clone_gtid_file) ]] && return 0
  status=$(query_vertical "$root" "$SQL_SHOW_REPLICA_STATUS" 2>/dev/null) || return 1
  [[ -z $status ]]
}

stop_listener() {
  [[ -n $listener_pid ]] || return 0
  kill -TERM "$listener_pid" 2>/dev/null || true
  wait "$listener_pid" 2>/dev/null || true
  listener_pid=
}

monitor_once() {
  local run why=''
  refresh_passwords
  root=$(root_option_file)
  if [[ -n $listener_pid && $listener_digest != "$(password_digest "$MYSQL_BACKUP_PASSWORD")" ]]; then
    log "the backup password changed; serving backups with its new credential"
    stop_listener
  fi
  if [[ -z $listener_pid ]] || ! kill -0 "$listener_pid" 2>/dev/null; then
    log "the backup listener is not running; starting it again"
    start_listener
  fi
  ((ORDINAL == 0)) || settle_reclone || return 0 # a re-clone under way: nothing else this round
  run=$(server_run) # before the server answers: a restart in between is seen at the next check
  server_answers "$root" || return 0 # down or restarting: next round
  if ((ORDINAL == 0)); then
    rm -f "$RUN_DIR/init-passwords.sql" # read by the server as it started (server.sh password_init_file)
    reconcile_accounts || log "accounts: checking the accounts failed; retrying at the next check"
    apply_passwords || log "passwords: applying them failed; retrying at the next check"
    keep_heartbeat "$root"
  fi
  if ((ORDINAL > 0)); then
    if [[ $run != "$last_run" ]]; then
      why="the server restarted; configuring replication again"
    elif needs_configuration; then
      # A fresh clone's position to apply (a re-clone), or no source at all (RESET REPLICA ALL by hand).
      why="replication: a fresh clone or no source configured; configuring replication"
    fi
  fi
  if [[ -n $why ]]; then
    log "$why"
    if ! configure_replication; then
      log "replication: configuration failed; retrying at the next check"
      return 0 # last_run unchanged: the next round tries again
    fi
  fi
  last_run=$run
  if ((ORDINAL > 0)); then
    watch_replication
  fi
}

# ---------------------------------------------------------------------------------------- main --

log "starting for $POD_NAME ($(role)), $FLAVOR_NAME $FLAVOR_VERSION"
if ((ORDINAL > 0)); then
  # A re-clone under way (this container was restarted in its middle): finish it before waiting for a
  # server, which does not start on this volume until data/ is a new clone.
  until settle_reclone; do sleep 1; done
fi
wait_for_root "$wait_timeout" || die "giving up; the container restarts and waits again"
last_run=$(server_run)
run_upgrade_step || die "the upgrade step failed (the container restarts and tries again)"
warn_of_passwords_in_logs
if ((ORDINAL > 0)); then
  configure_until_done
else
  forget_replication_source || die "could not remove the replication source (the container restarts and tries again)"
fi
start_listener
if ((ORDINAL == 0)); then
  rm -f "$RUN_DIR/init-passwords.sql" # read by the server as it started (server.sh password_init_file)
  reconcile_accounts || log "accounts: checking the accounts failed; retrying at the next check"
  apply_passwords || log "passwords: applying them failed; retrying at the next check"
  start_heartbeat "$root"
fi
while true; do
  monitor_once
  sleep "$interval" &
  sleeper_pid=$!
  wait "$sleeper_pid" || true
  sleeper_pid=
done
