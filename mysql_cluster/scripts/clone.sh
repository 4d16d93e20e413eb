#!/usr/bin/env bash
# Init container `clone` (backup image). On a replica (ordinal > 0) without $DATA_ROOT/data: streams a
# physical backup from the sidecar of ordinal N-1 into $DATA_ROOT/.clone-tmp (on the primary without data,
# bootstrap.sh decides: initialise on the cluster's first start, else re-seed from the most advanced
# replica through the same clone), and accepts it only when
#   - the transport and the extraction both succeeded (pipefail: an empty, refused or cut stream fails),
#   - the stream ends with the donor's completion marker (appended only after its backup tool succeeded),
#   - the backup's checkpoints, info and position files are present,
#   - the backup prepares successfully;
# then removes auto.cnf (each clone gets its own server_uuid), records the clone's GTID position next to
# data/ (written atomically; the sidecar applies and consumes it) and renames .clone-tmp to data/.
# A failed attempt is logged with its reason and retried; a leftover .clone-tmp is discarded and redone.
#
# Optional environment: PEER_CLONE_PORT (default CLONE_PORT), CLONE_RETRIES (30), CLONE_RETRY_DELAY (10 s),
# CLONE_IDLE_TIMEOUT (1800 s without a byte from the donor ends the attempt). Flavors seeded by the CLONE
# plugin (SEEDING=clone-plugin) hand over to clone-plugin.sh once the donor is chosen (PEER_MYSQL_PORT,
# default MYSQL_PORT: the donor's server port).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=transport.sh
source "$(dirname "${BASH_SOURCE[0]}")/transport.sh"

require_env CLUSTER_CONFIG_DIR DATA_ROOT RUN_DIR CLONE_PORT MYSQL_BACKUP_PASSWORD
parse_ordinal
load_flavor

mkdir -p "$RUN_DIR"
data=$DATA_ROOT/data
work=$DATA_ROOT/.clone-tmp
gtid_file=$(clone_gtid_file)

if [[ -d $data ]]; then
  log "$data is present (complete by construction): not cloning"
  exit 0
fi

retries=${CLONE_RETRIES:-30}
delay=${CLONE_RETRY_DELAY:-10}
idle_timeout=${CLONE_IDLE_TIMEOUT:-1800}
for name in retries delay idle_timeout; do require_number "$name"; done
if ((ORDINAL == 0)); then
  # The primary without data: initialise (first start only) or re-seed from a replica (bootstrap.sh).
  # shellcheck source-path=SCRIPTDIR source=bootstrap.sh
  source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
  bootstrap_primary
  if [[ ${SEEDING:-} == clone-plugin ]]; then # MySQL 9.7: re-seeded by the donor's server, over its port
    exec bash "$(dirname "${BASH_SOURCE[0]}")/clone-plugin.sh" "$peer_host" "$peer_port"
  fi
else
  donor=$((ORDINAL - 1))
  peer_host=$(pod_host "$donor")
  peer_port=${PEER_CLONE_PORT:-$CLONE_PORT}
  require_number peer_port
  peer="$peer_host:$peer_port"
  if [[ ${SEEDING:-} == clone-plugin ]]; then # MySQL 9.7: the donor's server clones itself, over its own port
    exec bash "$(dirname "${BASH_SOURCE[0]}")/clone-plugin.sh" "$peer_host" "${PEER_MYSQL_PORT:-${MYSQL_PORT:-}}"
  fi
fi

reason= # why the last attempt failed, for the log line
gtid=   # the GTID position of the accepted backup

stream_backup() { # donor -> $work; sets reason on failure
  local transport_log=$RUN_DIR/clone-transport.log extract_log=$RUN_DIR/clone-extract.log
  local -a status
  # transport.sh: mutual TLS with the backup password's credential; on failure its last line is the reason.
  if CLONE_IDLE_TIMEOUT=$idle_timeout transport_fetch "$peer_host" "$peer_port" 2>"$transport_log" |
    "$STREAM_BIN" -x -C "$work" 2>"$extract_log"; then
    return 0
  fi
  status=("${PIPESTATUS[@]}")
  if ((status[0] != 0)); then
    reason=$(tail -n 1 "$transport_log")
  else
    reason="sent a truncated or corrupt stream ($STREAM_BIN: $(tail -n 1 "$extract_log"))"
  fi
  return 1
}

require_backup_file() { # <file> <what>: the file exists and is not empty in $work
  [[ -s $work/$1 ]] && return 0
  reason="sent a backup without its $2 ($1)"
  return 1
}

check_backup() { # the stream is complete and holds what a usable backup holds
  if [[ -z $(ls -A "$work") ]]; then
    reason="sent an empty stream (its backup could not start: see the donor's sidecar log)"
    return 1
  fi
  if [[ ! -f $work/$STREAM_COMPLETE_MARKER ]]; then
    reason="sent an incomplete stream (no completion marker: the donor's backup failed or the connection broke)"
    return 1
  fi
  require_backup_file "$BACKUP_CHECKPOINTS_FILE" "checkpoints" || return 1
  require_backup_file "$BACKUP_INFO_FILE" "info file" || return 1
  require_backup_file "$BACKUP_BINLOG_INFO_FILE" "binary log position" || return 1
  if ((donor > 0)); then
    require_backup_file "$BACKUP_REPLICA_INFO_FILE" "replication position (the donor is not replicating)" ||
      return 1
  fi
}

valid_gtid() { # <set>: a GTID set of either flavor (uuid[:tag]:ranges or domain-server-seq lists)
  [[ $1 =~ ^[0-9A-Za-z:,_-]*$ ]]
}

gtid_from_binlog_info() { # "<file>\t<position>\t<GTID set, may span lines>"
  local content file position set
  content=$(<"$work/$BACKUP_BINLOG_INFO_FILE")
  content=${content//$'\n'/}
  IFS=$'\t' read -r file position set <<<"$content" || true
  if [[ -z $file || ! $position =~ ^[0-9]+$ ]]; then
    reason="sent an unreadable $BACKUP_BINLOG_INFO_FILE"
    return 1
  fi
  gtid=${set//[[:space:]]/}
}

gtid_from_replica_info() { # "... <variable> = '<GTID set>' ..." (SET GLOBAL gtid_purged/gtid_slave_pos)
  local content pattern
  content=$(<"$work/$BACKUP_REPLICA_INFO_FILE")
  content=${content//$'\n'/ }
  pattern="${REPLICA_INFO_GTID_VARIABLE}[[:space:]]*=[[:space:]]*'([^']*)'"
  if [[ $content =~ $pattern ]]; then
    gtid=${BASH_REMATCH[1]//[[:space:]]/}
    return 0
  fi
  # The backup tools write the file/position form instead when the donor's replication position is
  # empty (it has applied nothing yet). Then its own binlog GTID position is the same (replicas log every
  # applied transaction and never write themselves): empty, or what it logged since.
  log "$BACKUP_REPLICA_INFO_FILE has no $REPLICA_INFO_GTID_VARIABLE; using $BACKUP_BINLOG_INFO_FILE"
  gtid_from_binlog_info
}

record_gtid() { # sets gtid from the position file of the donor's role
  if ((donor == 0)); then
    gtid_from_binlog_info || return 1
  else
    gtid_from_replica_info || return 1
  fi
  if ! valid_gtid "$gtid"; then
    reason="sent a backup with an unreadable GTID position"
    return 1
  fi
}

prepare_backup() {
  local prepare_log=$RUN_DIR/clone-prepare.log
  if ! "$BACKUP_BIN" --no-defaults --prepare --target-dir="$work" >"$prepare_log" 2>&1; then
    log "$BACKUP_BIN --prepare failed; its last lines:"
    tail -n 20 "$prepare_log" >&2
    reason="sent a backup that does not prepare"
    return 1
  fi
  if ! grep -q "^backup_type = $BACKUP_PREPARED_TYPE\$" "$work/$BACKUP_CHECKPOINTS_FILE"; then
    reason="sent a backup that is not $BACKUP_PREPARED_TYPE after --prepare"
    return 1
  fi
}

clone_once() {
  stream_backup && check_backup && record_gtid && prepare_backup
}

if [[ -e $work ]]; then
  log "discarding $work left by an interrupted clone; cloning again"
fi
log "cloning $POD_NAME from ordinal $donor ($peer) with $BACKUP_BIN"
for ((attempt = 1; ; attempt++)); do
  rm -rf "$work"
  mkdir -m 0750 "$work"
  if clone_once; then
    break
  fi
  if ((attempt >= retries)); then
    die "peer $peer $reason; giving up after $attempt attempts (the pod restarts and tries again)"
  fi
  log "peer $peer $reason, retry $attempt/$retries in ${delay}s"
  sleep "$delay"
done

rm -f "$work/auto.cnf" "$work/$STREAM_COMPLETE_MARKER"
# The position file is written before data/ appears: a crash in between leaves no data/, so the clone is
# redone and the file rewritten; a data/ from a clone always has its position next to it until applied.
write_file_atomically "$gtid_file" 0600 "# GTID position of the clone of $POD_NAME from ordinal $donor ($peer),
# recorded by clone.sh; sidecar.sh applies it before replication first starts, then deletes this file.
gtid=$gtid"
sync
mv "$work" "$data"
sync "$DATA_ROOT"
rm -f "$RUN_DIR"/clone-*.log
log "complete after $attempt attempt(s): $data is a prepared copy of ordinal $donor at GTID position '$gtid'"
