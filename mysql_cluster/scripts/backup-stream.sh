#!/usr/bin/env bash
# Run by the sidecar's socat for each connection to $CLONE_PORT (transport.sh), with stdout connected to the
# peer: streams a consistent physical backup of the local server (xbstream format; on a replica with its
# replication position, --slave-info), then, only if the backup tool succeeded, a second tiny stream holding
# the completion marker file. A receiver that does not find the marker rejects the clone (clone.sh).
# Concurrent connections each run their own backup.
#   bash backup-stream.sh check: whether this pod may be cloned now, asked before a backup slot is taken:
#     status 0 and the size of a copy in KiB on stdout (the datadir without binary, relay and redo logs), or
#     status 1 and the reason. A donor is ready by its own readiness probe (probe.sh: on a replica read-only,
#     applier running, data no older than MAX_LAG_SECONDS; while its primary is away, not required) and, on
#     a replica, a faithful copy (donor_unfit); and its data takes the Secret's root password (no password
#     rotation on its way to it).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=faithful.sh
source "$(dirname "${BASH_SOURCE[0]}")/faithful.sh"

mode=${1:-stream}
[[ $mode == stream || $mode == check ]] || die "usage: backup-stream.sh [check]"
require_env CLUSTER_CONFIG_DIR SERVER_CONF_DIR RUN_DIR
parse_ordinal
load_flavor

peer="${SOCAT_PEERADDR:-unknown}:${SOCAT_PEERPORT:-?}"

errant() { # prints why this replica must not be cloned if it holds errant transactions (status 1: none)
  local own
  own=$(run_sql "$options" <<<"$SQL_OWN_TRANSACTIONS" 2>&1) && [[ $own == 1 ]] || return 1
  printf 'it holds errant transactions (written on this replica, not replicated from the primary): a '
  printf 'clone would spread them; clone it again or remove them'
}

donor_unfit() { # prints why this replica must not be cloned (status 1: it may be)
  local status errno sql
  # Errant transactions first: they are the reason that never goes away by itself.
  errant && return 0
  if ! status=$(query_vertical "$options" "$(faithful_query)" 2>&1); then
    printf 'its replication state cannot be read: %s' "$(one_line "$(redact "$status")")"
    return 0
  fi
  # Then what makes it drop or bend what it receives: a copy of it is not the primary's data, and seeding a
  # lost primary from it would make that the cluster's (checked here whether or not the primary is away).
  unfaithful "$status" && return 0
  errno=$(field "$status" "$LAST_IO_ERRNO_COLUMN") || errno=0
  sql=$(field "$status" "$SQL_RUNNING_COLUMN") || sql=No
  if [[ $errno == "$SOURCE_PURGED_ERRNO" ]]; then
    printf 'it cannot catch up with the primary (IO error %s): its data may be stale or diverged' "$errno"
  elif [[ $sql != Yes ]]; then
    printf 'its applier is stopped (%s=%s): its data may be incomplete' "$SQL_RUNNING_COLUMN" "$sql"
  else
    return 1
  fi
}

copy_size_kib() { # what a copy of the datadir needs, about: its files without binary, relay and redo logs
  local size
  size=$(du -sk --exclude='*-bin.[0-9]*' --exclude='binlog.[0-9]*' --exclude='ib_logfile*' \
    --exclude='#innodb_redo' "$DATA_ROOT/data" 2>/dev/null | cut -f1) || true
  printf '%s' "${size:-}"
}

primary_away() { # this replica's receiver is not connected to the primary (status 0)
  local status io
  status=$(query_vertical "$options" "$SQL_SHOW_REPLICA_STATUS" 2>/dev/null) || return 1
  io=$(field "$status" "$IO_RUNNING_COLUMN") || return 1
  [[ $io != Yes ]]
}

if [[ $mode == check ]]; then
  # Ready: the very probe the kubelet runs (read-only, applier running, data fresh), as root@localhost.
  # While the primary is away a replica's data ages past MAX_LAG_SECONDS and it turns not ready; then the
  # faithful-copy checks alone decide (below): re-seeding a lost primary needs exactly such a donor, and a
  # new replica could not replicate meanwhile anyway.
  options=$(root_option_file)
  # Errant transactions are named before anything else: they often stop the applier too (the primary's
  # next write meets the errant row), and "not ready" would hide the cause that never goes away by itself.
  if ((ORDINAL > 0)) && reason=$(errant); then
    printf '%s\n' "$reason"
    exit 1
  fi
  if ! answer=$(bash "$CLUSTER_CONFIG_DIR/probe.sh" readiness 2>&1) && { ((ORDINAL == 0)) || ! primary_away; }; then
    printf 'it is not ready (%s)\n' "$(one_line "${answer#not ready: }")"
    exit 1
  fi
  # A copy of data that refuses the Secret's root password would lock its recipient out: a new pod knows
  # only the Secret's passwords, and remembers none for data it has never opened (lib.sh root_option_file).
  # So wait until the rotation reached this donor: the primary's sidecar applies it within a check of
  # seeing the new Secret, replicas receive it by replication. Not while the primary is away: re-seeding a
  # lost primary needs such a donor, and the primary's server applies the Secret's passwords as it starts.
  if secret_root_password_refused && { ((ORDINAL == 0)) || ! primary_away; }; then
    printf 'its data does not take the Secret'"'"'s root password yet (a password rotation is on its way to '
    printf 'it): its copy would refuse its recipient\n'
    exit 1
  fi
  if ((ORDINAL > 0)); then
    if reason=$(donor_unfit); then
      printf '%s\n' "$reason"
      exit 1
    fi
  fi
  require_env DATA_ROOT
  printf '%s\n' "$(copy_size_kib)"
  exit 0
fi

require_env BACKUP_USER MYSQL_BACKUP_PASSWORD
work=$(mktemp -d "$RUN_DIR/backup.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The backup tool reads the server's own options (datadir, InnoDB layout) and the backup user's credentials.
options=$(client_option_file backup "$BACKUP_USER" "$MYSQL_BACKUP_PASSWORD" "$(server_socket)" \
  "$SERVER_CONF_DIR/my.cnf")
args=(--defaults-file="$options" --backup --stream=xbstream --target-dir="$work/target")
((ORDINAL > 0)) && args+=("$BACKUP_REPLICA_INFO_OPTION")

# A replica serves a clone only while it is a faithful copy of the primary's history (checked again here:
# its state may have changed since the check that preceded the slot).
if ((ORDINAL > 0)) && reason=$(donor_unfit); then
  log "refusing to serve a backup to $peer: $reason"
  exit 1
fi
log "streaming a backup of $POD_NAME to $peer"
if ! "$BACKUP_BIN" "${args[@]}" 2>"$work/backup.log"; then
  log "$BACKUP_BIN failed for $peer (the receiver will reject the stream); its last lines:"
  tail -n 20 "$work/backup.log" >&2
  exit 1
fi
mkdir "$work/marker"
printf 'backup of %s completed\n' "$POD_NAME" >"$work/marker/$STREAM_COMPLETE_MARKER"
(cd "$work/marker" && "$STREAM_BIN" -c "$STREAM_COMPLETE_MARKER")
log "streamed a complete backup to $peer"
