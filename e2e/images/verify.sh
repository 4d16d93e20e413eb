#!/usr/bin/env bash
# Proves that the tarballs from e2e/images/build.sh import into containerd and run:
# starts a private containerd (root/state/socket under a temp dir, CRI plugin
# off, so it never touches a containerd already running on this machine),
# `ctr -n k8s.io images import`s both tarballs, lists them, runs the MariaDB image
# (version, uid 999, empty datadir, a real server start and query) and the pause
# image (exits 0 on SIGTERM), then stops that containerd and removes the temp dir.
#
# Usage: e2e/images/verify.sh   (root; builds nothing: run build.sh first)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
log() { printf '[images-verify] %s\n' "$*" >&2; }
die() { printf '[images-verify] FAIL: %s\n' "$*" >&2; exit 1; }
[[ $EUID -eq 0 ]] || die "must run as root (starts containerd and runc)"

for p in containerd runc; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    log "apt-get install $p"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      -o DPkg::Lock::Timeout=600 "$p" >&2
  fi
done

list=$("$HERE/build.sh" --list) || die "images not built: run $HERE/build.sh"
pause_ref=$(awk '$1 ~ /\/pause:/ { print $1 }' <<<"$list")
pause_tar=$(awk '$1 ~ /\/pause:/ { print $2 }' <<<"$list")
db_ref=$(awk '$1 ~ /\/mariadb:/ { print $1 }' <<<"$list")
db_tar=$(awk '$1 ~ /\/mariadb:/ { print $2 }' <<<"$list")

# shellcheck source=e2e/images/private-containerd.sh
source "$HERE/private-containerd.sh"
private_containerd_start images-verify
T=$PRIVATE_CONTAINERD_DIR

for t in "$pause_tar" "$db_tar"; do
  log "ctr -n k8s.io images import $t"
  "${CTR[@]}" images import "$t"
done
"${CTR[@]}" images ls
for r in "$pause_ref" "$db_ref"; do
  "${CTR[@]}" images ls -q | grep -qx "$r" || die "$r not listed after import"
done

id=verify-$$
runc_root=$T/runc
log "ctr run --rm $db_ref mariadbd --version"
"${CTR[@]}" run --rm --runc-root "$runc_root" "$db_ref" "$id-v" mariadbd --version

# ctr's default spec mounts a tmpfs on /run (the CRI plugin does not), so
# /run/mysqld is checked in the image layer itself.
log "layer: /var/lib/mysql and /run/mysqld owned by 999:999"
layer=$(tar -xOf "$db_tar" index.json | jq -r '.manifests[0].digest')
layer=$(tar -xOf "$db_tar" "blobs/sha256/${layer#sha256:}" | jq -r '.layers[-1].digest')
tar -xOf "$db_tar" "blobs/sha256/${layer#sha256:}" | tar -tzv --numeric-owner >"$T/layer.txt"
for d in var/lib/mysql run/mysqld; do
  grep -E "^d.* 999/999 .* $d/\$" "$T/layer.txt" || die "$d is not a 999:999 directory in the layer"
done

log "ctr run --rm $db_ref: user, datadir, tools, server start + query"
# shellcheck disable=SC2016 # the script runs in the container's bash
"${CTR[@]}" run --rm --runc-root "$runc_root" "$db_ref" "$id-db" bash -euc '
  echo "id: $(id)"
  [ "$(id -u):$(id -g)" = 999:999 ]
  stat -c "%n %u:%g %a" /var/lib/mysql
  [ "$(stat -c %u:%g /var/lib/mysql)" = 999:999 ]
  [ -z "$(ls -A /var/lib/mysql)" ]
  mariadb-backup --version 2>&1 | head -n1
  socat -V | grep -m1 "socat version"
  for c in mbstream mariadb mariadb-admin gzip hostname ps ip tar; do command -v "$c" >/dev/null || { echo "missing $c"; exit 1; }; done
  test -f /usr/share/zoneinfo/UTC && test -s /etc/ssl/certs/ca-certificates.crt
  d=/tmp/data
  mariadb-install-db --datadir=$d --auth-root-authentication-method=normal --skip-test-db >/tmp/install.log 2>&1 || { cat /tmp/install.log; exit 1; }
  mariadbd --no-defaults --datadir=$d --skip-networking --socket=/tmp/s.sock --pid-file=/tmp/p.pid >/tmp/server.log 2>&1 &
  for _ in $(seq 100); do mariadb-admin --socket=/tmp/s.sock -uroot ping >/dev/null 2>&1 && break; sleep 0.2; done
  mariadb --socket=/tmp/s.sock -uroot -N -e "select concat(\"server says: \", version(), \" as \", current_user())"
  mariadb-admin --socket=/tmp/s.sock -uroot shutdown
  wait
'

log "ctr run $pause_ref, then SIGTERM (must exit 0)"
"${CTR[@]}" run --rm --runc-root "$runc_root" "$pause_ref" "$id-pause" &
run_pid=$!
for _ in $(seq 50); do
  "${CTR[@]}" task ls 2>/dev/null | grep -q "^$id-pause .*RUNNING" && break
  sleep 0.2
done
"${CTR[@]}" task ls | grep -q "^$id-pause .*RUNNING" || die "pause is not running"
"${CTR[@]}" task kill -s SIGTERM "$id-pause"
code=0
wait "$run_pid" || code=$?
[[ $code == 0 ]] || die "pause exited $code on SIGTERM"
log "pause exited 0 on SIGTERM"

log "OK: both images import, list and run"
