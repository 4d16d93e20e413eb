#!/usr/bin/env bash
# Sourced by clone.sh on ordinal 0 without data (never run): decides how the primary starts.
#   - No initialisation recorded (the cluster's first start): write "initialise" to the decision file;
#     server.sh initialises an empty datadir only on that decision.
#   - Initialised on this same claim (the first initialisation was interrupted, or data/ was removed by hand):
#     re-seed from the most advanced replica if one answers right away, else initialise.
#   - Initialised on another claim (the primary's volume was lost or replaced): NEVER initialise. Wait for the
#     replicas that have a claim (PEER_WAIT_TIMEOUT, default 300 s, for all of them to answer), then re-seed
#     from the most advanced one by GTID set; with none answering, fail (the pod retries) with the way out.
# A re-seed sets `donor` (CLONE_FIXED_DONOR for the clone loop); the clone's GTID position then makes the new
# primary's binary log continue where the donor's history ends (server.sh). With the CLONE plugin (MySQL 9.7)
# clone.sh hands over to clone-plugin.sh: the GTID state arrives with the clone, and the primary's sidecar
# removes the donor's replication source.
# shellcheck shell=bash

decide() { # <decision> <reason>
  write_file_atomically "$(bootstrap_decision_file)" 0644 "$1"
  log "bootstrap: $1: $2"
}

read_facts() { # sets marker, claim, peers from the file label-pod.sh wrote
  local file line
  file=$(bootstrap_facts_file)
  [[ -r $file ]] || die "bootstrap: $file is missing: the label-pod init container gathers it on ordinal 0" \
    "(STATE_CONFIG_MAP set, RBAC on the state ConfigMap, the StatefulSet and the claims); without it the" \
    "primary can neither know whether the cluster was initialised nor initialise"
  marker='' claim='' peers=''
  while IFS= read -r line; do
    case $line in
      marker=*) marker=${line#marker=} ;;
      claim=*) claim=${line#claim=} ;;
      peers=*) peers=${line#peers=} ;;
    esac
  done <"$file"
  [[ -n $claim ]] || die "bootstrap: $file names no claim"
}

# peer_gtid <ordinal> (a pod's executed GTID set): donor.sh, sourced by clone.sh before this file.

gtid_contains() { # <ordinal of a> <set a> <set b>: status 0 when set a contains set b
  local a=$2 b=$3 item domain seq other found
  if [[ $GTID_ORDER == subset-sql ]]; then
    local options answer
    options=$(tcp_option_file "peer-$1" "$REPLICATION_USER" "$MYSQL_REPLICATION_PASSWORD" \
      "$(pod_host "$1")" "$(peer_mysql_port "$1")")
    answer=$(render_sql "$SQL_GTID_SUBSET" GTID_A="$(sql_literal "$b")" GTID_B="$(sql_literal "$a")" |
      run_sql "$options" 2>/dev/null) || return 1
    [[ $answer == 1 ]]
    return
  fi
  # MariaDB: a position holds one domain-server-seq per domain; a contains b when, in every domain of b,
  # a's sequence number is at least b's.
  for item in ${b//,/ }; do
    domain=${item%%-*} seq=${item##*-} found=false
    for other in ${a//,/ }; do
      if [[ ${other%%-*} == "$domain" ]]; then
        found=true
        ((${other##*-} >= seq)) || return 1
      fi
    done
    $found || return 1
  done
  return 0
}

most_advanced_peer() { # <wait seconds>: prints the ordinal of the replica whose GTID set contains all others'
  local wait=$1 waited=0 ordinal best='' gtid
  local -A gtids=()
  while :; do
    for ordinal in $peers; do
      [[ -n ${gtids[$ordinal]+set} ]] && continue
      if gtid=$(peer_gtid "$ordinal"); then
        gtids[$ordinal]=$gtid
        log "bootstrap: replica $ordinal ($(pod_host "$ordinal")) holds GTID set '$gtid'"
      fi
    done
    ((${#gtids[@]} == $(wc -w <<<"$peers"))) && break
    ((waited >= wait)) && break
    ((waited % 30 == 0)) && log "bootstrap: ${#gtids[@]} of the replicas ($peers) answered; waiting" \
      "for the others (${waited}s/${wait}s)"
    sleep 5
    waited=$((waited + 5))
  done
  for ordinal in "${!gtids[@]}"; do
    if [[ -z $best ]] || gtid_contains "$ordinal" "${gtids[$ordinal]}" "${gtids[$best]}"; then
      best=$ordinal
    fi
  done
  [[ -n $best ]] || return 1
  for ordinal in "${!gtids[@]}"; do
    gtid_contains "$best" "${gtids[$best]}" "${gtids[$ordinal]}" ||
      log "bootstrap: WARNING: replica $ordinal holds transactions that replica $best lacks" \
        "('${gtids[$ordinal]}' vs '${gtids[$best]}'): it will need to be cloned again"
  done
  printf '%s' "$best"
}

bootstrap_primary() { # decides; on a re-seed sets donor and peer for the clone loop
  read_facts
  local best
  if [[ -z $marker ]]; then
    decide initialise "the cluster's first start (no initialisation recorded before this one)"
    exit 0
  fi
  require_env REPLICATION_USER MYSQL_REPLICATION_PASSWORD
  if [[ $marker == "$claim" ]]; then
    if [[ -z $peers ]] || ! best=$(most_advanced_peer 0); then
      decide initialise "the first initialisation on this claim did not complete, and no replica holds data"
      exit 0
    fi
    log "bootstrap: this claim has no data/ but replica $best does: re-seeding from it"
  else
    log "bootstrap: the cluster was initialised on claim $marker and this pod's claim is $claim: the" \
      "primary's volume was lost or replaced. Never initialising an empty database over the cluster's" \
      "data: re-seeding from the most advanced replica"
    if [[ -z $peers ]] || ! best=$(most_advanced_peer "${PEER_WAIT_TIMEOUT:-300}"); then
      die "bootstrap: no replica with data answers (replicas with a claim: ${peers:-none}). Refusing to" \
        "initialise an empty primary. If the cluster's data is really gone and an empty database is what" \
        "you want, remove the key initialised-claim from ConfigMap ${STATE_CONFIG_MAP:-<cluster>-state}" \
        "and delete this pod"
    fi
  fi
  decide reseed "from replica $best"
  # shellcheck disable=SC2034 # clone.sh hands it on as CLONE_FIXED_DONOR (clone.sh, or clone-plugin.sh)
  donor=$best
}
