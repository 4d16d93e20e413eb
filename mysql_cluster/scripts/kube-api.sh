#!/usr/bin/env bash
# Sourced by the scripts of the `label-pod` init container (never run): a minimal Kubernetes API client on
# bash and `socat ... OPENSSL:`, or `openssl s_client` where the image has no socat (the official mysql
# images have openssl only; no kubectl in any image). The service account token goes to the TLS client on
# stdin, never on a command line; the server's certificate (and its name or IP address) is verified against
# the service account's CA.
#
# Environment: POD_NAMESPACE (default: the service account's namespace), KUBERNETES_SERVICE_HOST and _PORT
# (set by the kubelet). For tests: KUBE_API_HOST, KUBE_API_PORT (override the service address),
# KUBE_SERVICEACCOUNT_DIR (token, ca.crt, namespace; default /var/run/secrets/kubernetes.io/serviceaccount),
# LABEL_RETRIES (default 12), LABEL_RETRY_DELAY (default 5 s), KUBE_API_CLIENT (socat or openssl; default
# socat when the image has it).
# shellcheck shell=bash

kube_api_init() { # checks the environment; sets kube_namespace and the connection settings
  kube_sa_dir=${KUBE_SERVICEACCOUNT_DIR:-/var/run/secrets/kubernetes.io/serviceaccount}
  kube_api_host=${KUBE_API_HOST:-${KUBERNETES_SERVICE_HOST:-}}
  kube_api_port=${KUBE_API_PORT:-${KUBERNETES_SERVICE_PORT:-443}}
  kube_retries=${LABEL_RETRIES:-12}
  kube_delay=${LABEL_RETRY_DELAY:-5}
  for name in kube_api_port kube_retries kube_delay; do require_number "$name"; done
  kube_client=${KUBE_API_CLIENT:-}
  if [[ -z $kube_client ]]; then
    kube_client=openssl
    command -v socat >/dev/null && kube_client=socat
  fi
  [[ $kube_client == socat || $kube_client == openssl ]] ||
    die "KUBE_API_CLIENT='$kube_client': allowed are socat, openssl"
  if ! command -v "$kube_client" >/dev/null; then
    [[ -z ${KUBE_API_CLIENT:-} ]] ||
      die "KUBE_API_CLIENT=$kube_client, but this image has no $kube_client (unset it: openssl is enough)"
    die "this image has neither socat nor openssl: the label-pod container cannot reach the Kubernetes API"
  fi
  [[ -n $kube_api_host ]] || die "KUBERNETES_SERVICE_HOST is not set: not running in a Kubernetes pod?"
  [[ -r $kube_sa_dir/token && -r $kube_sa_dir/ca.crt ]] ||
    die "no service account token or CA in $kube_sa_dir (automountServiceAccountToken must be true)"
  kube_namespace=${POD_NAMESPACE:-$(<"$kube_sa_dir/namespace")}
  [[ $kube_namespace =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] ||
    die "POD_NAMESPACE='$kube_namespace' is not a namespace name"
  # socat's address syntax and the Host header want IPv6 addresses in brackets.
  kube_address=$kube_api_host
  [[ $kube_address == *:* ]] && kube_address="[$kube_address]"
  return 0
}

# The TLS client's own diagnostics (socat 1.8, in the trixie and sid images, warns on every TLS connection:
# "does not check CRLs") must not mix with the response: they go to this file, and into the log only when no
# response came.
kube_client_errors=$(mktemp)
trap 'rm -f "$kube_client_errors"' EXIT

kube_tls_pipe() { # stdin to the API server over verified TLS, its answer to stdout
  if [[ $kube_client == socat ]]; then
    # shut-none: stdin's end must not close the TLS connection before the response has arrived.
    socat -t 30 -T 30 STDIO "OPENSSL:$kube_address:$kube_api_port,cafile=$kube_sa_dir/ca.crt,verify=1,shut-none"
    return
  fi
  # -quiet implies -ign_eof: the answer is read until the server closes (HTTP/1.0). The certificate must
  # chain to the CA and name the address connected to; any verification error ends the handshake.
  local verify=(-verify_hostname "$kube_api_host")
  [[ $kube_api_host =~ ^[0-9.]+$|: ]] && verify=(-verify_ip "$kube_api_host")
  timeout 30 openssl s_client -quiet -verify_quiet -verify_return_error -CAfile "$kube_sa_dir/ca.crt" \
    "${verify[@]}" -connect "$kube_address:$kube_api_port"
}

kube_request_once() { # <method> <path> [body]: prints the HTTP response; status 1 when the connection failed
  local method=$1 path=$2 body=${3:-} token headers
  token=$(<"$kube_sa_dir/token")
  # HTTP/1.0: the response comes whole, never chunked, and the server closes the connection after it.
  headers="$method $path HTTP/1.0"$'\r\n'"Host: $kube_address:$kube_api_port"$'\r\n'
  headers+="Authorization: Bearer $token"$'\r\n'"Accept: application/json"$'\r\n'
  headers+="User-Agent: mysql-cluster-$SCRIPT_NAME"$'\r\n'
  if [[ -n $body ]]; then
    headers+="Content-Type: application/merge-patch+json"$'\r\n'"Content-Length: ${#body}"$'\r\n'
  fi
  printf '%s\r\n%s' "$headers" "$body" | kube_tls_pipe 2>"$kube_client_errors"
}

# The "message" of a Kubernetes Status object, escaped quotes included.
kube_message_pattern='"message":[[:space:]]*"(([^"\\]|\\.)*)"'

kube_request() { # <what> <method> <path> [body]: sets kube_code and kube_body; retries transient failures
  # Connection failures, 5xx and 429 are retried; any other answer is returned (the caller decides).
  local what=$1 response status_line message problem attempt
  shift
  for ((attempt = 1; ; attempt++)); do
    response=$(kube_request_once "$@") || true
    status_line=${response%%$'\r'*}
    status_line=${status_line%%$'\n'*}
    kube_code=
    [[ $status_line =~ ^HTTP/1\.[01]\ ([0-9]{3}) ]] && kube_code=${BASH_REMATCH[1]}
    # shellcheck disable=SC2034 # read by the scripts that source this file
    kube_body=${response#*$'\r\n\r\n'}
    message=
    if [[ $response =~ $kube_message_pattern ]]; then
      message=${BASH_REMATCH[1]//\\\"/\"}
    fi
    kube_message=${message:-$status_line}
    case $kube_code in
      "") problem="no HTTP response from $kube_address:$kube_api_port: $(redact "$(tail -n 1 "$kube_client_errors")")" ;;
      429 | 5??) problem="HTTP $kube_code: $kube_message" ;;
      *) return 0 ;;
    esac
    ((attempt < kube_retries)) || die "$what: no answer after $attempt attempts: $problem"
    log "$what: $problem; retry $attempt/$kube_retries in ${kube_delay}s"
    sleep "$kube_delay"
  done
}

json_string() { # <json> <key>: the first string value of that key (status 1: absent)
  local pattern="\"$2\":[[:space:]]*\"([^\"]*)\""
  [[ $1 =~ $pattern ]] || return 1
  printf '%s' "${BASH_REMATCH[1]}"
}

kube_refused() { # <what> <rbac hint>: dies with the API's message for an answer that retrying cannot change
  die "$1: the API server refused: HTTP $kube_code: $kube_message ($2)"
}
