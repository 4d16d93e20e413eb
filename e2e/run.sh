#!/usr/bin/env bash
# Runs the end-to-end scenarios of several flavors at once on the one local cluster (`make e2e` calls it):
#   e2e/run.sh PYTEST "FULL FLAVORS" "SMOKE FLAVORS"
# Every scenario on each full flavor (the flavor-independent ones, marker `once`, on the first only), the
# smoke subset on each smoke flavor; one pytest run per flavor, all started together, each in namespaces of
# its own (tests/e2e/conftest.py). The runs meet once: the node restart of chaos scenario (f) stops every pod
# on the node, so it happens when every run is there or finished (tests/e2e/node.py). Each run's output is
# kept and printed whole, in the order given, once all have ended; exits non-zero if any run failed.
set -euo pipefail

(($# == 3)) || { echo "usage: e2e/run.sh PYTEST 'FULL FLAVORS' 'SMOKE FLAVORS'" >&2; exit 2; }
pytest=$1
read -r -a full <<<"$2"
read -r -a smoke <<<"$3"

sync=$(mktemp -d /tmp/mysql-cluster-e2e-runs.XXXXXX)
trap 'rm -rf "$sync"' EXIT
export MYSQL_CLUSTER_E2E_SYNC=$sync
export MYSQL_CLUSTER_E2E_PEERS="${full[*]} ${smoke[*]}"

names=() pids=() started=$SECONDS
start_run() { # <flavor> <label> <marker>
  mkdir -p "$sync/$1-tmp"
  MYSQL_CLUSTER_E2E_FLAVOR=$1 "$pytest" -m "$3" --basetemp="$sync/$1-tmp" >"$sync/$1.log" 2>&1 &
  pids+=("$!")
  names+=("$1 ($2)")
  echo "e2e: started $1 ($2: $3)"
}
marker="e2e"
for flavor in "${full[@]}"; do
  start_run "$flavor" "every scenario" "$marker"
  marker="e2e and not once"
done
for flavor in "${smoke[@]}"; do
  start_run "$flavor" "smoke" "e2e and smoke"
done

failed=()
for i in "${!pids[@]}"; do
  status=0
  wait "${pids[$i]}" || status=$?
  ((status == 0)) || failed+=("${names[$i]}")
done
for i in "${!names[@]}"; do
  flavor=${names[$i]%% *}
  echo "===== e2e: ${names[$i]} ====="
  cat "$sync/$flavor.log"
done
echo "e2e: ${#names[@]} runs at once, all ended after $((SECONDS - started))s"
if ((${#failed[@]} > 0)); then
  echo "e2e: FAILED on: ${failed[*]}"
  exit 1
fi
