# shellcheck shell=bash
# Sourced by clone.sh and clone-plugin.sh (never run): which pod a new copy of the data comes from, and how
# often it asks. Both seeding paths (mariadb-backup/XtraBackup over the clone port, and MySQL's CLONE plugin)
# share it, so they choose donors and back off the same way.
#
# Donors, chosen again at every round (clone_donors):
#   - ordinal 0, the primary: the most advanced copy there is, and the one that needs no catch-up after;
#   - then the replicas below this pod's ordinal whose server answers, the most advanced first (by GTID set:
#     replicas of one primary hold prefixes of its history, so the number of transactions orders them);
#   - CLONE_DONORS (space-separated ordinals) replaces that list: an operator's choice, and the tests'.
# A pod that is not ready is never a donor, and the donor says so itself: before it takes a backup slot, its
# sidecar runs its own readiness probe and its donor checks (stale, errant transactions, applier stopped) and
# answers UNFIT with the reason (transport.sh); at its limit of concurrent backups it answers BUSY. Neither
# costs a backup, so the recipient tries the next donor at once. Ordinal 0 re-seeding the primary
# (bootstrap.sh) has exactly one donor, the most advanced replica: CLONE_FIXED_DONOR.
#
# Retries (clone_from_donors):
#   - a round in which no donor started a backup (none ready yet, all busy or refusing, none reachable) costs
#     the donors nothing: the next round follows after CLONE_POLL_INTERVAL (1 s), for up to
#     CLONE_WAIT_TIMEOUT (900 s) without a backup, then the container fails and the pod retries;
#   - an attempt in which a backup was started and failed (a broken stream, a backup that does not prepare,
#     this pod's volume full) backs off exponentially: CLONE_RETRY_DELAY (10 s), doubled after each such
#     failure up to CLONE_RETRY_MAX_DELAY (300 s); only these count towards CLONE_RETRIES (10), after which
#     the container fails. So a recipient that cannot store a backup asks its donors for a handful of
#     backups an hour, not one every few seconds.

CLONE_LOCAL_FULL='this pod'\''s volume is full' # how a local cause starts: never blamed on the donor

peer_gtid() { # <ordinal>: prints that pod's executed GTID set; status 1 when it does not answer
  local ordinal=$1 options
  options=$(tcp_option_file "peer-$ordinal" "$REPLICATION_USER" "$MYSQL_REPLICATION_PASSWORD" \
    "$(pod_host "$ordinal")" "$(peer_mysql_port "$ordinal")")
  run_sql "$options" <<<"SELECT @@GLOBAL.$GTID_EXECUTED_VARIABLE;" 2>/dev/null | tr -d '[:space:]'
  return "${PIPESTATUS[0]}"
}

gtid_count() { # <set>: how many transactions a GTID set holds (MariaDB: the sum of each domain's sequence)
  local item part total=0 low high
  for item in ${1//,/ }; do
    if [[ $item =~ ^[0-9]+-[0-9]+-([0-9]+)$ ]]; then # MariaDB domain-server-seq
      total=$((total + BASH_REMATCH[1]))
      continue
    fi
    for part in ${item//:/ }; do # MySQL uuid[:tag]:a-b:c
      if [[ $part =~ ^([0-9]+)(-([0-9]+))?$ ]]; then
        low=${BASH_REMATCH[1]} high=${BASH_REMATCH[3]:-${BASH_REMATCH[1]}}
        total=$((total + high - low + 1))
      fi
    done
  done
  printf '%d' "$total"
}

# shellcheck disable=SC2153 # ORDINAL: set by parse_ordinal in the sourcing script
clone_donors() { # prints the candidates to ask, in order (see above); needs parse_ordinal
  local candidate gtid
  if [[ -n ${CLONE_FIXED_DONOR:-} ]]; then
    printf '%s\n' "$CLONE_FIXED_DONOR"
    return
  fi
  if [[ -n ${CLONE_DONORS:-} ]]; then
    for candidate in $CLONE_DONORS; do
      [[ $candidate =~ ^(0|[1-9][0-9]{0,8})$ ]] || die "CLONE_DONORS='$CLONE_DONORS' must list pod ordinals"
      if ((candidate != ORDINAL)); then printf '%s\n' "$candidate"; fi
    done
    return 0
  fi
  if ((ORDINAL != 0)); then printf '0\n'; fi
  for ((candidate = 1; candidate < ORDINAL; candidate++)); do
    gtid=$(peer_gtid "$candidate") || continue # its server does not answer: not ready
    printf '%s %s\n' "$(gtid_count "$gtid")" "$candidate"
  done | sort -k1,1nr -k2,2n | cut -d' ' -f2
}

donor_name() { # <ordinal>: how the logs name a donor
  printf 'donor %s (%s)' "$1" "$(pod_host "$1")"
}

volume_free_mib() { # the space left on the data volume, in MiB
  local kib
  kib=$(free_kib "$DATA_ROOT")
  printf '%d' $((${kib:-0} / 1024))
}

volume_full_reason() { # <needed KiB or empty>: the local cause, worded to follow "donor N (host) "
  local needed=${1:-}
  printf 'sent a backup this pod cannot store: %s (%d MiB free on %s%s); give the pod a larger volume' \
    "$CLONE_LOCAL_FULL" "$(volume_free_mib)" "$DATA_ROOT" "${needed:+, the backup needs about $((needed / 1024)) MiB}"
  printf ' (storageSize); the donor is not at fault'
}

mentions_full_disk() { # <file...>: a tool's log says the disk is full (ENOSPC, errno 28)
  grep -qiE 'no space left on device|errno:? ?28\b|errcode: 28|ENOSPC|disk is full|disk full' "$@" 2>/dev/null
}

clone_from_donors() { # <try>: "<try> <ordinal>" until one returns 0; sets CLONED_FROM and CLONE_ATTEMPTS
  # <try> returns 0: cloned; 1: no backup was started (refused, busy, unfit, unreachable); 2: a backup was
  # started and failed. It sets `reason`, worded to follow "donor N (host) ".
  local try=$1 retries=${CLONE_RETRIES:-10} delay=${CLONE_RETRY_DELAY:-10} max=${CLONE_RETRY_MAX_DELAY:-300}
  local poll=${CLONE_POLL_INTERVAL:-1} wait_timeout=${CLONE_WAIT_TIMEOUT:-900}
  local failures=0 waited=0 ordinal status costly backoff summary name
  CLONE_ATTEMPTS=0
  local -A said=()
  for name in retries delay max poll wait_timeout; do require_number "$name"; done
  ((retries >= 1)) || die "CLONE_RETRIES='$retries' must be at least 1"
  while :; do
    costly='' summary=''
    for ordinal in $(clone_donors); do
      reason='' status=0
      CLONE_ATTEMPTS=$((CLONE_ATTEMPTS + 1))
      "$try" "$ordinal" || status=$?
      if ((status == 0)); then
        # shellcheck disable=SC2034 # read by the sourcing script
        CLONED_FROM=$ordinal
        return 0
      elif ((status == 1)); then
        summary+="${summary:+; }$(donor_name "$ordinal") $reason"
        # Once per donor and reason: a donor that stays busy for minutes does not fill the log.
        if [[ ${said[$ordinal]:-} != "$reason" ]]; then
          log "$(donor_name "$ordinal") $reason; trying the next donor"
          said[$ordinal]=$reason
        fi
      else
        costly=$ordinal
        break
      fi
    done
    if [[ -n $costly ]]; then
      failures=$((failures + 1)) waited=0
      ((failures < retries)) ||
        die "$(donor_name "$costly") $reason; giving up after $failures failed backups (the pod restarts and tries again)"
      backoff=$delay
      for ((status = 1; status < failures && backoff < max; status++)); do backoff=$((backoff * 2)); done
      ((backoff <= max)) || backoff=$max
      log "$(donor_name "$costly") $reason; failed backup $failures/$retries, next attempt in ${backoff}s"
      said=()
      sleep "$backoff"
      continue
    fi
    if ((waited >= wait_timeout)); then
      die "no donor started a backup within ${wait_timeout}s (${summary:-no donor to ask}); giving up (the pod" \
        "restarts and tries again)"
    fi
    if ((waited % 30 == 0)); then
      log "waiting for a donor (${waited}s/${wait_timeout}s): ${summary:-no donor to ask yet}"
    fi
    sleep "$poll"
    waited=$((waited + (poll > 0 ? poll : 1)))
  done
}
