#!/usr/bin/env bash
# Sourced by label-pod.sh on every pod (never run): the facts the cluster's data is bound to
# (mysql_cluster/cluster_facts.py), given as key=value words in CLUSTER_FACTS (flavor, newest-version,
# server-id-offset, lower-case-table-names, innodb-page-size), against what the cluster's state ConfigMap
# ($STATE_CONFIG_MAP) recorded. A fact not recorded yet is recorded (by the first pod that starts: on a new
# cluster, before its first initialisation; on data initialised before these facts were recorded, after the
# update that brought this script); a newer version raises newest-version; any other difference stops this
# pod before its server starts, changing nothing, with what a person must decide. The redeploy guard refuses
# such a configuration before `pulumi up` changes anything; this stops what does not pass through it (a
# cluster given a Kubernetes provider of its own, a StatefulSet edited by hand). Needs RBAC: get/patch on
# that ConfigMap.
# shellcheck shell=bash
# shellcheck disable=SC2154 # kube_code, kube_body, kube_namespace: set by kube-api.sh (sourced first)

require_env STATE_CONFIG_MAP CLUSTER_FACTS

facts_path="/api/v1/namespaces/$kube_namespace/configmaps/$STATE_CONFIG_MAP"

version_newer() { # <a> <b>: status 0 when version a (major.minor...) is newer than b
  local -a a b
  local i
  IFS=. read -r -a a <<<"$1"
  IFS=. read -r -a b <<<"$2"
  for ((i = 0; i < ${#a[@]} || i < ${#b[@]}; i++)); do
    ((10#${a[i]:-0} > 10#${b[i]:-0})) && return 0
    ((10#${a[i]:-0} < 10#${b[i]:-0})) && return 1
  done
  return 1
}

fact_refusal() { # <key> <configured> <recorded>: the setting, both values and why they must agree
  local why
  case $1 in
    flavor) why="flavor is $2, but this data is $3's: a server of the other flavor cannot open it" ;;
    newest-version) why="version is $2, but $3 has run on this data: an older server cannot open data a newer one upgraded (if no pod ever started $3, remove the key newest-version from the ConfigMap)" ;;
    server-id-offset) why="serverIdOffset is $2, but the cluster runs with $3: pods roll one at a time, so this pod would take the server_id of one not rolled yet" ;;
    lower-case-table-names | innodb-page-size) why="serverConfig.${1//-/_} is $2, but this data was initialised with $3, which the server applies only when it initialises its data" ;;
    *) why="$1 is $2, but this data is bound to $3" ;;
  esac
  printf '%s' "$why"
}

check_cluster_facts() { # one read, compare and record: status 2 when the record changed meanwhile
  local data fact key value recorded refused patch='' refusals=() resource_version
  kube_request "reading ConfigMap $STATE_CONFIG_MAP" GET "$facts_path"
  [[ $kube_code == 200 ]] ||
    kube_refused "reading ConfigMap $STATE_CONFIG_MAP" "the component creates it; RBAC needs get/patch on it"
  resource_version=$(json_string "$kube_body" resourceVersion) ||
    die "ConfigMap $STATE_CONFIG_MAP: no metadata.resourceVersion in the API's answer"
  data=${kube_body#*\"data\":} # a ConfigMap's data comes after its metadata; none: nothing recorded
  [[ $data != "$kube_body" ]] || data=
  for fact in $CLUSTER_FACTS; do
    key=${fact%%=*} value=${fact#*=}
    [[ $key =~ ^[a-z-]+$ && $value =~ ^[A-Za-z0-9._-]+$ ]] || die "CLUSTER_FACTS: '$fact' is not a key=value word"
    recorded=$(json_string "$data" "$key") || recorded=
    if [[ -z $recorded ]] || { [[ $key == newest-version ]] && version_newer "$value" "$recorded"; }; then
      patch+="${patch:+,}\"$key\":\"$value\""
    elif [[ $recorded != "$value" ]]; then
      refusals+=("$(fact_refusal "$key" "$value" "$recorded")")
    fi
  done
  if ((${#refusals[@]} > 0)); then
    printf -v refused '%s; ' "${refusals[@]}"
    die "cluster facts: this pod does not start (nothing was changed): its configuration changes what this" \
      "cluster's data is bound to (recorded in ConfigMap $STATE_CONFIG_MAP): ${refused%; }. Set it back in" \
      "the stack configuration (the redeploy guard refuses this before \`pulumi up\` when it can read the" \
      "cluster: it cannot when the cluster was given a Kubernetes provider of its own)"
  fi
  if [[ -z $patch ]]; then
    log "cluster facts: as recorded in ConfigMap $STATE_CONFIG_MAP ($CLUSTER_FACTS)"
    return 0
  fi
  # The resourceVersion makes the patch conditional: two pods starting at once never overwrite each other.
  kube_request "recording the cluster's facts" PATCH "$facts_path" \
    "{\"metadata\":{\"resourceVersion\":\"$resource_version\"},\"data\":{$patch}}"
  case $kube_code in
    200) log "cluster facts: recorded {$patch} in ConfigMap $STATE_CONFIG_MAP" ;;
    409) return 2 ;;
    *) kube_refused "recording the cluster's facts" "RBAC needs get/patch on ConfigMap $STATE_CONFIG_MAP" ;;
  esac
}

for ((facts_attempt = 1; ; facts_attempt++)); do
  facts_status=0
  check_cluster_facts || facts_status=$?
  ((facts_status == 2)) || break
  ((facts_attempt < 10)) || die "cluster facts: ConfigMap $STATE_CONFIG_MAP changed under every attempt"
  log "cluster facts: ConfigMap $STATE_CONFIG_MAP changed meanwhile; reading it again"
done
((facts_status == 0)) || exit "$facts_status"
