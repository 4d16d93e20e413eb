#!/usr/bin/env bash
# Sourced by every container script (never run): logging, the pod's identity, the flavor, and SQL helpers
# that pass credentials through private option files in $RUN_DIR, never on a command line. The passwords
# (the Secret's, re-read at use time, and the root passwords remembered on the data volume) are in
# passwords.sh, which it sources.
# shellcheck shell=bash

# Bash 5.2 replaces an unquoted `&` in ${var//pattern/replacement} with the match; passwords may hold `&`.
shopt -u patsub_replacement 2>/dev/null || true

SCRIPT_NAME=$(basename "${BASH_SOURCE[1]:-$0}" .sh)

# Name of the file next to data/ that carries a fresh clone's GTID position until the sidecar has applied
# it (written by clone.sh, consumed by sidecar.sh).
CLONE_GTID_FILE_NAME=clone-gtid-position
# Name of the file appended to every complete backup stream by backup-stream.sh: its presence proves that
# the donor's backup tool exited successfully and that the stream reached its end.
# shellcheck disable=SC2034 # used by the scripts that source this file
STREAM_COMPLETE_MARKER=mysql-cluster-stream-complete
# Prepended to SQL that carries string literals made by sql_literal: its quoting assumes backslash escapes,
# which a custom NO_BACKSLASH_ESCAPES sql_mode would turn off.
# shellcheck disable=SC2034 # used by the scripts that source this file
SQL_LITERAL_MODE="SET SESSION sql_mode = '';"

# Written (epoch seconds) by the sidecar while it pauses replication to re-point it with a new replication
# password; the readiness probe keeps a replica whose applier stopped for that in the read Service for at
# most APPLIER_PAUSE_SECONDS (its data stays no older than MAX_LAG_SECONDS all the same).
# shellcheck disable=SC2034 # used by the scripts that source this file
APPLIER_PAUSE_FILE_NAME="applier-paused"
# shellcheck disable=SC2034 # used by the scripts that source this file
APPLIER_PAUSE_SECONDS=30
# How long the readiness probe lets a replica's applier take to apply what its receiver already received
# (probe.sh): a transaction it received is applied in milliseconds unless the applier is blocked or far
# behind, and the kubelet gives the whole probe 5 s.
# shellcheck disable=SC2034 # used by the scripts that source this file
CATCH_UP_WAIT_SECONDS=1

# ------------------------------------------------------------------------------------------ logging --

log() { # <message...>: one timestamped line on stderr (the container log)
  local now
  printf -v now '%(%Y-%m-%dT%H:%M:%S%z)T' -1
  printf '%s %s: %s\n' "$now" "$SCRIPT_NAME" "$*" >&2
}

die() { # <message...>: log an error and exit non-zero
  log "ERROR: $*"
  exit 1
}

redact() { # <text>: the text with every password (the environment's, the remembered root ones) redacted
  local text=$1 var secret last='' pending=''
  last=$(remembered_root_password "$LAST_ROOT_PASSWORD_FILE_NAME")
  pending=$(remembered_root_password "$PENDING_ROOT_PASSWORD_FILE_NAME")
  for var in MYSQL_ROOT_PASSWORD MYSQL_REPLICATION_PASSWORD MYSQL_BACKUP_PASSWORD last pending; do
    secret=${!var:-}
    [[ -n $secret ]] && text=${text//"$secret"/<redacted>}
  done
  printf '%s' "$text"
}

one_line() { # <text>: the text on one line, without control characters (bells, carriage returns)
  local text=${1//$'\n'/ }
  printf '%s' "${text//[[:cntrl:]]/}"
}

require_env() { # <name...>: every variable is set and non-empty
  local name
  for name in "$@"; do
    [[ -n ${!name:-} ]] || die "environment variable $name is not set (see mysql_cluster/scripts/README.md)"
  done
}

require_number() { # <name>: the variable holds a non-negative decimal number
  [[ ${!1:-} =~ ^(0|[1-9][0-9]{0,9})$ ]] || die "$1='${!1:-}' is not a non-negative number"
}

# -------------------------------------------------------------------------------------- identity --

parse_ordinal() { # sets ORDINAL from POD_NAME (<statefulset>-<ordinal>), strictly
  require_env POD_NAME
  if [[ ! $POD_NAME =~ ^([a-z0-9]([-a-z0-9]*[a-z0-9])?)-(0|[1-9][0-9]{0,8})$ ]]; then
    die "POD_NAME='$POD_NAME' is not a StatefulSet pod name <name>-<ordinal> (such as mysql-2)"
  fi
  ORDINAL=${BASH_REMATCH[3]}
}

server_id() { # prints SERVER_ID_OFFSET + ORDINAL (needs parse_ordinal)
  require_env SERVER_ID_OFFSET
  require_number SERVER_ID_OFFSET
  local id=$((SERVER_ID_OFFSET + ORDINAL))
  ((id >= 1 && id <= 4294967295)) || die "server_id $id (SERVER_ID_OFFSET + ordinal) is not in 1..4294967295"
  printf '%d' "$id"
}

pod_host() { # <ordinal>: the host name of that pod, from POD_HOST_PATTERN
  require_env POD_HOST_PATTERN
  local rest=${POD_HOST_PATTERN/\%d/}
  [[ $rest != *%* ]] || die "POD_HOST_PATTERN='$POD_HOST_PATTERN' may hold one %d and no other % directive"
  # shellcheck disable=SC2059 # the pattern is the format, by contract
  printf "$POD_HOST_PATTERN" "$1"
}

role() { # prints primary (ordinal 0) or replica
  if ((ORDINAL == 0)); then printf primary; else printf replica; fi
}

load_flavor() { # sources $CLUSTER_CONFIG_DIR/flavor.env (rendered by mysql_cluster/flavors.py)
  require_env CLUSTER_CONFIG_DIR
  local env_file=$CLUSTER_CONFIG_DIR/flavor.env
  [[ -r $env_file ]] || die "$env_file is missing: the cluster ConfigMap is not mounted at CLUSTER_CONFIG_DIR"
  # shellcheck source=/dev/null # rendered at deploy time
  source "$env_file"
  [[ -n ${FLAVOR_NAME:-} && -n ${SQL_CHANGE_SOURCE:-} ]] || die "$env_file does not define the flavor"
}

receiver_timeout() { # seconds without a byte from the primary after which a replica's receiver reconnects
  # The readiness probe trusts a connected receiver (probe.sh), so "connected" must not outlive a connection
  # that died silently (a frozen primary, a network that drops packets) by more than the lag bound: half of
  # MAX_LAG_SECONDS, at least 1 s, at most the servers' own default of 60 s. The primary sends a heartbeat
  # event every half of it while it has nothing else to send (receiver_heartbeat_period).
  local max_lag=${MAX_LAG_SECONDS:-60} timeout
  require_number max_lag
  timeout=$((max_lag / 2))
  ((timeout >= 1)) || timeout=1
  ((timeout <= 60)) || timeout=60
  printf '%d' "$timeout"
}

receiver_heartbeat_period() { # half of receiver_timeout, in seconds (e.g. 0.5, 15.0)
  local timeout
  timeout=$(receiver_timeout)
  printf '%d.%d' $((timeout / 2)) $((timeout % 2 * 5))
}

server_socket() { printf '%s/mysqld.sock' "$RUN_DIR"; }
# A token of the server's current start, written by server.sh just before it starts the server: the sidecar
# tells a restarted server from the same one by it (sidecar-replication.sh), to the microsecond.
server_run_file() { printf '%s/server-run' "$RUN_DIR"; }
clone_gtid_file() { printf '%s/%s' "$DATA_ROOT" "$CLONE_GTID_FILE_NAME"; }
# A replica's re-clone (reclone.sh): the copy set aside (never removed by a script), the sidecar's durable
# request that server.sh sets data/ aside before it starts a server, a person's approval of a re-clone the
# sidecar refused, and (in the pod's run dir) why it refused, for probe.sh.
stale_data_dir() { printf '%s/.stale-data' "$DATA_ROOT"; }
reclone_request_file() { printf '%s/reclone-requested' "$DATA_ROOT"; }
reclone_approval_file() { printf '%s/reclone-approved' "$DATA_ROOT"; }
reclone_refusal_file() { printf '%s/reclone-refused' "$RUN_DIR"; }
# server.sh waits for data/ (the sidecar clones it); holds its pid for the liveness probe.
awaiting_data_file() { printf '%s/server-awaiting-data' "$RUN_DIR"; }
# What label-pod.sh learnt from the API about ordinal 0's start (bootstrap-facts.sh), and what clone.sh then
# decided (bootstrap.sh; server.sh initialises only on "initialise"). Both in the pod's run dir: they are
# about this start of this pod, never about the volume.
bootstrap_facts_file() { printf '%s/bootstrap-facts' "$RUN_DIR"; }
bootstrap_decision_file() { printf '%s/bootstrap-decision' "$RUN_DIR"; }

peer_mysql_port() { # <ordinal>: that pod's server port (MYSQL_PORT; tests set PEER_MYSQL_PORT_<ordinal>)
  local override=PEER_MYSQL_PORT_$1
  printf '%s' "${!override:-$MYSQL_PORT}"
}

peer_clone_port() { # <ordinal>: that pod's clone port (CLONE_PORT; tests set PEER_CLONE_PORT_<ordinal>)
  local override=PEER_CLONE_PORT_$1
  printf '%s' "${!override:-$CLONE_PORT}"
}

# ------------------------------------------------------------------------------------ files --

write_file_atomically() { # <path> <mode> <content>: write to a temporary file, fsync, rename
  local path=$1 mode=$2 content=$3 tmp
  tmp=$(umask 077 && mktemp "$path.tmp.XXXXXX")
  printf '%s\n' "$content" >"$tmp"
  chmod "$mode" "$tmp"
  sync "$tmp"
  mv -f "$tmp" "$path"
  sync "$(dirname "$path")"
}

free_kib() { # <path>: the KiB free on its file system (df -P's fourth column; bash only: no awk in every
  # image), nothing when unknown
  local line free
  line=$(df -Pk "$1" 2>/dev/null | tail -n 1) || return 0
  read -r _ _ _ free _ <<<"$line"
  [[ $free =~ ^[0-9]+$ ]] && printf '%s' "$free"
  return 0
}

# ------------------------------------------------------------------------------------------ SQL --

sql_literal() { # <value>: the value as a quoted SQL string literal
  local value=${1//\\/\\\\}
  value=${value//\'/\'\'}
  printf "'%s'" "$value"
}

option_value() { # <value>: the value double-quoted for an option file ([client] password=...)
  local value=${1//\\/\\\\}
  value=${value//\"/\\\"}
  value=${value//$'\n'/\\n}
  printf '"%s"' "$value"
}

render_sql() { # <template> <NAME=value...>: the template with each {{NAME}} replaced by value
  # One pass over the template: a value (a password may hold "{{ROOT_PASSWORD}}") is never read again.
  local rest=$1 out='' name pair value found
  shift
  while [[ $rest == *'{{'* ]]; do
    out+=${rest%%"{{"*}
    rest=${rest#*"{{"}
    name=${rest%%"}}"*}
    rest=${rest#*"}}"}
    found=
    for pair in "$@"; do
      [[ ${pair%%=*} == "$name" ]] && { value=${pair#*=} found=1; break; }
    done
    [[ -n $found ]] || die "an SQL template kept {{$name}} (flavor.env and the script disagree)"
    out+=$value
  done
  printf '%s' "$out$rest"
}

client_option_file() { # <name> <user> <password> <socket> [include]: prints the path of a private file
  # Mode 0600 in $RUN_DIR, created under umask 077 and renamed into place; rewritten only when its content
  # changes. The client reads it with --defaults-file, so no other option file on the host interferes.
  local name=$1 user=$2 password=$3 socket=$4 include=${5:-} path content group
  path=$RUN_DIR/client-$name.cnf
  content="# Written by $SCRIPT_NAME.sh: credentials of $user for the local server (private to this pod)."
  [[ -n $include ]] && content+=$'\n'"!include $include"
  for group in client xtrabackup; do # [xtrabackup] is read by both xtrabackup and mariadb-backup
    content+=$'\n'"[$group]"$'\n'"user=$user"$'\n'"socket=$socket"
    [[ -n $password ]] && content+=$'\n'"password=$(option_value "$password")"
  done
  if [[ ! -f $path || "$(<"$path")" != "$content" ]]; then
    write_file_atomically "$path" 0600 "$content"
  fi
  printf '%s' "$path"
}

tcp_option_file() { # <name> <user> <password> <host> <port>: like client_option_file, over TCP
  local name=$1 user=$2 password=$3 host=$4 port=$5 path content
  path=$RUN_DIR/client-$name.cnf
  content="# Written by $SCRIPT_NAME.sh: credentials of $user for $host:$port (private to this pod)."
  content+=$'\n'"[client]"$'\n'"user=$user"$'\n'"host=$host"$'\n'"port=$port"$'\n'"protocol=tcp"
  content+=$'\n'"password=$(option_value "$password")"
  if [[ ! -f $path || "$(<"$path")" != "$content" ]]; then
    write_file_atomically "$path" 0600 "$content"
  fi
  printf '%s' "$path"
}

run_sql() { # <option file> [client options...]: runs the SQL on stdin; tab-separated rows on stdout
  local options=$1
  shift
  "$CLIENT_BIN" --defaults-file="$options" --connect-timeout=10 --batch --skip-column-names "$@"
}

run_sql_quietly() { # <option file> <what>: runs the SQL on stdin; on failure logs the (redacted) error
  local options=$1 what=$2 output
  if ! output=$(run_sql "$options" 2>&1); then
    log "$what failed: $(redact "$output")"
    return 1
  fi
}

query_vertical() { # <option file> <statement>: the statement's rows in the client's vertical format
  "$CLIENT_BIN" --defaults-file="$1" --connect-timeout=10 --batch --vertical <<<"$2"
}

field() { # <vertical output> <column>: that column's value from query_vertical output (status 1: absent)
  local line
  while IFS= read -r line; do
    if [[ $line =~ ^[[:space:]]*([A-Za-z0-9_]+):\ ?(.*)$ && ${BASH_REMATCH[1]} == "$2" ]]; then
      printf '%s' "${BASH_REMATCH[2]}"
      return 0
    fi
  done <<<"$1"
  return 1
}

server_answers() { # <option file>: the server accepts this login and runs a query
  run_sql "$1" <<<"SELECT 1;" >/dev/null 2>&1
}

# shellcheck source-path=SCRIPTDIR source=passwords.sh
source "$(dirname "${BASH_SOURCE[0]}")/passwords.sh"

refresh_passwords
