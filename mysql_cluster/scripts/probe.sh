#!/usr/bin/env bash
# Probes of the `mysql` container: `bash probe.sh startup|liveness|readiness`. Prints one line saying why
# it passes or fails; exits 0 when it passes.
#   startup, liveness: the server answers a ping on its socket (an "access denied" answer counts: a
#     rotated password must not get a healthy server killed).
#   readiness: the server runs queries as root; on a replica also: read-only, the applier (SQL thread)
#     running (or paused, without an error, by the sidecar re-pointing replication for a new password: at
#     most APPLIER_PAUSE_SECONDS), and its data no older than MAX_LAG_SECONDS (default 60), measured by the
#     newest heartbeat it applied (heartbeat.sh). The receiver (IO thread) may be down: while the primary is away a replica
#     keeps serving reads until its data is too old. Without a heartbeat yet (a cluster whose primary has not
#     written one), both threads must run and the lag be known and <= MAX_LAG_SECONDS. A broken, stopped or
#     lagging replica leaves the read Service; it stays alive. So does a replica whose re-clone the sidecar
#     refused (the reason from $RUN_DIR/reclone-refused) or whose data/ is being cloned.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=heartbeat.sh
source "$(dirname "${BASH_SOURCE[0]}")/heartbeat.sh"

fail() { # <reason...>: one line, no secrets
  printf 'not ready: %s\n' "$(one_line "$(redact "$*")")"
  exit 1
}

kind=${1:-}
[[ $kind == startup || $kind == liveness || $kind == readiness ]] ||
  { printf 'usage: probe.sh startup|liveness|readiness\n'; exit 2; }
require_env RUN_DIR MYSQL_ROOT_PASSWORD
parse_ordinal
load_flavor
root=$(root_option_file)

waiting=$(awaiting_data_file)
if [[ -f $waiting ]] && kill -0 "$(<"$waiting")" 2>/dev/null; then
  cloning="waiting for data/, which the backup container clones (the server starts once it is complete)"
else
  cloning=
fi
if [[ $kind != readiness ]]; then
  if [[ -n $cloning ]]; then
    printf 'alive: %s\n' "$cloning"
    exit 0
  fi
  if answer=$("$ADMIN_BIN" --defaults-file="$root" --connect-timeout=5 ping 2>&1); then
    printf 'alive: %s\n' "$(one_line "$answer")"
    exit 0
  fi
  printf 'not alive: %s\n' "$(one_line "$(redact "$answer")")"
  exit 1
fi

max_lag=${MAX_LAG_SECONDS:-60}
require_number max_lag
[[ -z $cloning ]] || fail "$cloning"
# The sidecar refused to clone this replica again, or could not yet prove that it may (reclone.sh).
[[ ! -s $(reclone_refusal_file) ]] || fail "$(<"$(reclone_refusal_file)")"

selects=
for variable in $READ_ONLY_VARIABLES; do
  selects+="${selects:+, }@@global.$variable AS $variable"
done
query="SELECT $selects;"
((ORDINAL > 0)) && query+=$'\n'"$SQL_SHOW_REPLICA_STATUS"
output=$(query_vertical "$root" "$query" 2>&1) || fail "the server does not answer: $output"

if ((ORDINAL == 0)); then
  printf 'ready: primary answers\n'
  exit 0
fi

for variable in $READ_ONLY_VARIABLES; do
  value=$(field "$output" "$variable") || value=missing
  [[ $value == 1 || $value == ON ]] || fail "replica is writable ($variable=$value)"
done
io=$(field "$output" "$IO_RUNNING_COLUMN") || fail "replication is not configured"
sql=$(field "$output" "$SQL_RUNNING_COLUMN") || sql=missing
lag=$(field "$output" "$LAG_COLUMN") || lag=NULL
host=$(field "$output" "$SOURCE_HOST_COLUMN") || host=unknown
port=$(field "$output" "$SOURCE_PORT_COLUMN") || port=unknown
paused=
if [[ $sql != Yes ]]; then
  errno=$(field "$output" "$LAST_SQL_ERRNO_COLUMN") || errno=0
  error=$(field "$output" "$LAST_SQL_ERROR_COLUMN") || error=
  since=
  [[ -r $RUN_DIR/$APPLIER_PAUSE_FILE_NAME ]] && since=$(<"$RUN_DIR/$APPLIER_PAUSE_FILE_NAME")
  # The sidecar re-pointing replication for a new password (seconds), not a stop: ready while data is fresh.
  if [[ $errno == 0 && $since =~ ^[0-9]+$ ]] && (($(date +%s) - since <= APPLIER_PAUSE_SECONDS)); then
    paused=" (applier paused by the sidecar to re-point replication)"
  else
    fail "replication SQL thread is not running ($SQL_RUNNING_COLUMN=$sql; last SQL error $errno: ${error:-none})"
  fi
fi
io_state="$IO_RUNNING_COLUMN=$io"
if [[ $io != Yes ]]; then
  errno=$(field "$output" "$LAST_IO_ERRNO_COLUMN") || errno=0
  error=$(field "$output" "$LAST_IO_ERROR_COLUMN") || error=
  io_state+="; last IO error $errno: ${error:-none}"
fi
if age=$(heartbeat_age "$root"); then
  # The applied heartbeat's age is the data's age, whether or not the primary is reachable.
  ((${age%.*} < max_lag)) || [[ ${age%.*} == "$max_lag" && ${age#*.} == 0 ]] ||
    fail "data is ${age}s old (newest heartbeat applied), more than MAX_LAG_SECONDS=${max_lag}s ($io_state)"
  if [[ $io != Yes ]]; then
    printf 'ready: replica of %s:%s, primary not connected (%s), data %ss old <= %ss%s\n' "$host" "$port" \
      "$(one_line "$(redact "$io_state")")" "$age" "$max_lag" "$paused"
  else
    printf 'ready: replica of %s:%s, data %ss old <= %ss%s\n' "$host" "$port" "$age" "$max_lag" "$paused"
  fi
  exit 0
fi
[[ -z $paused ]] || fail "replication is paused and no heartbeat was applied yet ($io_state)"
[[ $io == Yes ]] || fail "replication IO thread is not running and no heartbeat was applied yet ($io_state)"
[[ $lag =~ ^[0-9]+$ ]] || fail "replication lag is unknown ($LAG_COLUMN=$lag)"
((lag <= max_lag)) || fail "replication lag ${lag}s exceeds MAX_LAG_SECONDS=${max_lag}s"
printf 'ready: replica of %s:%s, lag %ss <= %ss\n' "$host" "$port" "$lag" "$max_lag"
