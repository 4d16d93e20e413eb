#!/usr/bin/env bash
# Proves that the tarballs from e2e/images/build-db.sh import into containerd and run: starts a private
# containerd (root, state and socket under a temp dir, CRI plugin off: it never touches a containerd already
# running here), imports every image, and runs in each: the uid (999), the empty datadir, the server's,
# client's, openssl's and (MariaDB; none in MySQL's, as in the official images) socat's versions, the tools the
# scripts call, and (MySQL) the CLONE plugin's library.
# The servers themselves are exercised by the script tier, which runs them inside the same root filesystems.
#
# Usage: e2e/images/verify-db.sh   (root; builds nothing: run build-db.sh first)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
log() { printf '[images-verify-db] %s\n' "$*" >&2; }
die() { printf '[images-verify-db] FAIL: %s\n' "$*" >&2; exit 1; }
[[ $EUID -eq 0 ]] || die "must run as root (starts containerd and runc)"
for p in containerd runc ctr; do command -v "$p" >/dev/null || die "$p is needed (Debian packages containerd, runc)"; done

list=$(bash "$HERE/build-db.sh" --list) || die "images not built: run $HERE/build-db.sh"

# shellcheck source=e2e/images/private-containerd.sh
source "$HERE/private-containerd.sh"
private_containerd_start images-verify-db

# shellcheck disable=SC2016 # runs in the container's bash
check='
  set -eu
  echo "id: $(id)"
  [ "$(id -u):$(id -g)" = 999:999 ]
  [ "$(stat -c %u:%g /var/lib/mysql)" = 999:999 ] && [ -z "$(ls -A /var/lib/mysql)" ]
  "$1" --version
  "$2" --version
  openssl version
  if [ "$1" = mariadbd ]; then socat -V | grep -m1 "socat version"; fi
  if [ "$1" = mysqld ] && command -v socat >/dev/null; then echo "socat in a MySQL image: the official ones have none"; exit 1; fi
  for c in "$3" bash sed grep sync mktemp tail hostname; do command -v "$c" >/dev/null || { echo "missing $c"; exit 1; }; done
  if [ "$1" = mysqld ]; then test -f /usr/lib/mysql/plugin/mysql_clone.so && test -d /var/lib/mysql-files; fi
  if [ "$1" = mariadbd ]; then mariadb-backup --version 2>&1 | head -n1; command -v mbstream >/dev/null; fi
'
n=0
while read -r ref tar; do
  [[ -n $ref ]] || continue
  log "import $tar"
  "${CTR[@]}" images import "$tar" >/dev/null </dev/null
  "${CTR[@]}" images ls -q | grep -qx "$ref" || die "$ref not listed after import"
  case $ref in
    */mysql:*) programs=(mysqld mysql mysqladmin) ;;
    */mariadb:*) programs=(mariadbd mariadb mariadb-admin) ;;
    *) die "unexpected image $ref" ;;
  esac
  log "run $ref"
  "${CTR[@]}" run --rm "$ref" "verify-db-$$-$n" bash -c "$check" check "${programs[@]}" </dev/null ||
    die "$ref does not carry what the scripts need"
  n=$((n + 1))
done <<<"$list"
log "OK: $n images import and run"
