#!/usr/bin/env bash
# `make check`: the post-deploy replication checks against the stack `make up` deployed.
set -euo pipefail
# shellcheck source=tools/lib/target.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/target.sh"

MYSQL_CLUSTER_TARGET=${MYSQL_CLUSTER_TARGET:-$(current_context_answers && echo current || echo local)}
if [[ $MYSQL_CLUSTER_TARGET == local ]]; then
  PATH="$(bash "$repo/e2e/toolchain/build.sh" --print-path):$PATH"
  KUBECONFIG=$(bash "$repo/e2e/cluster.sh" kubeconfig)
  export PATH KUBECONFIG
  stack=${MYSQL_CLUSTER_STACK:-local}
else
  stack=${MYSQL_CLUSTER_STACK:-dev}
fi
setup_pulumi
cd "$repo"
exec "$repo/.venv/bin/python" "$repo/scripts/check.py" --stack "$stack" "$@"
