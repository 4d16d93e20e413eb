#!/usr/bin/env bash
# Builds (cold: about 80 s on two cores) or finds (cached: instantly) versitygw, the S3-compatible object store
# the tests back up into (Apache-2.0; MinIO and Garage are AGPL and not used). `go install` of the pinned
# module from the Go module proxy (it has no replace directives), into
#   ${MYSQL_CLUSTER_CACHE:-/var/cache/mysql-cluster}/versitygw-<version>-<go version>/bin/versitygw
# written to a temporary name and renamed, `.complete` written last; one builder at a time (flock).
#   versitygw.sh               build if missing, then print the binary's path
#   versitygw.sh --print-path  print the binary's path; exit 1 if it is not built (never builds)
# Needs Go >= 1.25 (its go.mod), as the rest of the toolchain needs Go >= 1.26 (kubernetes.sh, pulumi.sh); Go
# is never downloaded here (GOTOOLCHAIN=local) and Debian bookworm's golang-go (1.19) is too old.
set -euo pipefail

VERSITYGW_VERSION=v1.8.0
MODULE=github.com/versity/versitygw/cmd/versitygw

log() { printf '[toolchain/versitygw] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

go_bin=$(command -v go || true)
[[ -n $go_bin || ! -x /usr/local/go/bin/go ]] || go_bin=/usr/local/go/bin/go
[[ -n $go_bin ]] || die "go is not installed (versitygw $VERSITYGW_VERSION is built from its Go module: Go >= 1.25)"
go_version=$("$go_bin" env GOVERSION)
CACHE=${MYSQL_CLUSTER_CACHE:-/var/cache/mysql-cluster}
DIR=$CACHE/versitygw-$VERSITYGW_VERSION-$go_version
BIN=$DIR/bin/versitygw

if [[ ${1:-} == --print-path ]]; then
  [[ -f $DIR/.complete && -x $BIN ]] || { log "not built: run bash $0"; exit 1; }
  printf '%s\n' "$BIN"
  exit 0
fi
[[ $# -eq 0 ]] || die "usage: versitygw.sh [--print-path]"

if [[ ! -f $DIR/.complete ]]; then
  mkdir -p "$DIR/bin"
  exec 9>"$DIR/.lock"
  flock 9
  if [[ ! -f $DIR/.complete ]]; then
    log "go install $MODULE@$VERSITYGW_VERSION (cold: about 80 s; log: $DIR/build.log) ..."
    start=$SECONDS
    # GOSUMDB=off: the checksum database is not reachable here (as in the rest of the toolchain).
    if ! GOBIN=$DIR/bin.tmp GOTOOLCHAIN=local GOSUMDB=off GOFLAGS=-trimpath CGO_ENABLED=0 \
      nice -n 10 "$go_bin" install "$MODULE@$VERSITYGW_VERSION" >"$DIR/build.log" 2>&1; then
      tail -n 20 "$DIR/build.log" >&2
      die "go install $MODULE@$VERSITYGW_VERSION failed"
    fi
    mv -f "$DIR/bin.tmp/versitygw" "$BIN"
    rmdir "$DIR/bin.tmp"
    "$BIN" --version >>"$DIR/build.log" 2>&1 || die "the built versitygw does not run"
    date -u +%FT%TZ >"$DIR/.complete"
    log "built in $((SECONDS - start)) s"
  fi
  exec 9>&-
fi
printf '%s\n' "$BIN"
