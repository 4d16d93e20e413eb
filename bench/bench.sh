#!/usr/bin/env bash
# `make bench`: the tutorial and this program measured back to back on the local cluster (bench/README.md),
# on each flavor of BENCH_FLAVORS in turn. Everything that does not need the cluster (packages, the toolchain)
# is prepared first; then, per flavor, the shared cluster lock is taken for the measurements alone, and the
# cluster is stopped before it is released.
# BENCH_LOCK_HELD=1 when the caller already holds /tmp/mysql-cluster-e2e.lock (flock ... make bench).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="${VENV:-$repo/.venv}"
lock=/tmp/mysql-cluster-e2e.lock

log() { printf '[bench] %s\n' "$*" >&2; }

bash "$repo/tools/setup-host.sh"
stamp="$venv/.bench-installed-$(sha256sum "$repo/pyproject.toml" | cut -c1-16)"
if [[ ! -e $stamp ]]; then
  log "installing the bench extra (matplotlib) into $venv"
  "$venv/bin/pip" install -q -e "${repo}[dev,bench]"
  rm -f "$venv"/.bench-installed-*
  touch "$stamp"
fi
if ! command -v sysbench >/dev/null 2>&1; then
  log "installing sysbench (Debian)"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends \
    sysbench >/dev/null
fi
bash "$repo/e2e/toolchain/build.sh"

cd "$repo"
# BENCH_FLAVORS (comma-separated; default: BENCH_FLAVOR if set, else every flavor the e2e tier deploys), checked
# before the lock is taken: a clear error naming the allowed values.
flavors=$("$venv/bin/python" -c 'from bench.flavors import chosen_flavors; print(" ".join(f.key for f in chosen_flavors()))')
log "flavors: $flavors"

status=0
for flavor in $flavors; do
  # One hold of the lock per flavor (about 10 minutes): others may take the cluster between two flavors.
  (
    if [[ ${BENCH_LOCK_HELD:-0} != 1 ]]; then
      exec 9>"$lock"
      log "$flavor: waiting for the shared cluster lock ($lock)"
      flock 9
    fi
    log "$flavor: lock held from $(date -u +%H:%M:%S)"
    trap 'bash "$repo/e2e/cluster.sh" down; log "$flavor: cluster down, lock released at $(date -u +%H:%M:%S)"' EXIT
    bash "$repo/e2e/cluster.sh" up
    BENCH_FLAVOR=$flavor "$venv/bin/python" -m bench
  ) || {
    status=$?
    log "$flavor: the benchmark failed (exit $status); its partial report is in bench/results/$flavor/"
  }
done
exit "$status"
