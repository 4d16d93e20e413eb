#!/usr/bin/env bash
# Seeds this pod with the server's own CLONE plugin (flavors with SEEDING=clone-plugin: MySQL 9.7, which no
# backup tool supports). Run by clone.sh (init container `clone`, server or backup image: both carry mysqld)
# once it has decided that this pod needs data: `bash clone-plugin.sh`. Donors are chosen as clone.sh chooses
# them (donor.sh: the primary, then ready replicas, the most advanced first; CLONE_FIXED_DONOR on a re-seed),
# and each is first asked over the clone port whether it is fit (transport.sh: its readiness probe and donor
# checks, under the cluster's credential; UNFIT or unreachable: the next donor, at once). Then:
# 1. initialises a scratch datadir in $DATA_ROOT/.clone-tmp/recipient and starts a private server on it (no
#    networking, a private socket, no binary log), reading this pod's own my.cnf so the copy has the same
#    InnoDB layout; it is kept running while donors are busy, so a busy donor costs no new initialisation;
# 2. as its root@localhost, admits exactly the donor (clone_valid_donor_list) and runs CLONE INSTANCE FROM
#    the backup account (BACKUP_ADMIN on the donor, over TLS only) into .clone-tmp/data: a DATA DIRECTORY
#    clone, so nothing restarts and a failed clone leaves only .clone-tmp behind. A donor serves one CLONE at
#    a time (error 3634): the next donor is asked at once;
# 3. shuts the private server down and renames .clone-tmp/data to data/ (data/ exists only complete).
# The copy carries the donor's GTID state (gtid_executed) and, from a replica, its replication metadata; it
# carries no auto.cnf, so the server gives itself a new server_uuid. No clone-gtid-position file is written:
# the sidecar points replication at the primary and auto-positioning continues from the cloned set.
# Failures are logged with their reason and retried as donor.sh says (a failed CLONE backs off
# exponentially; this pod's full volume is named as the cause).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=transport.sh
source "$(dirname "${BASH_SOURCE[0]}")/transport.sh"
# shellcheck source-path=SCRIPTDIR source=donor.sh
source "$(dirname "${BASH_SOURCE[0]}")/donor.sh"

require_env CLUSTER_CONFIG_DIR SERVER_CONF_DIR DATA_ROOT RUN_DIR CLONE_PORT BACKUP_USER MYSQL_BACKUP_PASSWORD \
  REPLICATION_USER MYSQL_REPLICATION_PASSWORD
parse_ordinal
load_flavor
[[ ${SEEDING:-} == clone-plugin ]] || die "$FLAVOR_NAME $FLAVOR_VERSION is not seeded by the CLONE plugin"
(($# == 0)) || die "usage: clone-plugin.sh (the donor is chosen here: donor.sh)"

conf=$SERVER_CONF_DIR/my.cnf
data=$DATA_ROOT/data
work=$DATA_ROOT/.clone-tmp
scratch=$work/recipient
target=$work/data
socket=$RUN_DIR/clone.sock
donor=
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

# The private server only receives the clone into a DATA DIRECTORY (its own buffer pool holds none of it):
# small, whatever the pod's my.cnf asks of the real server, because it may run in the backup container, whose
# memory is the sidecar's (a re-clone, reclone.sh), not the server's. The script tier clones with these
# values throughout (tests/support/pods.py: 32M, performance_schema OFF).
private_options=(--innodb-buffer-pool-size=32M --performance-schema=OFF)

start_private_server() { # a fresh scratch datadir with a password-less root@localhost on $socket only
  if ! "$SERVER_BIN" --defaults-file="$conf" --datadir="$scratch" "${private_options[@]}" \
    --initialize-insecure >"$RUN_DIR/clone-init.log" 2>&1; then
    log "$SERVER_BIN --initialize-insecure failed; its last lines:"
    tail -n 20 "$RUN_DIR/clone-init.log" >&2
    reason="was not asked: this pod's scratch datadir did not initialise (its log is above)"
    return 1
  fi
  rm -f "$socket"
  "$SERVER_BIN" --defaults-file="$conf" --datadir="$scratch" "${private_options[@]}" --skip-networking \
    --skip-log-bin --socket="$socket" --pid-file="$RUN_DIR/clone.pid" >"$RUN_DIR/clone-server.log" 2>&1 &
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

ask_donor() { # <ordinal>: the donor vouches over the clone port that it is fit (status as clone_from)
  local status=0
  transport_fetch "$(pod_host "$1")" "$(peer_clone_port "$1")" "$DATA_ROOT" >/dev/null \
    2>"$RUN_DIR/clone-ask.log" || status=$?
  ((status != 0)) || return 0
  reason=$(tail -n 1 "$RUN_DIR/clone-ask.log")
  return "$status"
}

clone_from() { # <ordinal>: one attempt; 0 cloned, 1 no clone started (ask the next donor), 2 a clone failed
  local donor_host donor_port sql output status
  donor_host=$(pod_host "$1") donor_port=$(peer_mysql_port "$1")
  require_number donor_port
  donor=$donor_host:$donor_port
  # clone_valid_donor_list is a list of host:port: an IPv6 literal cannot be written in it.
  if [[ ! $donor_host =~ ^[A-Za-z0-9.-]+$ ]]; then
    reason="cannot be cloned: '$donor_host' is not a host name or an IPv4 address"
    return 1
  fi
  ask_donor "$1" || return
  if [[ -z $private_pid ]]; then
    rm -rf "$work"
    mkdir -m 0750 "$work"
    if ! start_private_server; then
      stop_private_server
      if mentions_full_disk "$RUN_DIR/clone-init.log" "$RUN_DIR/clone-server.log"; then
        rm -rf "$work"
        reason=$(volume_full_reason "$(transport_announced_kib)")
      fi
      return 2
    fi
  fi
  rm -rf "$target"
  sql=$(render_sql "$SQL_CLONE_INSTANCE" \
    DONOR_ADDRESS="$(sql_literal "$donor")" DONOR_HOST="$(sql_literal "$donor_host")" DONOR_PORT="$donor_port" \
    BACKUP_USER="$(sql_literal "$BACKUP_USER")" BACKUP_PASSWORD="$(sql_literal "$MYSQL_BACKUP_PASSWORD")" \
    DATA_DIRECTORY="$(sql_literal "$target")")
  if ! output=$(printf '%s\n' "$SQL_LITERAL_MODE" "$sql" | run_sql "$options" 2>&1); then
    output=$(one_line "$(redact "$output")")
    if [[ $output == *3634* || $output == *'oo many concurrent clone'* ]]; then
      reason="is busy (it serves one CLONE at a time: $output)"
      return 1 # nothing was copied; the private server stays up for the next donor
    fi
    stop_private_server
    if [[ $output == *'No space left'* || $output =~ [Ee]rrno:?\ ?28([^0-9]|$) ]] ||
      mentions_full_disk "$RUN_DIR/clone-server.log"; then
      rm -rf "$work"
      reason=$(volume_full_reason "$(transport_announced_kib)")
      return 2
    fi
    reason="refused the clone: $output"
    return 2
  fi
  run_sql_quietly "$options" "shutting down the private server" <<<"SHUTDOWN;" || true
  wait "$private_pid" || true
  private_pid=
  if [[ ! -d $target/mysql ]]; then
    reason="sent a clone without its system schema"
    return 2
  fi
}

mkdir -p "$RUN_DIR"
options=$(client_option_file clone root "" "$socket")
[[ -e $work ]] && log "discarding $work left by an interrupted clone; cloning again"
log "cloning $POD_NAME from ${CLONE_FIXED_DONOR:+ordinal }${CLONE_FIXED_DONOR:-the first ready donor} with the CLONE plugin"
transport_recipient_credentials || log "could not make the clone credential yet; each attempt tries again"
clone_from_donors clone_from

rm -f "$target/auto.cnf" "$RUN_DIR/client-clone.cnf"
sync
mv "$target" "$data"
rm -rf "$work"
sync "$DATA_ROOT"
rm -f "$RUN_DIR"/clone-*.log "$(transport_greeting_file)"
log "complete after $CLONE_ATTEMPTS attempt(s): $data is a clone of ordinal $CLONED_FROM ($donor)"
