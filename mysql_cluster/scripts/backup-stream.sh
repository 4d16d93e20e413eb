#!/usr/bin/env bash
# Run by the sidecar's socat for each connection to $CLONE_PORT, with stdout connected to the peer: streams
# a consistent physical backup of the local server (xbstream format; on a replica with its replication
# position, --slave-info), then, only if the backup tool succeeded, a second tiny stream holding the
# completion marker file. A receiver that does not find the marker rejects the clone (clone.sh).
# Concurrent connections each run their own backup.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_env CLUSTER_CONFIG_DIR SERVER_CONF_DIR RUN_DIR BACKUP_USER MYSQL_BACKUP_PASSWORD
parse_ordinal
load_flavor

peer="${SOCAT_PEERADDR:-unknown}:${SOCAT_PEERPORT:-?}"
work=$(mktemp -d "$RUN_DIR/backup.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The backup tool reads the server's own options (datadir, InnoDB layout) and the backup user's credentials.
options=$(client_option_file backup "$BACKUP_USER" "$MYSQL_BACKUP_PASSWORD" "$(server_socket)" \
  "$SERVER_CONF_DIR/my.cnf")
args=(--defaults-file="$options" --backup --stream=xbstream --target-dir="$work/target")
((ORDINAL > 0)) && args+=("$BACKUP_REPLICA_INFO_OPTION")

donor_unfit() { # prints why this replica must not be cloned (status 1: it may be)
  local status errno sql own
  # Errant transactions first: they are the reason that never goes away by itself.
  if own=$(run_sql "$options" <<<"$SQL_OWN_TRANSACTIONS" 2>&1) && [[ $own == 1 ]]; then
    printf 'it holds errant transactions (written on this replica, not replicated from the primary): a '
    printf 'clone would spread them; clone it again or remove them'
    return 0
  fi
  if ! status=$(query_vertical "$options" "$SQL_SHOW_REPLICA_STATUS" 2>&1); then
    printf 'its replication state cannot be read: %s' "$(one_line "$(redact "$status")")"
    return 0
  fi
  errno=$(field "$status" "$LAST_IO_ERRNO_COLUMN") || errno=0
  sql=$(field "$status" "$SQL_RUNNING_COLUMN") || sql=No
  if [[ $errno == "$SOURCE_PURGED_ERRNO" ]]; then
    printf 'it cannot catch up with the primary (IO error %s): it is being cloned again itself' "$errno"
  elif [[ $sql != Yes ]]; then
    printf 'its applier is stopped (%s=%s): its data may be incomplete' "$SQL_RUNNING_COLUMN" "$sql"
  else
    return 1
  fi
}

# A replica serves a clone only while it is a faithful copy of the primary's history.
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
