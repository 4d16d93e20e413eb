# shellcheck shell=bash
# Sourced by probe.sh and backup-stream.sh (never run): whether a replica applies everything its primary
# sends, as it is configured NOW. A client with enough privileges can make a replica drop or bend what it
# receives while both replication threads run: a replication filter (`CHANGE REPLICATION FILTER`, `SET GLOBAL
# replicate_ignore_db`), a pending skip (`sql_slave_skip_counter`), an applier that skips errors or turns
# idempotent (`slave_exec_mode = IDEMPOTENT`), a source other than the primary. Such a replica silently
# diverges; it must not serve reads, be cloned, or seed a lost primary (issue 17, defect 2). Uses lib.sh and
# flavor.env (APPLY_STRICT_VARIABLES, the columns of SHOW REPLICA STATUS).

faithful_query() { # the statements whose vertical output `unfaithful` reads
  local pair selects=
  for pair in $APPLY_STRICT_VARIABLES; do
    selects+="${selects:+, }@@GLOBAL.${pair%%=*} AS ${pair%%=*}"
  done
  printf '%s\n%s' "SELECT $selects;" "$SQL_SHOW_REPLICA_STATUS"
}

unfaithful() { # <vertical output of faithful_query>: prints why this replica may not hold what its primary
  # sent, one line (status 1: nothing found). Without a replication source it reports nothing: "not
  # configured" is the caller's to say.
  local status=$1 line pair name expected value reasons=() joined
  # Every Replicate_* column of the status is a filter or a rewrite (databases, tables, wildcards, server and
  # domain ids), empty unless someone set one.
  while IFS= read -r line; do
    [[ $line =~ ^[[:space:]]*(Replicate_[A-Za-z_]+):[[:space:]]*(.*[^[:space:]])[[:space:]]*$ ]] || continue
    reasons+=("filter ${BASH_REMATCH[1]}=${BASH_REMATCH[2]}")
  done <<<"$status"
  value=$(field "$status" Skip_Counter) || value=0
  [[ $value == 0 ]] || reasons+=("Skip_Counter=$value (events would be skipped)")
  for pair in $APPLY_STRICT_VARIABLES; do
    name=${pair%%=*} expected=${pair#*=}
    value=$(field "$status" "$name") || value=missing
    [[ ${value^^} == "$expected" ]] || reasons+=("$name=$value, not $expected")
  done
  if value=$(field "$status" "$SOURCE_HOST_COLUMN"); then
    [[ $value == "$(pod_host 0)" ]] || reasons+=("its source is $value, not the primary $(pod_host 0)")
    value=$(field "$status" "$SOURCE_PORT_COLUMN") || value=missing
    [[ $value == "$(peer_mysql_port 0)" ]] || reasons+=("its source port is $value, not $(peer_mysql_port 0)")
    value=$(field "$status" "$SOURCE_USER_COLUMN") || value=missing
    [[ $value == "$REPLICATION_USER" ]] || reasons+=("it replicates as $value, not $REPLICATION_USER")
  fi
  ((${#reasons[@]} > 0)) || return 1
  printf -v joined '%s; ' "${reasons[@]}"
  printf 'it does not apply everything its primary sends (%s): a person must remove the cause (README, "A replica that does not apply everything")' \
    "$(one_line "${joined%; }")"
}
