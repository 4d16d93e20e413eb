# shellcheck shell=bash
# Sourced by sidecar.sh (never run): a replica whose primary can no longer serve its position (the receiver's
# SOURCE_PURGED_ERRNO: 1236, MySQL 13114) is cloned again only when that provably discards nothing.
#
# The same error says "the primary purged the binary logs this replica needs" (it was away longer than the
# binlog expiry, it returned on a volume kept since a scale-down) and "this replica is ahead of the primary
# or diverged from it" (a write on the replica, a primary restored from an older copy). Only the first may be
# cloned away. So, every check while the error stands (reclone_check):
#   1. facts: the GTIDs this replica holds (executed, received into its relay log, and on MariaDB every
#      origin in its binlog state), the primary's history (asked over TCP as the replication user), the GTIDs
#      of the first the second lacks (MySQL: GTID_SUBTRACT on the primary; MariaDB: per domain and server id,
#      gtids_missing), whether a set-aside copy exists, the free space and what a clone needs;
#   2. the decision (reclone_decision, facts in, verdict out): diverged, kept-copy, no-room or reclone;
#   3. reclone: a durable request beside data/ (reclone-requested), then the server stops. server.sh, which
#      alone knows that no server runs on data/, moves it to .stale-data before it starts one, and waits; the
#      sidecar, in the backup image where the seeding tools are, clones (clone.sh) into the empty place.
#      Anything else: nothing moves, $RUN_DIR/reclone-refused tells probe.sh why (not ready), and the log
#      says what a person must decide, with the commands.
# Nothing here ever removes a set-aside copy. A person approves a refused re-clone of a diverged replica by
# creating reclone-approved beside data/ (the sets are then not compared; the other checks still hold).
# What MariaDB's GTIDs cannot prove: that the primary did not issue the same sequence numbers again for other
# transactions after a rollback (they carry no content); such a replica looks behind and is re-cloned.
# Uses sidecar.sh's globals: root, primary_host, primary_port (sidecar-server.sh).
# shellcheck disable=SC2154 # root, primary_host, primary_port: set by sidecar.sh before it sources this file

reclone_notice= # the last verdict logged, so that each is logged once while it stands

gtids_missing() { # <set> <primary's history>: prints the GTIDs of the set the history lacks (status 1: unknown)
  local set=$1 history=$2 item other domain server seq covered missing=''
  if [[ $GTID_ORDER == subset-sql ]]; then
    render_sql "$SQL_GTID_SUBTRACT" GTID_A="$(sql_literal "$set")" GTID_B="$(sql_literal "$history")" |
      run_sql "$(primary_option_file)" 2>/dev/null
    return "${PIPESTATUS[1]}"
  fi
  # MariaDB: a transaction d-s-n of the replica is on the primary when the primary's binlog state holds the
  # same domain and server id at a sequence number at least n (gtid_strict_mode: numbers only grow there).
  for item in ${set//,/ }; do
    [[ $item =~ ^([0-9]+)-([0-9]+)-([0-9]+)$ ]] || return 1
    domain=${BASH_REMATCH[1]} server=${BASH_REMATCH[2]} seq=${BASH_REMATCH[3]} covered=false
    for other in ${history//,/ }; do
      [[ $other =~ ^([0-9]+)-([0-9]+)-([0-9]+)$ ]] || return 1
      if [[ ${BASH_REMATCH[1]} == "$domain" && ${BASH_REMATCH[2]} == "$server" ]] &&
        ((BASH_REMATCH[3] >= seq)); then
        covered=true
      fi
    done
    $covered || [[ ,$missing, == *",$item,"* ]] || missing+=${missing:+,}$item
  done
  printf '%s' "$missing"
}

reclone_decision() { # <missing GTIDs> <approved> <copy kept> <free KiB> <needed KiB>: prints the verdict
  # The one place that decides; its inputs are facts gathered first. <approved>, <copy kept>: yes or no;
  # <free KiB> empty when unknown. Verdicts: diverged (the replica holds GTIDs the primary lacks and no
  # person approved), kept-copy (a set-aside copy exists: never replaced), no-room (the volume cannot hold a
  # new clone beside the copy it keeps, or its free space is unknown), reclone.
  local missing=$1 approved=$2 kept=$3 free=$4 needed=$5
  if [[ -n $missing && $approved != yes ]]; then
    printf 'diverged'
  elif [[ $kept == yes ]]; then
    printf 'kept-copy'
  elif [[ ! $free =~ ^[0-9]+$ ]] || ((free < needed)); then
    printf 'no-room'
  else
    printf 'reclone'
  fi
}

primary_option_file() { # the replication user's login to the primary, over TCP
  tcp_option_file reclone-primary "$REPLICATION_USER" "$MYSQL_REPLICATION_PASSWORD" "$primary_host" "$primary_port"
}

gtid_text() { # <client output>: a GTID set on one line (MySQL breaks it after commas; --batch prints "\n")
  local set=${1//\\n/}
  printf '%s' "${set//[[:space:]]/}"
}

gtid_field() { # <vertical output> <column>: a GTID set column, with the lines MySQL breaks it into
  local line value='' found=false
  while IFS= read -r line; do
    if [[ $line =~ ^[[:space:]]*([A-Za-z0-9_]+):\ ?(.*)$ ]]; then
      $found && break
      [[ ${BASH_REMATCH[1]} == "$2" ]] && { found=true value=${BASH_REMATCH[2]}; }
    elif $found; then
      value+=$line # a continuation: "<uuid>:..." never matches the column pattern (its dashes)
    fi
  done <<<"$1"
  printf '%s' "$value"
}

held_gtids() { # <replica status>: every GTID this replica holds: executed, received, binlog state (MariaDB)
  local received held variables="@@GLOBAL.$GTID_EXECUTED_VARIABLE"
  [[ $GTID_HISTORY_VARIABLE == "$GTID_EXECUTED_VARIABLE" ]] || variables+=", @@GLOBAL.$GTID_HISTORY_VARIABLE"
  received=$(gtid_field "$1" "$RECEIVED_GTID_COLUMN")
  held=$(run_sql "$root" <<<"SELECT $variables;") || return 1
  held=$(gtid_text "${held//$'\t'/,},$received")
  local item unique=''
  for item in ${held//,/ }; do # each item once, in order
    [[ ,$unique, == *",$item,"* ]] || unique+=${unique:+,}$item
  done
  printf '%s' "$unique"
}

reclone_needed_kib() { # about what a new clone takes: data/ without its binary and relay logs, plus a tenth
  local size
  size=$(du -sk --exclude='*-bin.[0-9]*' --exclude='binlog.[0-9]*' "$DATA_ROOT/data" 2>/dev/null | cut -f1) ||
    size=
  [[ $size =~ ^[0-9]+$ ]] || size=0
  printf '%d' $((size + size / 10))
}

reclone_refuse() { # <marker line> <log message...>: not ready, and the log says why (once per verdict)
  local marker
  marker=$(reclone_refusal_file)
  [[ -f $marker && "$(<"$marker")" == "$1" ]] || write_file_atomically "$marker" 0644 "$1"
  if [[ $reclone_notice != "$1" ]]; then
    log "${@:2}"
    reclone_notice=$1
  fi
}

reclone_clear() { # the error is gone: nothing is refused, and an approval no longer applies
  local approval
  approval=$(reclone_approval_file)
  rm -f "$(reclone_refusal_file)"
  reclone_notice=
  if [[ -e $approval ]]; then
    log "replication: removing $approval: this replica is not waiting for a re-clone (approve one only" \
      "while it is refused)"
    rm -f "$approval"
  fi
}

reclone_check() { # <replica status> <IO error>: while the receiver's error is SOURCE_PURGED_ERRNO
  local error=$2 held history missing approved=no kept=no free needed verdict exec_hint reason
  local data=$DATA_ROOT/data stale claim=$DATA_CLAIM_TEMPLATE-$POD_NAME
  stale=$(stale_data_dir)
  local exec="kubectl exec -n ${POD_NAMESPACE:-<namespace>} $POD_NAME -c backup --"
  local cause="the primary cannot serve this replica's position (error $SOURCE_PURGED_ERRNO: $error)"
  if ! held=$(held_gtids "$1") ||
    ! history=$(run_sql "$(primary_option_file)" <<<"SELECT @@GLOBAL.$GTID_HISTORY_VARIABLE;" 2>/dev/null) ||
    ! missing=$(gtids_missing "$held" "$(gtid_text "$history")"); then
    reclone_refuse "re-clone pending: $cause; the GTID sets could not be compared yet" \
      "replication: $cause. Its GTID set and the primary's ($primary_host:$primary_port, as $REPLICATION_USER)" \
      "could not be read and compared; nothing is moved before they are (asking again at the next check)"
    return 0
  fi
  history=$(gtid_text "$history")
  missing=$(gtid_text "$missing")
  [[ -e $(reclone_approval_file) ]] && approved=yes
  [[ -e $stale ]] && kept=yes
  free=$(free_kib "$DATA_ROOT")
  needed=$(reclone_needed_kib)
  verdict=$(reclone_decision "$missing" "$approved" "$kept" "$free" "$needed")
  local sets="this replica holds '$held', the primary ($primary_host:$primary_port) '$history'"
  # Why it may be cloned again: proven, or (diverged) approved by a person.
  local standing="Every transaction of this replica is on the primary ($sets)" delete_claim="as the primary"
  delete_claim+=" holds all of its data, delete the claim and the pod to clone it onto a new volume"
  if [[ -n $missing ]]; then
    standing="A person approved discarding the transactions the primary lacks, '$missing' ($sets)"
    delete_claim="delete the claim and the pod to clone it onto a new volume (discarding what you approved)"
  fi
  case $verdict in
    diverged)
      exec_hint="list them on this replica's binary logs in $data (mysqlbinlog --include-gtids='$missing')"
      [[ $FLAVOR_NAME == mariadb ]] &&
        exec_hint="list them with mariadb-binlog on this replica's binary logs in $data"
      reason="re-clone refused: this replica holds transactions the primary lacks ($missing); a person"
      reclone_refuse "$reason must decide (see the backup container's log)" \
        "replication: RE-CLONE REFUSED: $cause, and this replica holds transactions the primary lacks:" \
        "'$missing' ($sets). It is ahead of the primary or diverged from it (a write on this replica, or a" \
        "primary restored from an older copy): cloning it again would discard them. Nothing is moved; the" \
        "replica stays out of the Services. A person must decide: (1) to discard them and clone this replica" \
        "again from the primary, its current data kept in $stale: $exec touch $(reclone_approval_file);" \
        "(2) to keep them: $exec_hint and apply them to the primary with their GTIDs; once the primary" \
        "holds every transaction of this replica, it is cloned again by itself. Remove $stale of an earlier" \
        "re-clone first if one is there"
      ;;
    kept-copy)
      reason="re-clone refused: $stale holds the copy set aside by an earlier re-clone; a person must"
      reclone_refuse "$reason remove it (see the backup container's log)" \
        "replication: RE-CLONE REFUSED: $cause. $standing," \
        "so it may be cloned again, but $stale already holds the copy an earlier re-clone set aside, and no" \
        "script ever removes one. Nothing is moved; the replica stays out of the Services. Once that copy" \
        "is not needed (or copied elsewhere): $exec rm -rf $stale; this replica is then cloned again by itself"
      ;;
    no-room)
      reason="re-clone refused: the volume cannot hold a new clone beside the copy it keeps"
      reclone_refuse "$reason (${free:-unknown} KiB free, about $needed KiB needed; see the backup container's log)" \
        "replication: RE-CLONE REFUSED: $cause. $standing," \
        "so it may be cloned again, but its volume cannot hold the new clone beside the copy it would keep:" \
        "$((${free:-0} / 1024)) MiB free on $DATA_ROOT, the clone needs about $((needed / 1024)) MiB." \
        "Nothing is moved; the replica stays out of the Services. Make room (mysql_cluster/scripts/README.md," \
        "'Room for a re-clone'): expand its claim $claim, or $delete_claim (kubectl delete pvc $claim" \
        "--wait=false; kubectl delete pod $POD_NAME); it is then cloned again by itself"
      ;;
    reclone)
      request_reclone "$cause" "$standing"
      ;;
  esac
}

request_reclone() { # <cause> <why it may be cloned again>: the durable request, then the server stops
  local request
  request=$(reclone_request_file)
  [[ -e $(reclone_approval_file) ]] &&
    log "replication: a person approved cloning this replica again ($(reclone_approval_file))"
  rm -f "$(reclone_approval_file)" # consumed first: a crash before the request only asks the person again
  write_file_atomically "$request" 0644 "# Written by the sidecar of $POD_NAME: server.sh moves data/ to
# .stale-data before it starts a server, then removes this file; the sidecar clones data/ again.
reason=$1; $2"
  rm -f "$(reclone_refusal_file)"
  reclone_notice=
  log "replication: STALE DATA: $1. $2: cloning it" \
    "again (from the first donor that serves it: the primary, then ready replicas). Requested in $request:" \
    "the server stops, its container moves $DATA_ROOT/data to $(stale_data_dir) before it starts again" \
    "(remove that copy once you no longer need it: nothing removes it by itself), and this container clones"
  stop_server_for_reclone
}

stop_server_for_reclone() {
  run_sql_quietly "$root" "stopping the server for the re-clone" <<<"SHUTDOWN;" || true
}

clone_pid=

run_reclone() { # data/ is absent on a replica: clones it here, where the seeding tools are (backup image)
  local status=0
  log "replication: $DATA_ROOT/data is absent (set aside for a re-clone, or never cloned): cloning it in" \
    "this container"
  bash "$(dirname "${BASH_SOURCE[0]}")/clone.sh" &
  clone_pid=$!
  wait "$clone_pid" || status=$?
  clone_pid=
  ((status == 0)) || die "replication: the clone failed (status $status; the container restarts and clones again)"
}

settle_reclone() { # one step of a re-clone in progress; status 0 when there is none (data/ in place)
  if [[ ! -d $DATA_ROOT/data ]]; then
    run_reclone
    return 1
  fi
  [[ -e $(reclone_request_file) ]] || return 0
  # Requested, and data/ still in place: the server must stop (a sidecar restarted after the request and
  # before the server stopped asks again), then server.sh sets data/ aside before it starts one.
  if server_answers "$root"; then
    log "replication: a re-clone is requested and the server still runs; stopping it"
    stop_server_for_reclone
  fi
  return 1
}
