#!/usr/bin/env bash
# Init container `label-pod` (backup image): sets this pod's labels through the Kubernetes API, with a JSON
# merge patch over HTTP/1.1 on `socat ... OPENSSL:` (no kubectl in the images):
#   mysql-cluster.io/role: primary (ordinal 0) or replica
#   mysql-cluster.io/serves-reads: "true" on replicas; on the primary the value of PRIMARY_SERVES_READS
# The read Service can select on either. The service account token goes to socat on stdin, never argv.
# Needs RBAC: get/patch on pods in the namespace. Retries transient failures (connection, 5xx, 429);
# fails at once on the others (401, 403, 404, 422: retrying cannot help) with the API's message.
#
# Environment: POD_NAME, POD_NAMESPACE (default: the service account's namespace), KUBERNETES_SERVICE_HOST
# and _PORT (set by the kubelet). For tests: KUBE_API_HOST, KUBE_API_PORT (override the service address),
# KUBE_SERVICEACCOUNT_DIR (token, ca.crt, namespace; default /var/run/secrets/kubernetes.io/serviceaccount),
# LABEL_RETRIES (default 12), LABEL_RETRY_DELAY (default 5 s).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

parse_ordinal
sa_dir=${KUBE_SERVICEACCOUNT_DIR:-/var/run/secrets/kubernetes.io/serviceaccount}
api_host=${KUBE_API_HOST:-${KUBERNETES_SERVICE_HOST:-}}
api_port=${KUBE_API_PORT:-${KUBERNETES_SERVICE_PORT:-443}}
retries=${LABEL_RETRIES:-12}
delay=${LABEL_RETRY_DELAY:-5}
for name in api_port retries delay; do require_number "$name"; done
[[ -n $api_host ]] || die "KUBERNETES_SERVICE_HOST is not set: not running in a Kubernetes pod?"
[[ -r $sa_dir/token && -r $sa_dir/ca.crt ]] ||
  die "no service account token or CA in $sa_dir (automountServiceAccountToken must be true)"
namespace=${POD_NAMESPACE:-$(<"$sa_dir/namespace")}
[[ $namespace =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || die "POD_NAMESPACE='$namespace' is not a namespace name"

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

# socat's address syntax and the Host header want IPv6 addresses in brackets.
address=$api_host
[[ $address == *:* ]] && address="[$address]"

# socat's own diagnostics (socat 1.8 warns on every TLS connection, e.g. "does not check CRLs") must not
# mix with the response: they go to this file, and only into the log when no response came.
socat_errors=$(mktemp)
trap 'rm -f "$socat_errors"' EXIT

patch_once() { # prints the HTTP response; status 1 when the connection failed
  local token
  token=$(<"$sa_dir/token")
  # shut-none: stdin's end must not close the TLS connection before the response has arrived.
  printf 'PATCH /api/v1/namespaces/%s/pods/%s HTTP/1.1\r\nHost: %s:%s\r\nAuthorization: Bearer %s\r\nContent-Type: application/merge-patch+json\r\nAccept: application/json\r\nUser-Agent: mysql-cluster-label-pod\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
    "$namespace" "$POD_NAME" "$address" "$api_port" "$token" "${#body}" "$body" |
    socat -t 30 -T 30 STDIO "OPENSSL:$address:$api_port,cafile=$sa_dir/ca.crt,verify=1,shut-none" \
      2>"$socat_errors"
}

# The "message" of a Kubernetes Status object, escaped quotes included.
message_pattern='"message":[[:space:]]*"(([^"\\]|\\.)*)"'
log "labelling $namespace/$POD_NAME: mysql-cluster.io/role=$pod_role, mysql-cluster.io/serves-reads=$serves_reads"
for ((attempt = 1; ; attempt++)); do
  response=$(patch_once) || true
  status_line=${response%%$'\r'*}
  status_line=${status_line%%$'\n'*}
  code=
  [[ $status_line =~ ^HTTP/1\.[01]\ ([0-9]{3}) ]] && code=${BASH_REMATCH[1]}
  message=
  if [[ $response =~ $message_pattern ]]; then
    message=${BASH_REMATCH[1]//\\\"/\"}
  fi
  case $code in
    200)
      log "labelled $namespace/$POD_NAME as $pod_role"
      exit 0
      ;;
    401 | 403 | 404 | 422)
      die "the API server refused the patch: HTTP $code: ${message:-$status_line} (service account RBAC needs get/patch on pods)"
      ;;
    "")
      what="no HTTP response from $address:$api_port: $(redact "$(tail -n 1 "$socat_errors")")"
      ;;
    *)
      what="HTTP $code: ${message:-$status_line}"
      ;;
  esac
  ((attempt < retries)) || die "could not label the pod after $attempt attempts: $what"
  log "label: $what; retry $attempt/$retries in ${delay}s"
  sleep "$delay"
done
