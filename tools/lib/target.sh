# shellcheck shell=bash
# Sourced by tools/up.sh, tools/down.sh and tools/check.sh: decides where `make up` deploys and sets up the
# environment of the pulumi CLI for it.
#
# Target: the current kube context when one answers (stack "dev" unless MYSQL_CLUSTER_STACK says otherwise),
# else the local single-node cluster of e2e/cluster.sh (stack "local", local images). MYSQL_CLUSTER_TARGET=local
# or =current forces one.
# Pulumi: when no backend is configured (no PULUMI_BACKEND_URL, not logged in), a file backend under
# ~/.mysql-cluster, with a generated passphrase file for the stack's secrets (mode 0600, never printed).

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
state_home="${MYSQL_CLUSTER_HOME:-$HOME/.mysql-cluster}"

log() { printf '[%s] %s\n' "$(basename "$0" .sh)" "$*" >&2; }

current_context_answers() {
  # A KUBECONFIG that points at the local cluster means the local target, not "another cluster".
  if [[ -n ${KUBECONFIG:-} && $KUBECONFIG == "$(bash "$repo/e2e/cluster.sh" kubeconfig 2>/dev/null)" ]]; then
    return 1
  fi
  command -v kubectl >/dev/null 2>&1 || return 1
  kubectl config current-context >/dev/null 2>&1 || return 1
  kubectl --request-timeout=5s get --raw /readyz >/dev/null 2>&1
}

choose_target() { # --start | --no-start: whether to build and start the local cluster when it is the target
  local target=${MYSQL_CLUSTER_TARGET:-} start=true
  case $1 in
    --start) ;;
    --no-start) start=false ;;
    *) log "choose_target: --start or --no-start, not '$1'"; return 2 ;;
  esac
  if [[ -z $target ]]; then
    if current_context_answers; then target=current; else target=local; fi
  fi
  case $target in
    current)
      stack=${MYSQL_CLUSTER_STACK:-dev}
      log "target: the current kube context $(kubectl config current-context) (stack $stack)"
      ;;
    local)
      stack=${MYSQL_CLUSTER_STACK:-local}
      log "target: the local cluster (stack $stack), as no other Kubernetes cluster is configured"
      if $start; then
        bash "$repo/e2e/toolchain/build.sh"
        bash "$repo/e2e/cluster.sh" up
      fi
      PATH="$(bash "$repo/e2e/toolchain/build.sh" --print-path):$PATH"
      KUBECONFIG=$(bash "$repo/e2e/cluster.sh" kubeconfig)
      export PATH KUBECONFIG
      export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
      ;;
    *)
      log "MYSQL_CLUSTER_TARGET must be 'local' or 'current', not '$target'"
      return 2
      ;;
  esac
  export MYSQL_CLUSTER_TARGET=$target
}

setup_pulumi() {
  if ! command -v pulumi >/dev/null 2>&1; then
    bash "$repo/e2e/toolchain/build.sh"
    PATH="$(bash "$repo/e2e/toolchain/build.sh" --print-path):$PATH"
    export PATH
  fi
  export PULUMI_SKIP_UPDATE_CHECK=true
  if [[ -z ${PULUMI_BACKEND_URL:-} ]] && ! pulumi whoami >/dev/null 2>&1; then
    mkdir -p "$state_home/pulumi-state"
    export PULUMI_BACKEND_URL="file://$state_home/pulumi-state"
  fi
  if [[ -z ${PULUMI_CONFIG_PASSPHRASE:-} && -z ${PULUMI_CONFIG_PASSPHRASE_FILE:-} ]]; then
    local file="$state_home/passphrase"
    if [[ ! -s $file ]]; then
      (umask 077 && mkdir -p "$state_home" && head -c 32 /dev/urandom | base64 >"$file")
    fi
    export PULUMI_CONFIG_PASSPHRASE_FILE=$file
  fi
  # The program runs in the project's virtualenv (Pulumi.yaml); make sure it exists.
  bash "$repo/tools/setup-host.sh"
}
