#!/usr/bin/env bash
# `make up`: deploy the cluster (to the local cluster when no other is configured), then prove it replicates.
set -euo pipefail
# shellcheck source=tools/lib/target.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/target.sh"

choose_target --start
setup_pulumi
cd "$repo"
if [[ $MYSQL_CLUSTER_TARGET == local ]]; then
  "$repo/.venv/bin/python" "$repo/tools/local_secret.py" ensure "$stack"
fi
pulumi stack select --create "$stack" >/dev/null
start=$SECONDS
pulumi up --yes --skip-preview --stack "$stack"
log "pulumi up finished in $((SECONDS - start))s; checking replication"
"$repo/.venv/bin/python" "$repo/scripts/check.py" --stack "$stack" --wait "${CHECK_WAIT_SECONDS:-300}"
