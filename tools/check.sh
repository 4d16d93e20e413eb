#!/usr/bin/env bash
# `make check`: the post-deploy replication checks against the stack `make up` deployed.
set -euo pipefail
# shellcheck source=tools/lib/target.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/target.sh"

choose_target --no-start
setup_pulumi
cd "$repo"
exec "$repo/.venv/bin/python" "$repo/scripts/check.py" --stack "$stack" "$@"
