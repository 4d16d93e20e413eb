#!/usr/bin/env bash
# Init container `label-pod` (backup image): sets this pod's labels through the Kubernetes API with a JSON
# merge patch (kube-api.sh):
#   mysql-cluster.io/role: primary (ordinal 0) or replica
#   mysql-cluster.io/serves-reads: "true" on replicas; on the primary the value of PRIMARY_SERVES_READS
# The read Service can select on either. Then it checks this pod's configuration against what the cluster's
# data is bound to, recording what is not recorded yet (cluster-facts.sh), and on ordinal 0 gathers the facts
# that decide how the primary may start without data (bootstrap-facts.sh). Needs RBAC: get/patch on pods in the namespace. Retries
# transient failures (connection, 5xx, 429); fails at once on the others (401, 403, 404, 422: retrying cannot
# help) with the API's message. Environment: see kube-api.sh.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=kube-api.sh
source "$(dirname "${BASH_SOURCE[0]}")/kube-api.sh"

parse_ordinal
kube_api_init

pod_role=$(role)
serves_reads=true
if [[ $pod_role == primary ]]; then
  case ${PRIMARY_SERVES_READS:-false} in
    true) serves_reads=true ;;
    false) serves_reads=false ;;
    *) die "PRIMARY_SERVES_READS='${PRIMARY_SERVES_READS}' is neither true nor false" ;;
  esac
fi
body="{\"metadata\":{\"labels\":{\"mysql-cluster.io/role\":\"$pod_role\",\"mysql-cluster.io/serves-reads\":\"$serves_reads\"}}}"

log "labelling $kube_namespace/$POD_NAME: mysql-cluster.io/role=$pod_role, mysql-cluster.io/serves-reads=$serves_reads"
kube_request label PATCH "/api/v1/namespaces/$kube_namespace/pods/$POD_NAME" "$body"
[[ $kube_code == 200 ]] || kube_refused label "service account RBAC needs get/patch on pods"
log "labelled $kube_namespace/$POD_NAME as $pod_role"

if [[ -n ${STATE_CONFIG_MAP:-} && -n ${CLUSTER_FACTS:-} ]]; then
  # shellcheck source-path=SCRIPTDIR source=cluster-facts.sh
  source "$(dirname "${BASH_SOURCE[0]}")/cluster-facts.sh"
fi

if ((ORDINAL == 0)); then
  if [[ -n ${STATE_CONFIG_MAP:-} ]]; then
    # shellcheck source-path=SCRIPTDIR source=bootstrap-facts.sh
    source "$(dirname "${BASH_SOURCE[0]}")/bootstrap-facts.sh"
  else
    log "STATE_CONFIG_MAP is not set: no bootstrap facts gathered (the primary will not initialise)"
  fi
fi
