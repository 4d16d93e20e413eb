# shellcheck shell=bash
# Sourced by sidecar.sh (never run), where it stood: the sidecar's work on the primary's server and on every
# pod's data. The primary's side of a password rotation (ALTER USER, binlogged; the replicas' side is in
# sidecar-replication.sh), the pod-local administrator, the primary forgetting a replication source, and
# the flavor's upgrade step. Uses sidecar.sh's globals: root (the root option file), and the functions of
# lib.sh.
# shellcheck disable=SC2154 # root: set by sidecar.sh before it sources this file

# ------------------------------------------------------------------------------- rotation --

applied_passwords_digest= # primary: the digest of the three passwords it last applied

apply_passwords() { # primary: gives the cluster's accounts the Secret's current passwords
  # ALTER USER is binlogged: every replica receives the new hashes (its root login follows; its replication
  # re-points once it sees the new password, rotate_replication_password). Run once per sidecar start and on
  # every change of the Secret; the same passwords again change nothing but the hashes' salts.
  local digest sql
  digest=$(password_digest "$MYSQL_ROOT_PASSWORD:$MYSQL_REPLICATION_PASSWORD:$MYSQL_BACKUP_PASSWORD")
  [[ $digest != "$applied_passwords_digest" ]] || return 0
  sql=$(render_binlogged_accounts "$SQL_ROTATE_PASSWORDS") || return 1
  printf '%s\n' "$SQL_LITERAL_MODE" "$sql" | run_sql_quietly "$root" "passwords: applying the Secret's passwords" ||
    return 1
  log "passwords: applied the Secret's passwords to root, $REPLICATION_USER and $BACKUP_USER (binlogged:" \
    "the replicas follow)"
  applied_passwords_digest=$digest
  root=$(root_option_file)
}

render_binlogged_accounts() { # <template>: the template with the Secret's passwords, fit for the binary log
  # Where the server writes a statement into its binary log as given (MariaDB), the passwords travel as the
  # hashes it stores ({{ROOT_PASSWORD_HASH}}...), computed first by a SELECT (never logged): no password in
  # clear reaches a binary or relay log, which every replication client reads and every pod keeps until the
  # logs expire (issue 17). Elsewhere the server logs only the hash whatever the statement's form.
  local row hashes=()
  if [[ -n $SQL_PASSWORD_HASHES ]]; then
    row=$(printf '%s\n' "$SQL_LITERAL_MODE" "$(render_account_passwords "$SQL_PASSWORD_HASHES" sql_literal)" |
      run_sql "$root" 2>&1) || {
      log "passwords: hashing the Secret's passwords failed: $(redact "$row")"
      return 1
    }
    IFS=$'\t' read -r -a hashes <<<"$row"
    if ((${#hashes[@]} != 3)) || [[ ${hashes[*]} =~ [^*0-9A-F\ ] ]]; then
      log "passwords: the server's hashes of the Secret's passwords are not what the scripts expect" \
        "(${#hashes[@]} fields)"
      return 1
    fi
  fi
  render_account_passwords "$1" sql_literal \
    ROOT_PASSWORD_HASH="$(sql_literal "${hashes[0]:-}")" \
    REPLICATION_PASSWORD_HASH="$(sql_literal "${hashes[1]:-}")" \
    BACKUP_PASSWORD_HASH="$(sql_literal "${hashes[2]:-}")"
}

accounts_reconciled= # primary: the accounts have what this version of the scripts relies on

reconcile_accounts() { # primary: adds to data initialised by an older version what the scripts now rely on
  # The pod-local administrator (root_option_file) and the replication user's right to read what a replica
  # received (bootstrap.sh ranks replicas by it). Binlogged: every replica receives them, as it received
  # the accounts at its clone. Checked first, so a start with everything present writes nothing to the
  # binary log.
  [[ -z $accounts_reconciled ]] || return 0
  local present user grants
  user=$(sql_literal "$LOCAL_ADMIN_USER")
  present=$(run_sql "$root" <<<"SELECT COUNT(*) FROM mysql.user WHERE User = $user AND Host = 'localhost';" \
    2>/dev/null) || return 1
  if [[ $present == 0 ]]; then
    if run_sql_quietly "$root" "creating the pod-local administrator $LOCAL_ADMIN_USER@localhost" \
      <<<"$SQL_LOCAL_ADMIN"; then
      log "accounts: created the pod-local administrator $LOCAL_ADMIN_USER@localhost (socket authentication," \
        "no password; binlogged: the replicas follow)"
      root=$(root_option_file)
    else
      # MySQL without auth_socket.so (a custom image): the scripts keep logging in as root.
      log "accounts: the scripts keep logging in as root@localhost (with the Secret's password)"
    fi
  fi
  reconcile_backup_account || return 1
  grants=$(run_sql "$root" <<<"SHOW GRANTS FOR $(sql_literal "$REPLICATION_USER")@'%';" 2>/dev/null) || return 1
  if [[ $grants != *"$REPLICATION_MONITOR_GRANTED"* ]]; then
    render_sql "$SQL_REPLICATION_MONITOR_GRANT" REPLICATION_USER="$(sql_literal "$REPLICATION_USER")" |
      run_sql_quietly "$root" "granting $REPLICATION_USER what a re-seed reads" || return 1
    log "accounts: $REPLICATION_USER may now read what a replica received (a re-seed of the primary ranks" \
      "replicas by it; binlogged: the replicas follow)"
  fi
  accounts_reconciled=yes
}

reconcile_backup_account() { # primary: the backup account where this version's seeding looks for it
  # Data initialised by another version may hold it at another host (MySQL 8.4's XtraBackup connected over
  # the socket, backup@localhost; 9.7's CLONE plugin recipients connect over the network, backup@'%'
  # REQUIRE SSL): every clone was refused (1045) and every rotation failed on the missing account. Created
  # with the Secret's password and its grants, the other host's account dropped (nothing uses it any longer);
  # binlogged, so every replica and every later clone has the same.
  local user host elsewhere present sql
  user=$(sql_literal "$BACKUP_USER") host=$(sql_literal "$BACKUP_HOST")
  present=$(run_sql "$root" <<<"SELECT COUNT(*) FROM mysql.user WHERE User = $user AND Host = $host;" \
    2>/dev/null) || return 1
  elsewhere=$(run_sql "$root" <<<"SELECT CONCAT(QUOTE(User), CHAR(64), QUOTE(Host)) FROM mysql.user \
WHERE User = $user AND Host <> $host ORDER BY Host;" 2>/dev/null) || return 1
  [[ $present == 0 || -n $elsewhere ]] || return 0
  sql=$(render_binlogged_accounts "$SQL_BACKUP_ACCOUNT") || return 1
  [[ -z $elsewhere ]] || sql+=$'\n'"DROP USER IF EXISTS ${elsewhere//$'\n'/, };"
  printf '%s\n' "$SQL_LITERAL_MODE" "$sql" |
    run_sql_quietly "$root" "accounts: creating $BACKUP_USER@$BACKUP_HOST" || return 1
  log "accounts: $BACKUP_USER@$BACKUP_HOST created for this version's seeding${elsewhere:+, dropped ${elsewhere//$'\n'/, }}" \
    "(binlogged: the replicas follow)"
}

forget_replication_source() { # the primary replicates from nobody
  # A primary re-seeded from a replica (bootstrap.sh) carries that replica's replication configuration
  # (the CLONE plugin copies it; MariaDB's seed step resets it already). skip_replica_start keeps it stopped,
  # but a START REPLICA would make the primary replicate from itself: remove it.
  local status
  status=$(query_vertical "$root" "$SQL_SHOW_REPLICA_STATUS" 2>&1) || {
    log "replication: $SQL_SHOW_REPLICA_STATUS failed: $(redact "$status")"
    return 1
  }
  [[ -z $status ]] && return 0
  log "replication: this primary has a replication source configured (from the replica it was seeded from," \
    "or set by hand); removing it"
  printf '%s\n' "$SQL_STOP_REPLICA" "$SQL_RESET_REPLICA_ALL" |
    run_sql_quietly "$root" "removing the primary's replication source"
}

run_upgrade_step() { # the flavor's upgrade step; a no-op when the data is already at the server's version
  # A version change rolls the pods replicas first, the primary last: each upgrades its own system tables
  # once its new server runs. Not binary-logged (the tool's default), so replicas gain no transactions.
  [[ -n $UPGRADE_BIN ]] || return 0
  # The tool re-quotes the password it was given for the clients it starts, and a password holding quotes
  # does not survive that: it logs in with a temporary account whose password is hex, created and dropped
  # without binary-logging (no transaction a replica's primary lacks), never on a command line.
  local account=mysql_cluster_upgrade secret options output status=0
  secret=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
  printf '%s\n' "SET SESSION sql_log_bin = 0;" "DROP USER IF EXISTS '$account'@'localhost';" \
    "CREATE USER '$account'@'localhost' IDENTIFIED BY '$secret';" \
    "GRANT ALL PRIVILEGES ON *.* TO '$account'@'localhost' WITH GRANT OPTION;" |
    run_sql_quietly "$root" "upgrade: creating the temporary account" || return 1
  options=$(client_option_file upgrade "$account" "$secret" "$(server_socket)")
  output=$("$UPGRADE_BIN" --defaults-file="$options" 2>&1) || status=$?
  printf '%s\n' "SET SESSION sql_log_bin = 0;" "DROP USER IF EXISTS '$account'@'localhost';" |
    run_sql_quietly "$root" "upgrade: dropping the temporary account" || true
  rm -f "$options"
  if ((status != 0)); then
    log "upgrade: $UPGRADE_BIN failed: $(one_line "$(redact "$output")")"
    return 1
  fi
  if [[ $output == *"already upgraded"* ]]; then
    return 0
  fi
  log "upgrade: $UPGRADE_BIN upgraded the system tables to the server's version: $(one_line "$(redact \
    "$(tail -n 3 <<<"$output")")")"
}

# --------------------------------------------------------------------------- passwords in logs --

backslash_escaped() { # <value>: its quotes and backslashes escaped with a backslash
  local value=${1//\\/\\\\}
  value=${value//\'/\\\'}
  printf '%s' "${value//\"/\\\"}"
}

warn_of_passwords_in_logs() { # every pod: names its binary and relay logs holding a current password in clear
  # Before this version the primary's sidecar applied the Secret's passwords to MariaDB as given, and MariaDB
  # logs such a statement verbatim: every binary and relay log written since holds them, each pod keeps
  # them until they expire, and every replication client reads them (issue 17). They are searched for each
  # current password exactly as the sidecar sent it (an SQL literal); the files are never changed (purging
  # binary logs a replica still needs would break it): what a person must do is rotate the passwords, after
  # which those files hold only passwords that open nothing, and expire.
  [[ -n $SQL_PASSWORD_HASHES ]] || return 0
  local files=() pair name password found
  shopt -s nullglob
  files=("$DATA_ROOT"/data/*-bin.[0-9]*)
  shopt -u nullglob
  ((${#files[@]} > 0)) || return 0
  for pair in root:MYSQL_ROOT_PASSWORD "$REPLICATION_USER":MYSQL_REPLICATION_PASSWORD \
    "$BACKUP_USER":MYSQL_BACKUP_PASSWORD; do
    name=${pair%%:*} password=${pair#*:}
    password=${!password}
    [[ -n $password && $password != *$'\n'* ]] || continue
    # The pattern goes through a file descriptor: a password is never on a command line.
    # As the sidecar quoted it, and as a client escaping quotes with a backslash would have.
    found=$(grep -lF -f <(printf '%s\n' "$(sql_literal "$password")" "'$(backslash_escaped "$password")'") \
      -- "${files[@]}" 2>/dev/null) || continue
    log "passwords: WARNING: $(wc -l <<<"$found") binary or relay log file(s) on this pod's volume hold" \
      "$name's current password in clear, written by an earlier version of this program (first:" \
      "${found%%$'\n'*}); rotate the passwords (README, \"Rotating passwords\"), after which those files" \
      "hold only passwords that open nothing until they expire (binlog_expire_logs_seconds)"
  done
}
