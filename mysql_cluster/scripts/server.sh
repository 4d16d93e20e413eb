#!/usr/bin/env bash
# Container `mysql` (server image). On the first start of ordinal 0 (no $DATA_ROOT/data, and the clone init
# container decided "initialise": only on the cluster's first start, see bootstrap.sh): initialises a
# datadir in $DATA_ROOT/.init-tmp/data, starts it privately (no networking, a private socket, no binary log),
# sets the root password, creates the replication and backup users, removes every other account, shuts it
# down and renames it to data/ (so data/ exists only complete). Then, on every start, records a token of this
# start in $RUN_DIR/server-run (the time to the microsecond and this script's pid: the sidecar tells a
# restarted server by it, sidecar-replication.sh) and execs the server with
# --defaults-file=$SERVER_CONF_DIR/my.cnf (written by init-config.sh). A primary re-seeded from a replica
# first gets the clone's GTID position as the start of its binary log (seed_primary). Ordinal 0's server
# gives the accounts the Secret's passwords itself as it starts (--init-file, not binlogged: see
# write_password_init_file). Runs as any non-root uid.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_env CLUSTER_CONFIG_DIR SERVER_CONF_DIR DATA_ROOT RUN_DIR
parse_ordinal
load_flavor

conf=$SERVER_CONF_DIR/my.cnf
data=$DATA_ROOT/data
# The datadir is built one level down: InnoDB (MySQL) skips hidden directories when it scans a datadir for
# its tablespaces, so a datadir named .init-tmp initialises but then fails to start (undo_001 "exists").
init_dir=$DATA_ROOT/.init-tmp
work=$init_dir/data
init_socket=$RUN_DIR/init.sock
password_init_file=$RUN_DIR/init-passwords.sql # ordinal 0 (write_password_init_file)
init_pid=

[[ -r $conf ]] || die "$conf is missing: the init-config init container must run first"

stop_private_server() { # kills the private server if it is still running (on failure)
  if [[ -n $init_pid ]] && kill -0 "$init_pid" 2>/dev/null; then
    log "init: stopping the private server (pid $init_pid)"
    kill -TERM "$init_pid" 2>/dev/null || true
    wait "$init_pid" 2>/dev/null || true
  fi
}

initialise_datadir() { # an empty datadir in $work with root@localhost and no password
  if [[ -n $INSTALL_DB_BIN ]]; then
    # --auth-root-authentication-method=normal: root@localhost with a password (set below), not
    # unix_socket tied to the OS user; the extra accounts it creates are dropped below.
    "$INSTALL_DB_BIN" --defaults-file="$conf" --datadir="$work" \
      --auth-root-authentication-method=normal --skip-test-db >"$RUN_DIR/init-install.log" 2>&1 ||
      die "init: $INSTALL_DB_BIN failed: $(tail -n 20 "$RUN_DIR/init-install.log")"
  else
    "$SERVER_BIN" --defaults-file="$conf" --datadir="$work" --initialize-insecure \
      >"$RUN_DIR/init-install.log" 2>&1 ||
      die "init: $SERVER_BIN --initialize-insecure failed: $(tail -n 20 "$RUN_DIR/init-install.log")"
  fi
}

start_private_server() { # <datadir> <root password> [server options]: reachable only through $init_socket
  local datadir=$1 password=$2 options waited=0
  shift 2
  rm -f "$init_socket"
  "$SERVER_BIN" --defaults-file="$conf" --datadir="$datadir" --skip-networking "$@" \
    --socket="$init_socket" --pid-file="$RUN_DIR/init.pid" &
  init_pid=$!
  options=$(client_option_file init root "$password" "$init_socket")
  until server_answers "$options"; do
    kill -0 "$init_pid" 2>/dev/null || die "init: the private server exited during start (see the log above)"
    ((waited < 120)) || die "init: the private server did not answer within 120s"
    sleep 1
    waited=$((waited + 1))
  done
}

create_accounts() { # passwords, users, grants; drops every account the initialisation added besides root
  local options stray accounts
  options=$(client_option_file init root "" "$init_socket")
  stray=$(run_sql "$options" <<<"SELECT CONCAT('DROP USER ', QUOTE(User), '@', QUOTE(Host), ';') \
FROM mysql.user WHERE User = '' OR (User = 'root' AND Host <> 'localhost');")
  accounts=$(render_account_passwords "$SQL_INIT_ACCOUNTS" sql_literal)
  # One session: stray accounts go first (mariadb-install-db's root@127.0.0.1, root@::1 and root@<host>
  # have empty passwords), then the accounts of the cluster. Nothing of it is binary-logged.
  printf '%s\n' "$SQL_LITERAL_MODE" "SET SESSION sql_log_bin = 0;" "$stray" "$accounts" |
    run_sql_quietly "$options" "init: creating the accounts" || die "init: could not create the accounts"
  log "init: created root@localhost, root@%, $REPLICATION_USER@% and $BACKUP_USER@localhost;" \
    "dropped: ${stray//$'\n'/ }"
}

shutdown_private_server() {
  local options
  options=$(client_option_file init root "$MYSQL_ROOT_PASSWORD" "$init_socket")
  run_sql_quietly "$options" "init: shutting down the private server" <<<"SHUTDOWN;" ||
    die "init: could not shut down the private server"
  wait "$init_pid" || die "init: the private server exited with status $? on shutdown"
  init_pid=
  rm -f "$RUN_DIR/client-init.cnf"
}

initialise_primary() {
  require_env MYSQL_ROOT_PASSWORD MYSQL_REPLICATION_PASSWORD MYSQL_BACKUP_PASSWORD REPLICATION_USER BACKUP_USER
  if [[ -e $init_dir ]]; then
    log "init: discarding $init_dir left by an interrupted initialisation"
    rm -rf "$init_dir"
  fi
  mkdir -m 0750 "$init_dir" "$work"
  log "init: initialising a new datadir in $work ($FLAVOR_NAME $FLAVOR_VERSION)"
  initialise_datadir
  trap stop_private_server EXIT
  start_private_server "$work" "" --skip-log-bin
  create_accounts
  shutdown_private_server
  trap - EXIT
  sync
  mv "$work" "$data"
  rmdir "$init_dir"
  sync "$DATA_ROOT"
  log "init: datadir complete: $data"
}

init_literal() { # <value>: sql_literal for an init file, where a statement must stay on one line
  local literal
  literal=$(sql_literal "$1")
  literal=${literal//$'\n'/\\n}
  printf '%s' "${literal//$'\r'/\\r}"
}

write_password_init_file() { # ordinal 0: writes $password_init_file, giving the accounts the Secret's passwords
  # The primary is the one pod whose data takes the Secret's passwords (its sidecar applies them with ALTER
  # USER, binlogged, and the replicas follow). Its server also applies them itself as it starts, before it
  # accepts a connection, so that its data opens to the Secret's root password whatever happened: a data
  # copy that had not received a rotation (re-seeded from a replica in the middle of one) or a remembered
  # password that is missing (lib.sh root_option_file). Not binlogged (sql_log_bin = 0): the server's own
  # start writes no transaction (checked against real servers in tests/scripts/test_rotation_restart.py);
  # the sidecar's ALTER USER right after carries the passwords to the replicas. IF EXISTS: a missing
  # account must not stop the server (the sidecar's ALTER USER then reports it). Replicas never get one:
  # they change nothing the primary did not binlog. Mode 0600 in $RUN_DIR; the sidecar removes it once the
  # server answers.
  require_env MYSQL_ROOT_PASSWORD MYSQL_REPLICATION_PASSWORD MYSQL_BACKUP_PASSWORD REPLICATION_USER BACKUP_USER
  local sql
  # IF EXISTS goes into the template, not the rendered SQL: a password may contain "ALTER USER ".
  sql=$(render_account_passwords "${SQL_ROTATE_PASSWORDS//ALTER USER /ALTER USER IF EXISTS }" init_literal)
  write_file_atomically "$password_init_file" 0600 \
    "SET SESSION sql_log_bin = 0;"$'\n'"$SQL_LITERAL_MODE"$'\n'"$sql"
}

seed_primary() { # <gtid file>: a primary re-seeded from a replica continues the donor's GTID history
  # On a private server (no network, so no replica connects early): forget the donor's source, empty the
  # binary logs and start them at the clone's GTID position. Only then is the file removed: a crash before
  # repeats these idempotent steps.
  local file=$1 content gtid options
  require_env MYSQL_ROOT_PASSWORD
  content=$(<"$file")
  [[ $content =~ (^|$'\n')gtid=([0-9A-Za-z:,_-]*)($'\n'|$) ]] || die "seed: $file has no valid gtid= line"
  gtid=${BASH_REMATCH[2]}
  log "seed: this primary was re-seeded from a replica; its binary log continues at GTID position '$gtid'"
  trap stop_private_server EXIT
  # The donor's data may predate a rotation: the init file opens it to the Secret's root password.
  write_password_init_file
  start_private_server "$data" "$MYSQL_ROOT_PASSWORD" --init-file="$password_init_file"
  options=$(client_option_file init root "$MYSQL_ROOT_PASSWORD" "$init_socket")
  printf '%s\n' "$SQL_LITERAL_MODE" "$(render_sql "$SQL_SEED_PRIMARY_GTID" GTID_POSITION="$(sql_literal "$gtid")")" |
    run_sql_quietly "$options" "seed: setting the GTID position" || die "seed: could not set the GTID position"
  shutdown_private_server
  trap - EXIT
  rm -f "$file"
  sync "$DATA_ROOT"
  log "seed: GTID position set and $file consumed"
}

if [[ ! -d $data ]]; then
  if ((ORDINAL > 0)); then
    # A replica re-cloned by its sidecar (it could not catch up), or whose clone init container did not
    # leave data/: clone now. The probes count the server as alive while the clone runs.
    log "$data does not exist: cloning it before the server starts"
    printf '%d' "$$" >"$RUN_DIR/server-cloning"
    bash "$(dirname "${BASH_SOURCE[0]}")/clone.sh" || die "the clone failed (the container restarts and tries again)"
    rm -f "$RUN_DIR/server-cloning"
  fi
fi
if [[ ! -d $data ]]; then
  decision=$(cat "$(bootstrap_decision_file)" 2>/dev/null) || decision=
  if [[ $decision != initialise ]]; then
    die "$data does not exist and the clone init container did not decide to initialise" \
      "(decision: '${decision:-none}'): the primary never initialises over a cluster that was initialised" \
      "before (see the clone container's log)"
  fi
  initialise_primary
fi
if ((ORDINAL == 0)) && [[ -e $(clone_gtid_file) ]]; then
  seed_primary "$(clone_gtid_file)"
fi

log "starting $SERVER_BIN as the $(role) ($POD_NAME)"
# This start's token: the sidecar tells it from earlier starts (a pause by hand ends with the server).
write_file_atomically "$(server_run_file)" 0644 "${EPOCHREALTIME:-$(date +%s)} $$"
if ((ORDINAL == 0)); then
  write_password_init_file
  exec "$SERVER_BIN" --defaults-file="$conf" --init-file="$password_init_file"
fi
exec "$SERVER_BIN" --defaults-file="$conf"
