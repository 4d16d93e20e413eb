#!/usr/bin/env bash
# Probes of the `mysql` container: `bash probe.sh startup|liveness|readiness`. Prints one line saying why
# it passes or fails; exits 0 when it passes.
#   startup, liveness: the server answers a ping on its socket (an "access denied" answer counts: a
#     rotated password must not get a healthy server killed).
#   readiness: the server runs queries as root; on a replica also: read-only, the applier (SQL thread)
#     running (or paused, without an error, by the sidecar re-pointing replication for a new password: at
#     most APPLIER_PAUSE_SECONDS), and its data fresh, which either of two proofs shows:
#     - the newest heartbeat it applied (heartbeat.sh) is no older than MAX_LAG_SECONDS (default 60). This
#       one holds while the primary is away: a replica whose receiver (IO thread) is down keeps serving
#       reads until its data is too old;
#     - its receiver is connected to the primary and its applier has applied everything the receiver
#       received (SQL_CAUGHT_UP, waiting at most CATCH_UP_WAIT_SECONDS): the replica is as fresh as its
#       primary, whatever the heartbeat says. The heartbeat is written by the primary's `backup` sidecar,
#       and reads must not depend on that container (issue 15, defect 6). "Connected" is honest within
#       the bound: a receiver that hears nothing from the primary for half of MAX_LAG_SECONDS reconnects
#       (lib.sh receiver_timeout), so a primary that stopped answering without closing the connection
#       leaves its replicas to the heartbeat's age in time.
#     Without a heartbeat yet and not caught up (a cluster whose primary has not written one), both threads
#     must run and the lag be known and <= MAX_LAG_SECONDS. A broken, stopped or lagging replica leaves the
#     read Service; it stays alive. So does a replica that does not apply everything its primary sends (a
#     replication filter, a skip, a lenient applier, another source: faithful.sh), whatever its freshness. So does a replica whose re-clone the sidecar refused (the reason from
#     $RUN_DIR/reclone-refused) or whose data/ is being cloned.
#   Known limit of the second proof: a receiver that reconnects after an absence and streams the backlog
#   more slowly than its applier applies it is caught up with what it received at each instant, so it counts
#   as fresh while the rest of the backlog is on its way (the applier is usually the slower: then it is not
#   caught up, and the heartbeat decides).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=heartbeat.sh
source "$(dirname "${BASH_SOURCE[0]}")/heartbeat.sh"
# shellcheck source-path=SCRIPTDIR source=faithful.sh
source "$(dirname "${BASH_SOURCE[0]}")/faithful.sh"

fail() { # <reason...>: one line, no secrets
  printf 'not ready: %s\n' "$(one_line "$(redact "$*")")"
  exit 1
}

caught_up() { # <SHOW REPLICA STATUS output>: the applier applied everything the receiver received, or does
  # within CATCH_UP_WAIT_SECONDS
  local received answer
  received=$(field "$1" "$RECEIVED_GTID_COLUMN") || received=
  answer=$(render_sql "$SQL_CAUGHT_UP" RECEIVED="$(sql_literal "$received")" SECONDS="$CATCH_UP_WAIT_SECONDS" |
    run_sql "$root" 2>/dev/null) || return 1
  [[ $answer == 0 ]]
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
((ORDINAL > 0)) && query+=$'\n'"$(faithful_query)"
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
# A filter, a skip or another source: data that may differ from the primary's, whatever its freshness.
if reason=$(unfaithful "$output"); then
  fail "$reason"
fi
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
if ! age=$(heartbeat_age "$root"); then
  age=
else
  # The applied heartbeat's age is the data's age, whether or not the primary is reachable.
  if ((${age%.*} < max_lag)) || [[ ${age%.*} == "$max_lag" && ${age#*.} == 0 ]]; then
    if [[ $io != Yes ]]; then
      printf 'ready: replica of %s:%s, primary not connected (%s), data %ss old <= %ss%s\n' "$host" "$port" \
        "$(one_line "$(redact "$io_state")")" "$age" "$max_lag" "$paused"
    else
      printf 'ready: replica of %s:%s, data %ss old <= %ss%s\n' "$host" "$port" "$age" "$max_lag" "$paused"
    fi
    exit 0
  fi
fi
behind=
if [[ $io == Yes && $sql == Yes ]]; then
  if caught_up "$output"; then
    # As fresh as the primary; a heartbeat this old means the primary's sidecar has stopped writing it.
    heartbeat="no heartbeat applied yet"
    [[ -n $age ]] && heartbeat="newest heartbeat applied ${age}s old: the primary's sidecar is not writing it"
    printf 'ready: replica of %s:%s, connected and caught up with everything it received (%s)\n' "$host" \
      "$port" "$heartbeat"
    exit 0
  fi
  behind="; the applier has not applied everything it received within ${CATCH_UP_WAIT_SECONDS}s"
fi
[[ -z $age ]] ||
  fail "data is ${age}s old (newest heartbeat applied), more than MAX_LAG_SECONDS=${max_lag}s ($io_state$behind)"
[[ -z $paused ]] || fail "replication is paused and no heartbeat was applied yet ($io_state)"
[[ $io == Yes ]] || fail "replication IO thread is not running and no heartbeat was applied yet ($io_state)"
[[ $lag =~ ^[0-9]+$ ]] || fail "replication lag is unknown ($LAG_COLUMN=$lag)"
((lag <= max_lag)) || fail "replication lag ${lag}s exceeds MAX_LAG_SECONDS=${max_lag}s"
printf 'ready: replica of %s:%s, lag %ss <= %ss\n' "$host" "$port" "$lag" "$max_lag"
