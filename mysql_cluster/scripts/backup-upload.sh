#!/usr/bin/env bash
# Takes a full physical backup of the local server and streams it, compressed, into an S3 bucket (s3.sh), then
# writes its manifest LAST: a backup without a manifest is incomplete, whatever else is in the bucket.
#   bash backup-upload.sh          (backup container: the pod's environment, see README.md, plus s3.sh's)
# Objects, under BACKUP_PREFIX (e.g. <namespace>/<cluster>) and the backup's id (BACKUP_ID, default the UTC
# start time and the pod, 20261207T213000Z-mysql-1):
#   <prefix>/<id>/base.<mbstream|tar>.<zst|gz>   MariaDB: mariadb-backup --stream=mbstream, accepted only
#                                               when every stage succeeded and its log says "completed OK";
#                                               MySQL: CLONE LOCAL into $DATA_ROOT/.backup-tmp (the plugin
#                                               writes only to a directory: a full copy is staged there, on
#                                               the data volume), started once on a private server (it must
#                                               start to count; its GTID set is read there), then tar
#   <prefix>/<id>/manifest.json                 flavor, versions, pod, server id and uuid, GTID set and binlog
#                                               position, start and end times, sizes and sha256 of the object
# Compressed with zstd where the image has it, else gzip. Exit 0 and "backup <id> complete" on stderr; any
# failure: status 1, the data object deleted (or its multipart upload aborted), no manifest. One at a time per
# pod (flock on $RUN_DIR/backup-upload.lock): a second is refused.
set -euo pipefail
shopt -s lastpipe
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=s3.sh
source "$(dirname "${BASH_SOURCE[0]}")/s3.sh"
# shellcheck source-path=SCRIPTDIR source=backup-source.sh
source "$(dirname "${BASH_SOURCE[0]}")/backup-source.sh"

require_env CLUSTER_CONFIG_DIR SERVER_CONF_DIR DATA_ROOT RUN_DIR BACKUP_PREFIX
parse_ordinal
load_flavor
s3_init
[[ $BACKUP_PREFIX =~ ^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$ ]] || die "BACKUP_PREFIX='$BACKUP_PREFIX' is not a/b/c"

started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
id=${BACKUP_ID:-$(date -u -d "$started" +%Y%m%dT%H%M%SZ)-$POD_NAME}
[[ $id =~ ^[A-Za-z0-9._-]+$ ]] || die "BACKUP_ID='$id' may hold only letters, digits, '.', '_' and '-'"
if command -v zstd >/dev/null; then
  compression=zstd compress=(zstd -q -c -3 -T0)
else
  compression=gzip compress=(gzip -c -1)
fi
# One backup per pod at a time (a second would remove the first's staged MySQL copy); the kernel releases the
# lock however this script ends.
exec 8>"$RUN_DIR/backup-upload.lock"
flock -n 8 || die "another backup of $POD_NAME is running; not starting a second"
work=$(mktemp -d "$RUN_DIR/backup-upload.XXXXXX")
key='' uploaded=''
finish() { # on any exit before the manifest: nothing of this backup may look complete
  local status=$?
  [[ -n $key ]] && s3_abort_upload "$key"
  [[ -n $uploaded ]] && { s3_delete "$key" || log "could not delete $key: $S3_ERROR"; }
  backup_source_cleanup
  rm -rf "$work"
  exit "$status"
}
trap finish EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

backup_manifest() { # the manifest (JSON) of the backup just uploaded (backup-upload.sh's variables)
  printf '{\n  "format": "mysql-cluster-backup/1",\n  "id": %s,\n' "$(json_string "$id")"
  printf '  "flavor": %s,\n  "version": %s,\n' "$(json_string "$FLAVOR_NAME")" "$(json_string "$FLAVOR_VERSION")"
  printf '  "serverVersion": %s,\n  "pod": %s,\n' "$(json_string "$BACKUP_SERVER_VERSION")" "$(json_string "$POD_NAME")"
  printf '  "serverId": %s,\n  "serverUuid": %s,\n' "$BACKUP_SERVER_ID" "$(json_string "$BACKUP_SERVER_UUID")"
  printf '  "method": %s,\n  "gtidExecuted": %s,\n' "$(json_string "$BACKUP_METHOD")" "$(json_string "$BACKUP_GTID")"
  printf '  "binlogFile": %s,\n  "binlogPosition": %s,\n' "$(json_string "$BACKUP_BINLOG_FILE")" \
    "${BACKUP_BINLOG_POSITION:-null}"
  printf '  "startTime": %s,\n  "endTime": %s,\n' "$(json_string "$started")" "$(json_string "$ended")"
  printf '  "dataBytes": %s,\n  "objects": [\n' "$raw_bytes"
  printf '    {"key": %s, "format": %s, "compression": %s, "bytes": %s, "parts": %s, "sha256": %s}\n  ]\n}\n' \
    "$(json_string "$key")" "$(json_string "$BACKUP_FORMAT")" "$(json_string "$compression")" \
    "$S3_UPLOADED_BYTES" "$S3_PARTS" "$(json_string "$sha256")"
}

backup_source_prepare "$work" # sets BACKUP_FORMAT; MySQL clones here
key=$BACKUP_PREFIX/$id/base.$BACKUP_FORMAT.${compression/gzip/gz}
key=${key/%.zstd/.zst}
log "backing up $POD_NAME ($FLAVOR_NAME $FLAVOR_VERSION) to $S3_ENDPOINT/$S3_BUCKET/$key"

# The stream is hashed and counted on its way (FIFOs), never stored: one part at a time is spooled (s3.sh).
mkfifo "$work/raw.fifo" "$work/compressed.fifo"
wc -c <"$work/raw.fifo" >"$work/raw.bytes" &
raw_counter=$!
sha256sum <"$work/compressed.fifo" >"$work/sha256" &
hasher=$!
S3_ERROR=
set +e # every stage's status is checked below
backup_source_stream "$work" | tee "$work/raw.fifo" | "${compress[@]}" | tee "$work/compressed.fifo" |
  s3_put_stream "$key"
statuses=("${PIPESTATUS[@]}")
set -e
wait "$raw_counter" "$hasher" || die "counting or hashing the stream failed"
[[ -z ${S3_UPLOAD_ID:-} ]] && [[ ${statuses[4]} == 0 ]] && uploaded=1
stages=(the\ backup tee "${compress[0]}" tee the\ upload)
# The last stage that failed first: an upload that fails breaks the pipe of every stage before it.
for i in 4 3 2 1 0; do
  ((statuses[i] == 0)) || die "${stages[i]} failed (status ${statuses[i]}): ${S3_ERROR:-$(backup_source_failure "$work")}"
done
backup_source_succeeded "$work" || die "the backup did not complete: $(backup_source_failure "$work")"

sha256=$(<"$work/sha256") sha256=${sha256%% *}
raw_bytes=$(<"$work/raw.bytes")
((raw_bytes > 0 && S3_UPLOADED_BYTES > 0)) || die "the backup stream was empty"
ended=$(date -u +%Y-%m-%dT%H:%M:%SZ)
manifest=$(backup_manifest)
printf '%s\n' "$manifest" >"$work/manifest.json"
s3_put_file "$BACKUP_PREFIX/$id/manifest.json" "$work/manifest.json" || die "writing the manifest failed: $S3_ERROR"
uploaded='' key=''
log "backup $id complete: $S3_UPLOADED_BYTES bytes ($raw_bytes before $compression) in $S3_PARTS part(s)"
