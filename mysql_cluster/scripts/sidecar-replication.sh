# shellcheck shell=bash
# Sourced by sidecar.sh (never run): a replica's replication. Configured idempotently on every start of the
# sidecar and after every restart of its server (a fresh clone's position applied, the source pointed at the
# primary with GTID auto-positioning, replication started), re-pointed when the replication password
# changes, and left alone while a person has paused it. Uses sidecar.sh's globals: root (the root option
# file), and the functions of lib.sh.
#
# Who stopped replication (issue 15, defect 8). The server never starts replication (skip_replica_start):
# after every start of the server it is stopped, and the sidecar starts it. Once it has run on a server, a
# clean stop (no error) is the sidecar's own (a re-point: STOP, CHANGE ... TO, START) or a person's pause
# (STOP REPLICA, or one thread of it). Three files in $RUN_DIR (the pod's emptyDir: they outlive a container's
# restart, not the pod) tell them apart:
#   server-run             written by server.sh at every start of the server (server_run_file): that start's
#                          token (bash's EPOCHREALTIME and server.sh's pid), exact where now - Uptime is not;
#   replication-ran        the server-run token of the server on which replication last ran (the sidecar
#                          started it, or saw it running);
#   replication-repointing written by the sidecar before its own STOP, naming the threads it starts again
#                          ("io sql", "io"); removed once it has.
# A thread stopped cleanly runs again when the sidecar stopped it itself (the mark names it: a sidecar
# killed between its STOP and its START), or when replication has not run on this server (another token: the
# server restarted, or the pod is new). Otherwise a person stopped it: it stays stopped, across restarts of
# the sidecar and password rotations, until someone starts it or the server restarts; the readiness probe
# keeps the replica out of the read Service meanwhile (its applier does not run). A thread stopped on an
# error is no pause: the sidecar's start re-points and starts it.
# shellcheck disable=SC2154 # root: set by sidecar.sh before it sources this file

primary_host=$(pod_host 0)
primary_port=${PRIMARY_PORT:-$MYSQL_PORT}
require_number primary_port

# The digest of the replication password the last CHANGE ... TO gave the server (private, in $RUN_DIR).
replication_digest_file=$RUN_DIR/replication-password-configured
replication_ran_file=$RUN_DIR/replication-ran
repointing_file=$RUN_DIR/replication-repointing

# ---------------------------------------------------------------------------------- pauses --

server_run() { # the token of the running server's start (server.sh); empty when unknown
  local file
  file=$(server_run_file)
  [[ -r $file ]] && cat "$file"
  return 0
}

threads_to_run() { # <io> <sql> <io errno> <sql errno> <server run>: prints the threads that must run
  # ("io sql", "io", "sql" or nothing) by the rules in the header; the thread states are the status row's
  # (a receiver that is "Connecting" runs).
  local io=$1 sql=$2 io_errno=$3 sql_errno=$4 run=$5 ran='' marked='' wanted='' new_run=false
  [[ -r $replication_ran_file ]] && ran=$(<"$replication_ran_file")
  [[ -r $repointing_file ]] && marked=" $(<"$repointing_file") "
  [[ -z $run || $ran != "$run" ]] && new_run=true
  if [[ $io != No || $io_errno != 0 || $marked == *" io "* ]] || $new_run; then wanted=io; fi
  if [[ $sql != No || $sql_errno != 0 || $marked == *" sql "* ]] || $new_run; then wanted+="${wanted:+ }sql"; fi
  printf '%s' "$wanted"
}

running_threads() { # <io> <sql>: the threads that run, in the form threads_to_run prints
  local running=''
  [[ $1 != No ]] && running=io
  [[ $2 != No ]] && running+="${running:+ }sql"
  printf '%s' "$running"
}

thread_names() { # <threads>: how the logs name them
  case $1 in
    "io sql") printf 'replication (receiver and applier)' ;;
    io) printf 'the receiver (IO thread)' ;;
    sql) printf 'the applier (SQL thread)' ;;
    *) printf 'nothing' ;;
  esac
}

note_replication_ran() { # <server run>: replication ran on that server
  [[ -n $1 ]] || return 0
  [[ -r $replication_ran_file && $(<"$replication_ran_file") == "$1" ]] && return 0
  write_file_atomically "$replication_ran_file" 0644 "$1"
}

# ---------------------------------------------------------------------------- replication --

change_source_sql() {
  render_sql "$SQL_CHANGE_SOURCE" \
    SOURCE_HOST="$(sql_literal "$primary_host")" \
    SOURCE_PORT="$primary_port" \
    REPLICATION_USER="$(sql_literal "$REPLICATION_USER")" \
    REPLICATION_PASSWORD="$(sql_literal "$MYSQL_REPLICATION_PASSWORD")" \
    HEARTBEAT_PERIOD="$(receiver_heartbeat_period)"
}

remember_replication_password() { # after a CHANGE ... TO with the current replication password
  write_file_atomically "$replication_digest_file" 0600 "$(password_digest "$MYSQL_REPLICATION_PASSWORD")"
}

enforce_read_only() { # every replica is read-only, whatever happened before
  run_sql_quietly "$root" "making the server read-only" <<<"$SQL_ENFORCE_READ_ONLY"
}

start_threads() { # <threads> <server run>: starts them ("io sql": both; none: nothing) on that server
  local statement
  case $1 in
    "io sql") statement=$SQL_START_REPLICA ;;
    io) statement=$SQL_START_RECEIVER ;;
    sql) statement=$SQL_START_APPLIER ;;
    *) return 0 ;;
  esac
  run_sql_quietly "$root" "starting replication ($1)" <<<"$statement" || return 1
  # The token read before the START: were the server to restart in between, the record names the old one,
  # and the new server's stopped replication is started again rather than taken for a pause.
  note_replication_ran "$2"
}

repoint() { # <threads> <what>: STOP, CHANGE ... TO the primary with the current password, START <threads>
  local threads=$1 run
  run=$(server_run)
  # Marked first: a sidecar killed from here on leaves stopped threads that its successor starts again.
  [[ -z $threads ]] || write_file_atomically "$repointing_file" 0644 "$threads"
  printf '%s\n' "$SQL_LITERAL_MODE" "$SQL_STOP_REPLICA" "$(change_source_sql)" | run_sql_quietly "$root" "$2" ||
    return 1
  remember_replication_password
  start_threads "$threads" "$run" || return 1
  rm -f "$repointing_file"
}

point_at_primary() { # points replication at the primary with GTID auto-positioning and starts it
  repoint "io sql" "pointing replication at $primary_host:$primary_port"
}

apply_clone_position() { # <gtid file>: the crash-safe first configuration of a fresh clone
  # Order: (1) forget any source the donor's tables carried, set the GTID position, point at the primary;
  # (2) delete the file; (3) start replication. A crash before (2) repeats (1) with the same position:
  # harmless, nothing was applied since replication never started. A crash after (2) finds no file and the
  # position persisted in the server. Replication never starts while the file exists, so no event is
  # ever applied twice. A fresh clone's server has never replicated: a crash before (3) is no pause.
  local file=$1 content gtid run
  run=$(server_run)
  content=$(<"$file")
  [[ $content =~ (^|$'\n')gtid=([0-9A-Za-z:,_-]*)($'\n'|$) ]] || die "replication: $file has no valid gtid= line"
  gtid=${BASH_REMATCH[2]}
  log "replication: applying the clone's GTID position '$gtid' and pointing at $primary_host:$primary_port"
  if ! printf '%s\n' "$SQL_LITERAL_MODE" "$SQL_STOP_REPLICA" "$SQL_RESET_REPLICA_ALL" \
    "$(render_sql "$SQL_APPLY_GTID_POSITION" GTID_POSITION="$(sql_literal "$gtid")")" "$(change_source_sql)" |
    run_sql_quietly "$root" "applying the clone position"; then
    enforce_read_only || true
    return 1
  fi
  enforce_read_only || return 1
  remember_replication_password
  rm -f "$file"
  sync "$DATA_ROOT"
  log "replication: clone position applied and $file consumed"
  start_threads "io sql" "$run"
}

configure_replication() { # idempotent; run on every start of the sidecar and after a server restart
  local gtid_file status host port user auto io sql io_errno sql_errno run wanted running
  gtid_file=$(clone_gtid_file)
  enforce_read_only || return 1
  if [[ -f $gtid_file ]]; then
    apply_clone_position "$gtid_file"
    return
  fi
  run=$(server_run)
  status=$(query_vertical "$root" "$SQL_SHOW_REPLICA_STATUS" 2>&1) || {
    log "replication: $SQL_SHOW_REPLICA_STATUS failed: $(redact "$status")"
    return 1
  }
  if [[ -z $status ]]; then
    log "replication: no source configured; pointing at $primary_host:$primary_port"
    point_at_primary
    return
  fi
  host=$(field "$status" "$SOURCE_HOST_COLUMN") || true
  port=$(field "$status" "$SOURCE_PORT_COLUMN") || true
  user=$(field "$status" "$SOURCE_USER_COLUMN") || true
  auto=$(field "$status" "$AUTO_POSITION_COLUMN") || true
  if [[ $host != "$primary_host" || $port != "$primary_port" || $user != "$REPLICATION_USER" ||
    $auto != "$AUTO_POSITION_VALUE" ]]; then
    log "replication: source is $user@$host:$port ($AUTO_POSITION_COLUMN=$auto); re-pointing at" \
      "$REPLICATION_USER@$primary_host:$primary_port with GTID auto-positioning"
    point_at_primary
    return
  fi
  io=$(field "$status" "$IO_RUNNING_COLUMN") || true
  sql=$(field "$status" "$SQL_RUNNING_COLUMN") || true
  io_errno=$(field "$status" "$LAST_IO_ERRNO_COLUMN") || io_errno=0
  sql_errno=$(field "$status" "$LAST_SQL_ERRNO_COLUMN") || sql_errno=0
  wanted=$(threads_to_run "$io" "$sql" "$io_errno" "$sql_errno" "$run")
  running=$(running_threads "$io" "$sql")
  if [[ $running == "io sql" ]]; then
    log "replication: already replicating from $primary_host:$primary_port ($IO_RUNNING_COLUMN=$io," \
      "$SQL_RUNNING_COLUMN=$sql); nothing to change"
    note_replication_ran "$run"
    rm -f "$repointing_file" # a sidecar killed after its START
    [[ -f $replication_digest_file ]] || remember_replication_password
    return 0
  fi
  if [[ $wanted == "$running" ]]; then
    rm -f "$repointing_file" # whatever the sidecar had stopped runs
    log "replication: stopped by hand on this server ($IO_RUNNING_COLUMN=$io, $SQL_RUNNING_COLUMN=$sql, no" \
      "error): left so until someone starts it (${SQL_START_REPLICA%;}) or the server restarts"
    return 0
  fi
  # Re-issued rather than only started: the password stored with the source may predate a rotation.
  log "replication: configured for $primary_host:$primary_port but not running ($IO_RUNNING_COLUMN=$io," \
    "$SQL_RUNNING_COLUMN=$sql); starting it with the current password (pointing it again; starting" \
    "$(thread_names "$wanted"))"
  repoint "$wanted" "pointing replication at $primary_host:$primary_port"
}

configure_until_done() { # retries: the server may restart or refuse while it starts up
  local attempt
  for ((attempt = 1; attempt <= 30; attempt++)); do
    configure_replication && return 0
    log "replication: configuration attempt $attempt/30 failed; retrying in 5s"
    sleep 5
  done
  die "replication: could not configure replication (the container restarts and tries again)"
}

# ------------------------------------------------------------------------------- rotation --

# ER_ACCESS_DENIED_ERROR, the same number on every flavor: a replica whose source refuses its password.
access_denied_errno=1045
rotation_notice=
# Logged once the new replication password is in use (the line above it only says the re-point began).
repointed_notice="replication: re-pointed with the new replication password"

rotate_replication_password() { # <io> <io errno> <sql> <threads to run> <server run>: re-points with a new
  # replication password; the threads run afterwards as they should (a person's pause stays)
  local io=$1 io_errno=$2 sql=$3 wanted=$4 run=$5 recorded='' current options restart=''
  current=$(password_digest "$MYSQL_REPLICATION_PASSWORD")
  [[ -r $replication_digest_file ]] && recorded=$(<"$replication_digest_file")
  [[ $recorded != "$current" || ($io != Yes && $io_errno == "$access_denied_errno") ]] || return 0
  # Only once the primary accepts it: re-pointing earlier would cut replication until it does.
  options=$(tcp_option_file rotation "$REPLICATION_USER" "$MYSQL_REPLICATION_PASSWORD" "$primary_host" \
    "$primary_port")
  if ! server_answers "$options"; then
    if [[ $rotation_notice != "$current" ]]; then
      log "replication: the Secret's replication password is not accepted by the primary yet; keeping" \
        "the current connection until it is"
      rotation_notice=$current
    fi
    return 0
  fi
  log "replication: the replication password changed; pointing replication again with the new one"
  # Every replica re-points within seconds of the others: none may leave the read Service for it.
  if [[ -n $SQL_CHANGE_SOURCE_CREDENTIALS ]]; then
    # Only the receiver stops; the applier goes on applying what was received (probe.sh: ready). The
    # receiver starts again unless a person stopped it.
    if [[ " $wanted " == *" io "* ]]; then
      restart=$SQL_START_RECEIVER
      write_file_atomically "$repointing_file" 0644 "io"
    fi
    if printf '%s\n' "$SQL_LITERAL_MODE" "$SQL_STOP_RECEIVER" "$(render_sql "$SQL_CHANGE_SOURCE_CREDENTIALS" \
      REPLICATION_USER="$(sql_literal "$REPLICATION_USER")" \
      REPLICATION_PASSWORD="$(sql_literal "$MYSQL_REPLICATION_PASSWORD")")" "$restart" |
      run_sql_quietly "$root" "giving the receiver the new replication password"; then
      remember_replication_password
      [[ -z $restart ]] || note_replication_ran "$run"
      rm -f "$repointing_file"
      log "$repointed_notice"
      return 0
    fi
  fi
  # The flavor stops replication whole to re-point: a running applier's pause is marked for probe.sh.
  [[ $sql == No ]] || write_file_atomically "$RUN_DIR/$APPLIER_PAUSE_FILE_NAME" 0644 "$(date +%s)"
  if repoint "$wanted" "re-pointing replication with the new replication password"; then
    log "$repointed_notice"
  else
    log "replication: re-pointing with the new password failed; retrying at the next check"
  fi
  rm -f "$RUN_DIR/$APPLIER_PAUSE_FILE_NAME"
}
