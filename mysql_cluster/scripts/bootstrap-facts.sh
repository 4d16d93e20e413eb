#!/usr/bin/env bash
# Sourced by label-pod.sh on ordinal 0 (never run): gathers, through the Kubernetes API, the facts that decide
# how the primary may start when its volume holds no data, and writes them to $RUN_DIR/bootstrap-facts for
# clone.sh (bootstrap.sh), which decides. The fact "this cluster was initialised" lives in the cluster's state
# ConfigMap ($STATE_CONFIG_MAP, key initialised-claim: the UID of the claim the first initialisation ran on),
# so it outlives the primary's volume and holds when every pod restarts at once. Recorded here, before any
# initialisation, the first time ordinal 0 starts. Needs RBAC: get/patch on that ConfigMap, get on the
# StatefulSet and on persistentvolumeclaims.
# shellcheck shell=bash
# shellcheck disable=SC2154 # kube_code, kube_body, kube_namespace: set by kube-api.sh (sourced first)

require_env STATE_CONFIG_MAP DATA_CLAIM_TEMPLATE RUN_DIR

statefulset_name=${POD_NAME%-*}
api_core="/api/v1/namespaces/$kube_namespace"

kube_request "reading ConfigMap $STATE_CONFIG_MAP" GET "$api_core/configmaps/$STATE_CONFIG_MAP"
[[ $kube_code == 200 ]] ||
  kube_refused "reading ConfigMap $STATE_CONFIG_MAP" "the component creates it; RBAC needs get/patch on it"
marker=$(json_string "$kube_body" initialised-claim) || marker=

kube_request "reading StatefulSet $statefulset_name" GET \
  "/apis/apps/v1/namespaces/$kube_namespace/statefulsets/$statefulset_name"
[[ $kube_code == 200 ]] || kube_refused "reading StatefulSet $statefulset_name" "RBAC needs get on it"
[[ ${kube_body#*\"spec\":} =~ ^[[:space:]]*\{[[:space:]]*\"replicas\":[[:space:]]*([0-9]+) ]] ||
  die "StatefulSet $statefulset_name: no spec.replicas in the API's answer"
replicas=${BASH_REMATCH[1]}

claim=
peers=()
retained=() # claims kept from a scale-down (ordinals >= replicas): data no running pod serves
claim_scan_limit=${CLAIM_SCAN_LIMIT:-64} # the highest replica count the configuration allows (limits.py)
require_number claim_scan_limit
misses=0
for ((ordinal = 0; ordinal < claim_scan_limit; ordinal++)); do
  # Beyond spec.replicas, until 8 ordinals in a row have none: a scale-down keeps a contiguous range.
  ((ordinal >= replicas && misses >= 8)) && break
  claim_name=$DATA_CLAIM_TEMPLATE-$statefulset_name-$ordinal
  kube_request "reading claim $claim_name" GET "$api_core/persistentvolumeclaims/$claim_name"
  case $kube_code in
    200) misses=0 ;;
    404)
      misses=$((misses + 1))
      continue
      ;;
    *) kube_refused "reading claim $claim_name" "RBAC needs get on persistentvolumeclaims" ;;
  esac
  uid=$(json_string "$kube_body" uid) || die "claim $claim_name: no metadata.uid in the API's answer"
  if ((ordinal == 0)); then
    claim=$uid
  elif ((ordinal < replicas)); then
    peers+=("$ordinal")
  else
    retained+=("$ordinal")
  fi
done
[[ -n $claim ]] || die "claim $DATA_CLAIM_TEMPLATE-$POD_NAME of this pod was not found"

if [[ -z $marker ]]; then
  log "bootstrap: no initialisation recorded; recording claim $claim in ConfigMap $STATE_CONFIG_MAP"
  kube_request "recording the initialisation" PATCH "$api_core/configmaps/$STATE_CONFIG_MAP" \
    "{\"data\":{\"initialised-claim\":\"$claim\"}}"
  [[ $kube_code == 200 ]] ||
    kube_refused "recording the initialisation" "RBAC needs get/patch on ConfigMap $STATE_CONFIG_MAP"
fi
write_file_atomically "$(bootstrap_facts_file)" 0644 "# Bootstrap facts of $POD_NAME, gathered by label-pod.sh.
marker=$marker
claim=$claim
peers=${peers[*]}
retained=${retained[*]}"
log "bootstrap facts: initialised on claim '${marker:-none yet}', this pod's claim $claim," \
  "replicas with a claim: ${peers[*]:-none}; claims kept from a scale-down: ${retained[*]:-none}"
