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
