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
# write_password_init_file). A replica whose sidecar requested a re-clone has its data/ set aside as
# .stale-data here, before any server starts on it, and a replica without data/ waits until the backup
# container has cloned it (this image needs no backup tool). Runs as any non-root uid.
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
  sql=$(render_account_passwords "${SQL_INIT_PASSWORDS//ALTER USER /ALTER USER IF EXISTS }" init_literal)
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
  new_gtid_domain "$gtid"
  rm -f "$file"
  sync "$DATA_ROOT"
  log "seed: GTID position set and $file consumed"
}

gtid_domain_file=$DATA_ROOT/gtid-domain-id # ordinal 0, MariaDB: the domain its writes go to (seed_primary)

new_gtid_domain() { # <gtid position>: MariaDB: the re-seeded primary writes to a domain no copy has
  # The donor's history ends at, say, 0-100-15, while the lost primary may have written 0-100-16... that a
  # copy kept elsewhere holds (a claim kept from a scale-down): issuing 0-100-16 again for other transactions
  # would let that copy resume silently diverged. In a new domain, such a copy is ahead in domain 0, and the
  # primary refuses to serve it (error 1236) instead. Beside data/, so it outlives restarts; re-seeded again,
  # the primary takes the next one. Before the position file goes: a crash in between takes another one.
  [[ -n $GTID_DOMAIN_OPTION ]] || return 0
  local item highest=0 domain
  [[ -r $gtid_domain_file && $(<"$gtid_domain_file") =~ ^[0-9]+$ ]] && highest=$(<"$gtid_domain_file")
  for item in ${1//,/ }; do
    domain=${item%%-*}
    [[ $domain =~ ^[0-9]+$ ]] && ((domain > highest)) && highest=$domain
  done
  ((highest < 4294967295)) || die "seed: no GTID domain above $highest is left"
  write_file_atomically "$gtid_domain_file" 0644 "$((highest + 1))"
  log "seed: this primary writes to GTID domain $((highest + 1)) (its history's domains end at $highest)"
}

gtid_domain_options() { # prints the server option of the primary's GTID domain, if it has one
  [[ -n $GTID_DOMAIN_OPTION && -r $gtid_domain_file ]] || return 0
  local domain
  domain=$(<"$gtid_domain_file")
  [[ $domain =~ ^[0-9]+$ ]] || die "$gtid_domain_file holds '$domain', not a GTID domain id"
  printf '%s=%s' "$GTID_DOMAIN_OPTION" "$domain"
}

set_aside_for_reclone() { # replica: the sidecar requested a re-clone; no server runs on data/ now
  # Only here, before this container starts a server, is it certain that none runs on data/: the move
  # never happens under a running server. The copy set aside is never replaced (nor removed) by a script.
  local request stale
  request=$(reclone_request_file) stale=$(stale_data_dir)
  [[ -e $request ]] || return 0
  if [[ -d $data ]]; then
    [[ ! -e $stale ]] || die "a re-clone is requested ($request) but $stale already holds a copy set aside" \
      "before, and no script replaces one: move or remove it by hand (or remove $request to start on the" \
      "current data)"
    mv "$data" "$stale"
    sync "$DATA_ROOT"
    log "re-clone: $data set aside as $stale (remove it once you no longer need it); the backup container" \
      "clones $data again"
  fi
  rm -f "$request"
  sync "$DATA_ROOT"
}

await_data() { # replica without data/: the backup container clones it (sidecar.sh), where its tools are
  local waited=0
  [[ -d $data ]] && return 0
  printf '%d' "$$" >"$(awaiting_data_file)" # the probes count the server as alive meanwhile
  log "$data does not exist: waiting for the backup container to clone it; the server starts once it is there"
  until [[ -d $data ]]; do
    sleep 1
    waited=$((waited + 1))
    ((waited % 300 == 0)) && log "still waiting for $data (${waited}s; see the backup container's log)"
  done
  rm -f "$(awaiting_data_file)"
  log "$data is there (cloned after ${waited}s)"
}

if ((ORDINAL > 0)); then
  set_aside_for_reclone
  await_data
fi
if [[ ! -d $data ]]; then
  decision=$(cat "$(bootstrap_decision_file)" 2>/dev/null) || decision=
  if [[ $decision != initialise ]]; then
    die "$data does not exist and the clone init container did not decide to initialise" \
      "(decision: '${decision:-none}'): the primary never initialises over a cluster that was initialised" \
      "before (see the clone container's log)"
  fi
  initialise_primary
  # Consumed: a later start without data/ (removed by hand, a volume recreated empty) must never read it
  # again and initialise over the cluster's data; clone.sh decides anew then (bootstrap.sh).
  rm -f "$(bootstrap_decision_file)"
fi
if ((ORDINAL == 0)) && [[ -e $(clone_gtid_file) ]]; then
  seed_primary "$(clone_gtid_file)"
fi

log "starting $SERVER_BIN as the $(role) ($POD_NAME)"
# This start's token: the sidecar tells it from earlier starts (a pause by hand ends with the server).
write_file_atomically "$(server_run_file)" 0644 "${EPOCHREALTIME:-$(date +%s)} $$"
if ((ORDINAL == 0)); then
  write_password_init_file
  domain_option=$(gtid_domain_options)
  exec "$SERVER_BIN" --defaults-file="$conf" --init-file="$password_init_file" ${domain_option:+"$domain_option"}
fi
exec "$SERVER_BIN" --defaults-file="$conf"
