#!/usr/bin/env bash
# `eval "$(make env)"`: puts the user's own shell where `make up` deploys, so that the commands this program
# exists for work as typed: `pulumi config set replicas 4`, `pulumi up`, `pulumi destroy`, `kubectl get pods`.
# Prints `export` lines (and nothing else on stdout): PATH with the pulumi CLI, its plugins and kubectl (the
# ones the toolchain built, for the local cluster), KUBECONFIG, the Pulumi backend and the passphrase file
# `make up` uses (the passphrase itself is never printed), and selects the stack. Everything it does besides
# goes to stderr. Run it from the repository (Pulumi.yaml is here), and `cd` there to use pulumi.
set -euo pipefail
# shellcheck source=tools/lib/target.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/target.sh"

{
  choose_target --no-start
  setup_pulumi
  cd "$repo"
  pulumi stack select --create "$stack"
} >&2

PATH=${PATH//"$repo/.venv/bin:"/} # make's own addition: the program's virtualenv is Pulumi.yaml's business
for name in PATH KUBECONFIG PULUMI_BACKEND_URL PULUMI_CONFIG_PASSPHRASE_FILE PULUMI_SKIP_UPDATE_CHECK \
  PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION MYSQL_CLUSTER_TARGET; do
  [[ -n ${!name:-} ]] && printf 'export %s=%q\n' "$name" "${!name}"
done
printf 'export MYSQL_CLUSTER_STACK=%q\n' "$stack"
printf '%s\n' "echo 'mysql-cluster: pulumi and kubectl now reach stack $stack ($MYSQL_CLUSTER_TARGET target); cd $repo' >&2"
