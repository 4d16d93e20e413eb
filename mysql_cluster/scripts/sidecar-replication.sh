# shellcheck shell=bash
# Sourced by sidecar.sh (never run): a replica's replication. Configured idempotently on every start of the
# sidecar and after every restart of its server (a fresh clone's position applied, the source pointed at the
# primary with GTID auto-positioning, replication started), and re-pointed when the replication password
# changes. Uses sidecar.sh's globals: root (the root option file), and the functions of lib.sh.
# shellcheck disable=SC2154 # root: set by sidecar.sh before it sources this file

# ------------------------------------------------------------------------------- replication --

primary_host=$(pod_host 0)
primary_port=${PRIMARY_PORT:-$MYSQL_PORT}
require_number primary_port

# The digest of the replication password the last CHANGE ... TO gave the server (private, in $RUN_DIR).
replication_digest_file=$RUN_DIR/replication-password-configured

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

start_replication() {
  run_sql_quietly "$root" "starting replication" <<<"$SQL_START_REPLICA"
}

point_at_primary() { # stops replication, points it at the primary with GTID auto-positioning, starts it
  printf '%s\n' "$SQL_LITERAL_MODE" "$SQL_STOP_REPLICA" "$(change_source_sql)" |
    run_sql_quietly "$root" "pointing replication at $primary_host:$primary_port" || return 1
  remember_replication_password
  start_replication
}

apply_clone_position() { # <gtid file>: the crash-safe first configuration of a fresh clone
  # Order: (1) forget any source the donor's tables carried, set the GTID position, point at the primary;
  # (2) delete the file; (3) start replication. A crash before (2) repeats (1) with the same position:
  # harmless, nothing was applied since replication never started. A crash after (2) finds no file and the
  # position persisted in the server. Replication never starts while the file exists, so no event is
  # ever applied twice.
  local file=$1 content gtid
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
  start_replication
}

configure_replication() { # idempotent; run on every start of the sidecar and after a server restart
  local gtid_file status host port user auto io sql
  gtid_file=$(clone_gtid_file)
  enforce_read_only || return 1
  if [[ -f $gtid_file ]]; then
    apply_clone_position "$gtid_file"
    return
  fi
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
  if [[ $io == Yes && $sql == Yes ]]; then
    log "replication: already replicating from $primary_host:$primary_port; nothing to change"
    [[ -f $replication_digest_file ]] || remember_replication_password
    return 0
  fi
  # Re-issued rather than only started: the password stored with the source may predate a rotation.
  log "replication: configured for $primary_host:$primary_port but not running ($IO_RUNNING_COLUMN=$io," \
    "$SQL_RUNNING_COLUMN=$sql); starting it with the current password (pointing it again)"
  point_at_primary
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

rotate_replication_password() { # <IO running> <IO errno>: replica: re-points with a new replication password
  local recorded='' current options
  current=$(password_digest "$MYSQL_REPLICATION_PASSWORD")
  [[ -r $replication_digest_file ]] && recorded=$(<"$replication_digest_file")
  [[ $recorded != "$current" || ($1 != Yes && $2 == "$access_denied_errno") ]] || return 0
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
    # Only the receiver stops; the applier goes on applying what was received (probe.sh: ready). A
    # receiver stopped cleanly (someone's STOP REPLICA) gets the new password and stays stopped.
    local restart=$SQL_START_RECEIVER
    [[ $1 == No && $2 == 0 ]] && restart=
    if printf '%s\n' "$SQL_LITERAL_MODE" "$SQL_STOP_RECEIVER" "$(render_sql "$SQL_CHANGE_SOURCE_CREDENTIALS" \
      REPLICATION_USER="$(sql_literal "$REPLICATION_USER")" \
      REPLICATION_PASSWORD="$(sql_literal "$MYSQL_REPLICATION_PASSWORD")")" "$restart" |
      run_sql_quietly "$root" "giving the receiver the new replication password"; then
      remember_replication_password
      log "$repointed_notice"
      return 0
    fi
  fi
  # The flavor pauses the applier to re-point: the marker tells probe.sh that the pause is this one.
  write_file_atomically "$RUN_DIR/$APPLIER_PAUSE_FILE_NAME" 0644 "$(date +%s)"
  if point_at_primary; then
    log "$repointed_notice"
  else
    log "replication: re-pointing with the new password failed; retrying at the next check"
  fi
  rm -f "$RUN_DIR/$APPLIER_PAUSE_FILE_NAME"
}

# Logged once the new replication password is in use (the line above it only says the re-point began).
repointed_notice="replication: re-pointed with the new replication password"
