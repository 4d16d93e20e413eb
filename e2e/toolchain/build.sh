#!/usr/bin/env bash
# Builds (cold: about half an hour on two cores) or finds (cached: seconds) everything the end-to-end tier needs:
# the Pulumi CLI, language host and provider plugins, the Kubernetes components, the object store the backups
# go to (versitygw), and the local images.
# Each part caches its own output under ${MYSQL_CLUSTER_CACHE:-/var/cache/mysql-cluster}, keyed by its pins.
#   build.sh              build what is missing
#   build.sh --print-path print the PATH entries (pulumi and kubernetes bin dirs), build nothing
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
images="$here/../images/build.sh"

log() { printf '[toolchain] %s\n' "$*" >&2; }

if [[ ${1:-} == --print-path ]]; then
  printf '%s:%s\n' "$(bash "$here/pulumi.sh" --print-path)" "$(bash "$here/kubernetes.sh" --print-bin-dir)"
  exit 0
fi

start=$SECONDS
# The image build is mostly downloads and disk; run it beside the compiles.
log "images: building in the background"
bash "$images" &
images_pid=$!

bash "$here/kubernetes.sh"
bash "$here/pulumi.sh"
bash "$here/versitygw.sh" >/dev/null

if ! wait "$images_pid"; then
  log "images: build failed"
  exit 1
fi
log "toolchain ready in $((SECONDS - start))s"
