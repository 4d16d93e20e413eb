#!/usr/bin/env bash
# Sourced by clone.sh on ordinal 0 without data (never run): decides how the primary starts. The rule:
# never initialise while any copy of the cluster's data may exist; never choose a copy unless it is proven
# to hold every transaction the others hold; otherwise refuse (the pod retries) and say what to decide.
#   - No initialisation recorded (the cluster's first start): write "initialise" to the decision file;
#     server.sh initialises an empty datadir only on that decision, and removes it once data/ exists.
#   - Initialised on this same claim and provably never completed (the decision is still in this pod's run
#     dir, or .init-tmp is on the volume): initialise again.
#   - Otherwise (data/ removed by hand, a volume recreated empty under the same claim, the primary's volume
#     lost or replaced): NEVER initialise. Wait (PEER_WAIT_TIMEOUT, default 300 s) until every replica with a
#     claim answers and has applied everything it received (no receiver receives anything while this pod's
#     server is down), then re-seed from the one whose GTID set contains every other's. A replica not
#     answering, one that does not drain, or sets that no one contains: refuse, naming them. Claims kept from
#     a scale-down (ordinals >= replicas, `retained`) are not asked: a replica returning on one is never
#     cloned over while it holds transactions the primary lacks (sidecar.sh).
# A re-seed sets `donor` (CLONE_FIXED_DONOR for the clone loop); the clone's GTID position then makes the new
# primary's binary log continue where the donor's history ends (server.sh). With the CLONE plugin (MySQL 9.7)
# clone.sh hands over to clone-plugin.sh: the GTID state arrives with the clone, and the primary's sidecar
# removes the donor's replication source.
# shellcheck shell=bash

decide() { # <decision> <reason>
  write_file_atomically "$(bootstrap_decision_file)" 0644 "$1"
  log "bootstrap: $1: $2"
}

read_facts() { # sets marker, claim, peers, retained from the file label-pod.sh wrote
  local file line
  file=$(bootstrap_facts_file)
  [[ -r $file ]] || die "bootstrap: $file is missing: the label-pod init container gathers it on ordinal 0" \
    "(STATE_CONFIG_MAP set, RBAC on the state ConfigMap, the StatefulSet and the claims); without it the" \
    "primary can neither know whether the cluster was initialised nor initialise"
  marker='' claim='' peers='' retained=''
  while IFS= read -r line; do
    case $line in
      marker=*) marker=${line#marker=} ;;
      claim=*) claim=${line#claim=} ;;
      peers=*) peers=${line#peers=} ;;
      retained=*) retained=${line#retained=} ;;
    esac
  done <"$file"
  [[ -n $claim ]] || die "bootstrap: $file names no claim"
}

gtid_contains() { # <ordinal of a> <set a> <set b>: status 0 when set a contains set b
  local a=$2 b=$3 item seq other found
  if [[ $GTID_ORDER == subset-sql ]]; then
    local options answer
    options=$(tcp_option_file "peer-$1" "$REPLICATION_USER" "$MYSQL_REPLICATION_PASSWORD" \
      "$(pod_host "$1")" "$(peer_mysql_port "$1")")
    answer=$(render_sql "$SQL_GTID_SUBSET" GTID_A="$(sql_literal "$b")" GTID_B="$(sql_literal "$a")" |
      run_sql "$options" 2>/dev/null) || return 1
    [[ $answer == 1 ]]
    return
  fi
  # MariaDB: items domain-server-seq (a position, or a history: peer_history); a contains b when, for every
  # item of b, a holds the same domain and server with a sequence number at least b's. The same number from
  # two servers is two different transactions (a replica's own write beside the primary's): not contained.
  local best
  for item in ${b//,/ }; do
    seq=${item##*-} found=false best=-1
    for other in ${a//,/ }; do
      [[ ${other%-*} == "${item%-*}" ]] || continue
      found=true
      ((${other##*-} > best)) && best=${other##*-}
    done
    $found && ((best >= seq)) || return 1
  done
  return 0
}

peer_history() { # <ordinal>: every origin of that replica's history; status 1 when it does not answer
  # MySQL: gtid_executed. MariaDB: the binary log's state (the last sequence number of every domain and
  # server it logged, so a replica's own write shows) with its current position (which a clone's replica
  # holds before it logged anything itself).
  local ordinal=$1 options sql="SELECT REPLACE(@@GLOBAL.$GTID_HISTORY_VARIABLE, CHAR(10), SPACE(0));"
  [[ $GTID_ORDER == subset-sql ]] ||
    sql="SELECT CONCAT(@@GLOBAL.$GTID_HISTORY_VARIABLE, CHAR(44), @@GLOBAL.$GTID_EXECUTED_VARIABLE);"
  options=$(tcp_option_file "peer-$ordinal" "$REPLICATION_USER" "$MYSQL_REPLICATION_PASSWORD" \
    "$(pod_host "$ordinal")" "$(peer_mysql_port "$ordinal")")
  run_sql "$options" <<<"$sql" 2>/dev/null | tr -d '[:space:]'
  return "${PIPESTATUS[0]}"
}

peer_unapplied() { # <ordinal>: prints what that replica received and has not applied yet ("": drained);
  # status 1 when it does not answer. The replication user may read it (SQL_REPLICATION_MONITOR_GRANT).
  local ordinal=$1 options status io applied
  options=$(tcp_option_file "peer-$ordinal" "$REPLICATION_USER" "$MYSQL_REPLICATION_PASSWORD" \
    "$(pod_host "$ordinal")" "$(peer_mysql_port "$ordinal")")
  if [[ $GTID_ORDER == subset-sql ]]; then
    run_sql "$options" <<<"$SQL_PEER_UNAPPLIED" 2>/dev/null | tr -d '[:space:]'
    return "${PIPESTATUS[0]}"
  fi
  # MariaDB: what the receiver wrote to the relay log (Gtid_IO_Pos) against what the applier committed.
  status=$(query_vertical "$options" "$SQL_SHOW_REPLICA_STATUS SELECT @@GLOBAL.gtid_slave_pos AS \
applied_gtid_position;" 2>/dev/null) || return 1
  applied=$(field "$status" applied_gtid_position) || return 1
  io=$(field "$status" "$RECEIVED_GTID_COLUMN") || io=
  if [[ -n $io ]] && ! gtid_contains "$ordinal" "$applied" "$io"; then
    printf 'received up to %s, applied %s' "$io" "${applied:-nothing}"
  fi
}

most_advanced_peer() { # prints the ordinal of the replica whose GTID set contains every other's
  # Proven, or no answer: every replica with a claim must answer (PEER_WAIT_TIMEOUT, default 300 s), and
  # each must have applied everything it received. The primary is away (this pod is ordinal 0 and its
  # server is not running), so no receiver receives anything more: the sets only grow until they are
  # drained, and the most advanced then holds every transaction any replica received. A replica that does
  # not answer may hold transactions no other has: refuse (the pod retries) and say what to decide.
  local wait=${PEER_WAIT_TIMEOUT:-300} waited=0 ordinal best='' gtid unapplied missing pending other
  require_number wait
  local -A gtids=()
  while :; do
    missing='' pending=''
    gtids=()
    for ordinal in $peers; do
      if ! unapplied=$(peer_unapplied "$ordinal") || ! gtid=$(peer_history "$ordinal"); then
        missing+="${missing:+, }$ordinal"
      elif [[ -n $unapplied ]]; then
        pending+="${pending:+; }replica $ordinal: $unapplied"
      else
        gtids[$ordinal]=$gtid
      fi
    done
    [[ -z $missing && -z $pending ]] && break
    if ((waited >= wait)); then
      refuse_reseed "$missing" "$pending"
    fi
    ((waited % 30 == 0)) && log "bootstrap: waiting for every replica to answer and to apply what it" \
      "received before choosing (${waited}s/${wait}s): ${missing:+not answering: $missing}${missing:+${pending:+; }}${pending:+not drained: $pending}"
    sleep 5
    waited=$((waited + 5))
  done
  for ordinal in "${!gtids[@]}"; do
    log "bootstrap: replica $ordinal ($(pod_host "$ordinal")) holds GTID set '${gtids[$ordinal]}' (all it received)"
  done
  for ordinal in "${!gtids[@]}"; do
    best=$ordinal
    for other in "${!gtids[@]}"; do
      gtid_contains "$ordinal" "${gtids[$ordinal]}" "${gtids[$other]}" || { best=''; break; }
    done
    [[ -n $best ]] && break
  done
  if [[ -z $best ]]; then
    local sets=''
    for ordinal in "${!gtids[@]}"; do sets+="${sets:+; }replica $ordinal '${gtids[$ordinal]}'"; done
    die "bootstrap: REFUSING to re-seed the primary: no replica holds every transaction the others hold" \
      "($sets); each holds transactions another lacks, and choosing one discards the others'. A person must" \
      "decide which history to keep: keep replica N's by deleting the other replicas' pods and claims" \
      "(kubectl -n $(pod_namespace) delete pvc,pod ...; they are cloned again from the new primary), after" \
      "saving what they hold that N lacks. This pod retries meanwhile"
  fi
  printf '%s' "$best"
}

pod_namespace() { # the namespace, for the commands the messages give
  printf '%s' "${POD_NAMESPACE:-<namespace>}"
}

claim_names() { # <ordinals, space- or comma-separated>: their claims' names
  local ordinal names=''
  for ordinal in ${1//,/ }; do names+="${names:+ }${DATA_CLAIM_TEMPLATE:-data}-${POD_NAME%-*}-$ordinal"; done
  printf '%s' "$names"
}

refuse_reseed() { # <not answering> <not drained>: dies with what a person must decide
  local missing=$1 pending=$2 message="bootstrap: REFUSING to choose the primary's new data:"
  [[ -n $missing ]] && message+=" replicas $missing (with a claim) did not answer within ${PEER_WAIT_TIMEOUT:-300}s;"
  [[ -n $pending ]] && message+=" not every replica has applied what it received ($pending);"
  message+=" any of them may hold transactions the others lack, so no copy can be proven to hold them all."
  [[ -n $missing ]] && message+=" Bring them back (their pods must run: kubectl -n $(pod_namespace) get pods);"
  [[ -n $missing ]] && message+=" if a replica's data is to be given up, delete its claim and pod (kubectl -n $(pod_namespace)"
  [[ -n $missing ]] && message+=" delete pvc,pod <claim> <pod>; claims: $(claim_names "$missing"))."
  [[ -n $pending ]] && message+=" A replica whose applier stopped on an error must be repaired first."
  message+=" Nothing was changed; this pod retries"
  die "$message"
}

bootstrap_primary() { # decides; on a re-seed sets donor and peer for the clone loop
  read_facts
  local best
  if [[ -z $marker ]]; then
    decide initialise "the cluster's first start (no initialisation recorded before this one)"
    exit 0
  fi
  require_env REPLICATION_USER MYSQL_REPLICATION_PASSWORD
  if [[ $marker == "$claim" && $(cat "$(bootstrap_decision_file)" 2>/dev/null) == initialise ]]; then
    # This pod decided so before and its server has not completed the initialisation yet (server.sh
    # removes the decision once data/ exists): the container restarted in between.
    decide initialise "decided before on this claim, and the initialisation has not completed yet"
    exit 0
  fi
  if [[ $marker == "$claim" && -d $DATA_ROOT/.init-tmp ]]; then
    # Only an initialisation creates it and only its completion removes it (server.sh), and no replica
    # clones from a primary without data/: no copy of the cluster's data exists anywhere yet.
    decide initialise "the first initialisation on this claim did not complete ($DATA_ROOT/.init-tmp is" \
      "there, data/ never appeared)"
    exit 0
  fi
  if [[ $marker == "$claim" ]]; then
    log "bootstrap: the cluster was initialised on this claim ($claim), and data/ is gone from it (removed," \
      "or the volume recreated empty under the same claim). Never initialising an empty database over the" \
      "cluster's data: re-seeding from the most advanced replica"
  else
    log "bootstrap: the cluster was initialised on claim $marker and this pod's claim is $claim: the" \
      "primary's volume was lost or replaced. Never initialising an empty database over the cluster's" \
      "data: re-seeding from the most advanced replica"
  fi
  [[ -z $retained ]] || log "bootstrap: claims of ordinals $retained (kept from a scale-down: no pod runs" \
    "on them) are not asked; a replica returning on one with transactions the new primary lacks is not" \
    "cloned over: it stops and says so"
  if [[ -z $peers ]]; then
    die "bootstrap: no replica with data answers (replicas with a claim: none${retained:+; claims kept from a" \
      "scale-down: $retained}). Refusing to initialise an empty primary. If the cluster's data is really" \
      "gone and an empty database is what you want, remove the key initialised-claim from ConfigMap" \
      "${STATE_CONFIG_MAP:-<cluster>-state}${retained:+ and delete the kept claims $(claim_names "$retained")}" \
      "and delete this pod"
  fi
  best=$(most_advanced_peer) || exit 1
  decide reseed "from replica $best"
  # shellcheck disable=SC2034 # clone.sh hands it on as CLONE_FIXED_DONOR (clone.sh, or clone-plugin.sh)
  donor=$best
}
