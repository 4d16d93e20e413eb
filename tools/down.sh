#!/usr/bin/env bash
# `make down`: destroy the stack `make up` deployed. The local cluster itself stays up (`make cluster-down`).
set -euo pipefail
# shellcheck source=tools/lib/target.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/target.sh"

choose_target --start
setup_pulumi
cd "$repo"
pulumi destroy --yes --skip-preview --stack "$stack"
if [[ $MYSQL_CLUSTER_TARGET == local ]]; then
  "$repo/.venv/bin/python" "$repo/tools/local_secret.py" delete "$stack"
fi
