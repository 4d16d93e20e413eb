#!/usr/bin/env bash
# Init container `clone` (backup image), and the sidecar (backup image) when a replica's data/ was set aside
# for a re-clone while the pod runs (reclone.sh). On a replica (ordinal > 0) without $DATA_ROOT/data: streams a
# physical backup from a donor chosen when it clones (donor.sh: the primary, or a ready replica, the most
# advanced first; a busy or unfit donor is passed over at once) into $DATA_ROOT/.clone-tmp (on the primary
# without data, bootstrap.sh decides: initialise on the cluster's first start, else re-seed from the most
# advanced replica through the same clone), and accepts it only when
#   - the transport and the extraction both succeeded (pipefail: an empty, refused or cut stream fails),
#   - the stream ends with the donor's completion marker (appended only after its backup tool succeeded),
#   - the backup's checkpoints, info and position files are present,
#   - the backup prepares successfully;
# then removes auto.cnf (each clone gets its own server_uuid), records the clone's GTID position next to
# data/ (written atomically; the sidecar applies and consumes it) and renames .clone-tmp to data/.
# A failed attempt is logged with its reason and retried (donor.sh: at once with another donor when none was
# started, with exponential backoff after a backup that failed); a full volume here is named as this pod's,
# not the donor's; a leftover .clone-tmp is discarded and redone.
#
# Optional environment: see donor.sh (CLONE_DONORS, CLONE_RETRIES, CLONE_RETRY_DELAY, CLONE_RETRY_MAX_DELAY,
# CLONE_POLL_INTERVAL, CLONE_WAIT_TIMEOUT); CLONE_IDLE_TIMEOUT (1800 s without a byte from the donor ends the
# attempt). Flavors seeded by the CLONE plugin (SEEDING=clone-plugin) hand over to clone-plugin.sh, which
# chooses donors the same way.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=transport.sh
source "$(dirname "${BASH_SOURCE[0]}")/transport.sh"
# shellcheck source-path=SCRIPTDIR source=donor.sh
source "$(dirname "${BASH_SOURCE[0]}")/donor.sh"

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

idle_timeout=${CLONE_IDLE_TIMEOUT:-1800}
require_number idle_timeout
donor=
if ((ORDINAL == 0)); then
  # The primary without data: initialise (first start only) or re-seed from a replica (bootstrap.sh).
  # shellcheck source-path=SCRIPTDIR source=bootstrap.sh
  source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
  bootstrap_primary
  export CLONE_FIXED_DONOR=$donor # the re-seed's one donor, for this script or clone-plugin.sh
fi
if [[ ${SEEDING:-} == clone-plugin ]]; then # MySQL 9.7: the donor's server clones itself, over its own port
  exec bash "$(dirname "${BASH_SOURCE[0]}")/clone-plugin.sh"
fi
require_env REPLICATION_USER MYSQL_REPLICATION_PASSWORD # donor.sh ranks the replicas by their GTID sets

reason= # why the last attempt failed, for the log line
gtid=   # the GTID position of the accepted backup

stream_backup() { # donor -> $work; status 1: no backup was started, 2: one was and failed; sets reason
  local transport_log=$RUN_DIR/clone-transport.log extract_log=$RUN_DIR/clone-extract.log
  local -a status
  # transport.sh: mutual TLS with the backup password's credential; on failure its last line is the reason.
  # Given this volume, it refuses a backup the donor announces as larger than the space left here.
  if CLONE_IDLE_TIMEOUT=$idle_timeout transport_fetch "$peer_host" "$peer_port" "$DATA_ROOT" \
    2>"$transport_log" | "$STREAM_BIN" -x -C "$work" 2>"$extract_log"; then
    return 0
  fi
  status=("${PIPESTATUS[@]}")
  if mentions_full_disk "$extract_log"; then # the cause is here, whatever the transport saw after it
    rm -rf "$work"
    reason=$(volume_full_reason "$(transport_announced_kib)")
    return 2
  fi
  if ((status[0] != 0)); then
    reason=$(tail -n 1 "$transport_log")
    return "${status[0]}"
  fi
  reason="sent a truncated or corrupt stream ($STREAM_BIN: $(tail -n 1 "$extract_log"))"
  return 2
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
    if mentions_full_disk "$prepare_log"; then
      rm -rf "$work"
      reason=$(volume_full_reason "$(transport_announced_kib)")
    else
      reason="sent a backup that does not prepare"
    fi
    return 1
  fi
  if ! grep -q "^backup_type = $BACKUP_PREPARED_TYPE\$" "$work/$BACKUP_CHECKPOINTS_FILE"; then
    reason="sent a backup that is not $BACKUP_PREPARED_TYPE after --prepare"
    return 1
  fi
}

clone_from() { # <ordinal>: one attempt (status as donor.sh's clone_from_donors expects)
  donor=$1 peer_host=$(pod_host "$1") peer_port=$(peer_clone_port "$1")
  require_number peer_port
  peer="$peer_host:$peer_port"
  rm -rf "$work"
  mkdir -m 0750 "$work"
  local rc=0
  stream_backup || rc=$?
  ((rc == 0)) || return "$rc"
  check_backup && record_gtid && prepare_backup && return 0
  return 2 # a backup arrived and is unusable: the donor worked for it, back off
}

if [[ -e $work ]]; then
  log "discarding $work left by an interrupted clone; cloning again"
fi
log "cloning $POD_NAME from ${CLONE_FIXED_DONOR:+ordinal }${CLONE_FIXED_DONOR:-the first ready donor} with $BACKUP_BIN"
transport_recipient_credentials || log "could not make the clone credential yet; each attempt tries again"
clone_from_donors clone_from
donor=$CLONED_FROM

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
log "complete after $CLONE_ATTEMPTS attempt(s): $data is a prepared copy of ordinal $donor ($peer) at GTID position '$gtid'"
