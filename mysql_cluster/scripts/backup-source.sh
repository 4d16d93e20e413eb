# shellcheck shell=bash disable=SC2034 # its BACKUP_* variables are read by backup-upload.sh
# Sourced by backup-upload.sh (never run): where a backup's bytes come from, per flavor, and what its manifest
# says about them. MariaDB streams mariadb-backup's mbstream (SEEDING=backup-stream); MySQL (SEEDING=
# clone-plugin) clones locally into $DATA_ROOT/.backup-tmp/data, starts a private server on the copy to read
# its GTID set (and to prove it starts), and streams a tar of it.

backup_staging_dir() { printf '%s/.backup-tmp' "$DATA_ROOT"; }
# Set by backup_source_prepare (and the binlog position by backup_source_succeeded) for the manifest.
BACKUP_FORMAT=''
BACKUP_METHOD=''
BACKUP_OPTIONS=''
BACKUP_SERVER_VERSION=''
BACKUP_SERVER_ID=''
BACKUP_SERVER_UUID=''
BACKUP_GTID=''
BACKUP_BINLOG_FILE=''
BACKUP_BINLOG_POSITION=''
BACKUP_PRIVATE_PID=''

backup_source_prepare() { # <work dir>: sets BACKUP_FORMAT; on MySQL takes the clone (status 1: failed)
  local work=$1
  BACKUP_OPTIONS=$(root_option_file)
  BACKUP_SERVER_VERSION=$(run_sql "$BACKUP_OPTIONS" <<<"SELECT @@version;") ||
    die "the local server does not answer"
  BACKUP_SERVER_ID=$(run_sql "$BACKUP_OPTIONS" <<<"SELECT @@server_id;")
  if [[ $SEEDING == backup-stream ]]; then
    BACKUP_FORMAT=mbstream BACKUP_METHOD=$BACKUP_BIN BACKUP_SERVER_UUID=''
    return 0
  fi
  BACKUP_FORMAT=tar BACKUP_METHOD=clone-plugin
  BACKUP_SERVER_UUID=$(run_sql "$BACKUP_OPTIONS" <<<"SELECT @@server_uuid;")
  local staging copy
  staging=$(backup_staging_dir) copy=$(backup_staging_dir)/data
  [[ -e $staging ]] && log "removing $staging left by an interrupted backup"
  rm -rf "$staging"
  mkdir -m 0750 "$staging"
  run_sql "$BACKUP_OPTIONS" <<<"$SQL_LITERAL_MODE CLONE LOCAL DATA DIRECTORY = $(sql_literal "$copy");" \
    >"$work/source.log" 2>&1 || die "CLONE LOCAL failed: $(one_line "$(redact "$(<"$work/source.log")")")"
  backup_read_clone_gtid "$work" "$copy"
}

backup_read_clone_gtid() { # <work dir> <copy>: starts a private server on the copy, reads its GTID set
  local work=$1 copy=$2 socket=$1/private.sock options waited=0
  "$SERVER_BIN" --defaults-file="$SERVER_CONF_DIR/my.cnf" --datadir="$copy" --innodb-buffer-pool-size=32M \
    --performance-schema=OFF --skip-networking --skip-log-bin --skip-replica-start --socket="$socket" \
    --pid-file="$work/private.pid" --mysqlx=OFF >"$work/private.log" 2>&1 &
  BACKUP_PRIVATE_PID=$!
  options=$(client_option_file backup-private "${LOCAL_ADMIN_USER:-root}" "" "$socket")
  until server_answers "$options"; do
    if ! kill -0 "$BACKUP_PRIVATE_PID" 2>/dev/null || ((waited >= 240)); then
      tail -n 20 "$work/private.log" >&2
      die "the cloned copy did not start on a private server (its log is above)"
    fi
    sleep 0.5
    waited=$((waited + 1))
  done
  BACKUP_GTID=$(run_sql "$options" <<<"SELECT @@GLOBAL.gtid_executed;")
  BACKUP_GTID=${BACKUP_GTID//\\n/}
  run_sql "$options" <<<"SHUTDOWN;" >/dev/null 2>&1 || true
  wait "$BACKUP_PRIVATE_PID" || true
  BACKUP_PRIVATE_PID=
  rm -f "$copy/auto.cnf" "$RUN_DIR/client-backup-private.cnf" # the restored server makes its own server_uuid
}

backup_source_stream() { # <work dir>: the backup on stdout (status: the tool's)
  local work=$1 args
  if [[ $SEEDING == backup-stream ]]; then
    require_env BACKUP_USER MYSQL_BACKUP_PASSWORD
    local options
    options=$(client_option_file backup "$BACKUP_USER" "$MYSQL_BACKUP_PASSWORD" "$(server_socket)" \
      "$SERVER_CONF_DIR/my.cnf")
    args=(--defaults-file="$options" --backup --stream=mbstream --target-dir="$work/target")
    ((ORDINAL > 0)) && args+=("$BACKUP_REPLICA_INFO_OPTION")
    "$BACKUP_BIN" "${args[@]}" 2>"$work/source.log"
  else
    tar -C "$(backup_staging_dir)/data" -cf - . 2>"$work/source.log"
  fi
}

backup_source_succeeded() { # <work dir>: the tool said it completed; sets the binlog position (MariaDB)
  [[ $SEEDING == backup-stream ]] || return 0
  grep -q 'completed OK!' "$1/source.log" || return 1
  # mariadb-backup logs the position it copied up to: "... binlog position: filename 'f', position 'p',
  # GTID of the last change 'g'".
  local line
  line=$(grep -E "binlog position: filename '" "$1/source.log" | tail -n 1) || return 0
  [[ $line =~ filename\ \'([^\']*)\',\ position\ \'([0-9]+)\' ]] &&
    BACKUP_BINLOG_FILE=${BASH_REMATCH[1]} BACKUP_BINLOG_POSITION=${BASH_REMATCH[2]}
  [[ $line =~ GTID\ of\ the\ last\ change\ \'([^\']*)\' ]] && BACKUP_GTID=${BASH_REMATCH[1]}
  return 0
}

backup_source_failure() { # <work dir>: the last lines of the tool's log, on one line
  [[ -s $1/source.log ]] && one_line "$(redact "$(tail -n 5 "$1/source.log")")"
  return 0
}

backup_source_cleanup() { # whatever happened: no private server, no staged copy
  if [[ -n $BACKUP_PRIVATE_PID ]]; then
    kill -TERM "$BACKUP_PRIVATE_PID" 2>/dev/null || true
    wait "$BACKUP_PRIVATE_PID" 2>/dev/null || true
  fi
  [[ $SEEDING == backup-stream ]] || rm -rf "$(backup_staging_dir)"
}

json_string() { # <value>: a JSON string literal
  local value=${1//\\/\\\\}
  value=${value//\"/\\\"}
  value=${value//$'\n'/\\n}
  value=${value//$'\t'/\\t}
  printf '"%s"' "${value//[[:cntrl:]]/}"
}
