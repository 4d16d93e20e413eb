#!/usr/bin/env bash
# Seeds this replica with the server's own CLONE plugin (flavors with SEEDING=clone-plugin: MySQL 9.7, which no
# backup tool supports). Meant to be run by clone.sh (init container `clone`, server or backup image: both
# carry mysqld) once it has decided that this pod needs data and from which donor:
#   bash clone-plugin.sh <donor host> <donor port>
# 1. initialises a scratch datadir in $DATA_ROOT/.clone-tmp/recipient and starts a private server on it (no
#    networking, a private socket, no binary log), reading this pod's own my.cnf so the copy has the same
#    InnoDB layout;
# 2. as its root@localhost, admits exactly the donor (clone_valid_donor_list) and runs CLONE INSTANCE FROM
#    the backup account (BACKUP_ADMIN on the donor, over TLS only) into .clone-tmp/data: a DATA DIRECTORY
#    clone, so nothing restarts and a failed clone leaves only .clone-tmp behind;
# 3. shuts the private server down and renames .clone-tmp/data to data/ (data/ exists only complete).
# The copy carries the donor's GTID state (gtid_executed) and, from a replica, its replication metadata; it
# carries no auto.cnf, so the server gives itself a new server_uuid. No clone-gtid-position file is written:
# the sidecar points replication at the primary and auto-positioning continues from the cloned set.
# Failures are logged with their reason and retried (CLONE_RETRIES, CLONE_RETRY_DELAY as in clone.sh).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_env CLUSTER_CONFIG_DIR SERVER_CONF_DIR DATA_ROOT RUN_DIR BACKUP_USER MYSQL_BACKUP_PASSWORD
parse_ordinal
load_flavor
[[ ${SEEDING:-} == clone-plugin ]] || die "$FLAVOR_NAME $FLAVOR_VERSION is not seeded by the CLONE plugin"
(($# == 2)) || die "usage: clone-plugin.sh <donor host> <donor port>"
donor_host=$1 donor_port=$2
require_number donor_port
# clone_valid_donor_list is a list of host:port: an IPv6 literal cannot be written in it.
[[ $donor_host =~ ^[A-Za-z0-9.-]+$ ]] || die "donor host '$donor_host' must be a host name or an IPv4 address"
retries=${CLONE_RETRIES:-30}
delay=${CLONE_RETRY_DELAY:-10}
for name in retries delay; do require_number "$name"; done

conf=$SERVER_CONF_DIR/my.cnf
data=$DATA_ROOT/data
work=$DATA_ROOT/.clone-tmp
scratch=$work/recipient
target=$work/data
socket=$RUN_DIR/clone.sock
donor=$donor_host:$donor_port
private_pid=
reason=

[[ -r $conf ]] || die "$conf is missing: the init-config init container must run first"
[[ ! -d $data ]] || die "$data exists: clone.sh clones only into an empty volume"

stop_private_server() {
  if [[ -n $private_pid ]] && kill -0 "$private_pid" 2>/dev/null; then
    kill -TERM "$private_pid" 2>/dev/null || true
    wait "$private_pid" 2>/dev/null || true
  fi
  private_pid=
}
trap stop_private_server EXIT

start_private_server() { # a fresh scratch datadir with a password-less root@localhost on $socket only
  if ! "$SERVER_BIN" --defaults-file="$conf" --datadir="$scratch" --initialize-insecure \
    >"$RUN_DIR/clone-init.log" 2>&1; then
    log "$SERVER_BIN --initialize-insecure failed; its last lines:"
    tail -n 20 "$RUN_DIR/clone-init.log" >&2
    reason="was not asked: this pod's scratch datadir did not initialise (its log is above)"
    return 1
  fi
  rm -f "$socket"
  "$SERVER_BIN" --defaults-file="$conf" --datadir="$scratch" --skip-networking --skip-log-bin \
    --socket="$socket" --pid-file="$RUN_DIR/clone.pid" >"$RUN_DIR/clone-server.log" 2>&1 &
  private_pid=$!
  local waited=0
  until server_answers "$options"; do
    if ! kill -0 "$private_pid" 2>/dev/null || ((waited >= 120)); then
      tail -n 20 "$RUN_DIR/clone-server.log" >&2
      reason="was not asked: this pod's private server did not start (its log is above)"
      return 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
}

clone_once() {
  local sql output
  rm -rf "$work"
  mkdir -m 0750 "$work"
  start_private_server || { stop_private_server; return 1; }
  sql=$(render_sql "$SQL_CLONE_INSTANCE" \
    DONOR_ADDRESS="$(sql_literal "$donor")" DONOR_HOST="$(sql_literal "$donor_host")" DONOR_PORT="$donor_port" \
    BACKUP_USER="$(sql_literal "$BACKUP_USER")" BACKUP_PASSWORD="$(sql_literal "$MYSQL_BACKUP_PASSWORD")" \
    DATA_DIRECTORY="$(sql_literal "$target")")
  if ! output=$(printf '%s\n' "$SQL_LITERAL_MODE" "$sql" | run_sql "$options" 2>&1); then
    reason="refused the clone: $(one_line "$(redact "$output")")"
    stop_private_server
    return 1
  fi
  run_sql_quietly "$options" "shutting down the private server" <<<"SHUTDOWN;" || true
  wait "$private_pid" || true
  private_pid=
  if [[ ! -d $target/mysql ]]; then
    reason="sent a clone without its system schema"
    return 1
  fi
}

mkdir -p "$RUN_DIR"
options=$(client_option_file clone root "" "$socket")
[[ -e $work ]] && log "discarding $work left by an interrupted clone; cloning again"
log "cloning $POD_NAME from $donor with the CLONE plugin"
for ((attempt = 1; ; attempt++)); do
  if clone_once; then
    break
  fi
  ((attempt < retries)) ||
    die "donor $donor $reason; giving up after $attempt attempts (the pod restarts and tries again)"
  log "donor $donor $reason, retry $attempt/$retries in ${delay}s"
  sleep "$delay"
done

rm -f "$target/auto.cnf" "$RUN_DIR/client-clone.cnf"
sync
mv "$target" "$data"
rm -rf "$work"
sync "$DATA_ROOT"
rm -f "$RUN_DIR"/clone-*.log
log "complete after $attempt attempt(s): $data is a clone of $donor"
