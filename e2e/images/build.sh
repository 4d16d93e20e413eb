#!/usr/bin/env bash
# Builds the e2e container images without Docker or a registry, as OCI image
# layout tarballs that `ctr -n k8s.io images import <tarball>` accepts:
#
#   localhost/mysql-cluster/pause:3.10     static Go pause binary, entrypoint /pause
#   localhost/mysql-cluster/mariadb:10.11  debootstrap bookworm minbase + MariaDB 10.11
#
# Cache: ${MYSQL_CLUSTER_CACHE:-/var/cache/mysql-cluster}/images/<key>/<image>.tar,
# <key> derived from the pinned inputs (Debian suite, exact candidate versions,
# Go version, hash of this script and of the image's own files). A key
# directory is complete only when its `.complete` marker exists (written last).
#
# Usage:
#   e2e/images/build.sh           build what is missing (root; idempotent)
#   e2e/images/build.sh --force   rebuild both images
#   e2e/images/build.sh --list    print "<image-name> <tarball>" per image,
#                                 exit 1 if any is not built (never builds)
#
# Environment: MYSQL_CLUSTER_CACHE (cache root), DEBIAN_MIRROR and
# DEBIAN_SECURITY_MIRROR (default: taken from /etc/apt/sources.list*).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE_ROOT=${MYSQL_CLUSTER_CACHE:-/var/cache/mysql-cluster}
IMAGES_DIR=$CACHE_ROOT/images
SUITE=bookworm
ARCH=amd64

PAUSE_IMAGE=localhost/mysql-cluster/pause:3.10
DB_IMAGE=localhost/mysql-cluster/mariadb:10.11
# Installed at exactly the host's candidate version (part of the cache key).
DB_PINNED=(mariadb-server mariadb-client mariadb-backup socat)
DB_OTHERS=(bash coreutils procps hostname gzip tzdata ca-certificates iproute2 curl zstd)
DB_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() { printf '[images] %s\n' "$*" >&2; }
die() { printf '[images] ERROR: %s\n' "$*" >&2; exit 1; }

usage() { sed -n '2,22s/^# \{0,1\}//p' "$0"; }

MODE=build
case "${1:-}" in
  "") ;;
  --list) MODE=list ;;
  --force) MODE=force ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
esac
[[ $# -le 1 ]] || { usage >&2; exit 2; }

if [[ $MODE != list && $EUID -ne 0 ]]; then
  die "must run as root (debootstrap, chroot, mount and uid-preserving layers need it); try: sudo $0 $*"
fi

# ---------------------------------------------------------------- inputs --

declare -A CAND=()
load_candidates() { # CAND[pkg]=candidate version on this host (one apt-cache call)
  local p v
  CAND=()
  while read -r p v; do CAND[$p]=$v; done < <(
    apt-cache policy "${DB_PINNED[@]}" debootstrap umoci 2>/dev/null |
      awk '/^[^ ].*:$/ { p = substr($0, 1, length($0) - 1) }
           $1 == "Candidate:" && $2 != "(none)" { print p, $2 }')
}
candidate() { printf '%s' "${CAND[$1]:-}"; }

apt_install() { # install missing Debian packages (waits for other apt users)
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  log "apt-get install ${missing[*]}"
  local out
  out=$(mktemp)
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o DPkg::Lock::Timeout=600 "${missing[@]}" >"$out" 2>&1 || {
    tail -n 30 "$out" >&2
    rm -f "$out"
    die "apt-get install ${missing[*]} failed (output above)"
  }
  rm -f "$out"
}

find_go() {
  local g
  g=$(command -v go || true)
  [[ -z $g && -x /usr/local/go/bin/go ]] && g=/usr/local/go/bin/go
  printf '%s' "$g"
}

hash_files() { # short hash of files under e2e/images (names relative to it)
  (cd "$HERE" && sha256sum "$@") | sha256sum | cut -c1-12
}

# Computes PAUSE_KEY and DB_KEY (empty when an input is unknown).
compute_keys() {
  local go_bin go_ver umoci_ver deb_ver p v pins="" pause_files db_files
  load_candidates
  pause_files=$(hash_files build.sh pause/main.go)
  db_files=$(hash_files build.sh mariadb/chroot-setup.sh)
  umoci_ver=$(candidate umoci)
  deb_ver=$(candidate debootstrap)

  go_bin=$(find_go)
  PAUSE_KEY=""
  if [[ -n $go_bin ]]; then
    go_ver=$("$go_bin" version 2>/dev/null | awk '{ print $3 }' || true)
    [[ -n $go_ver ]] && PAUSE_KEY="pause-3.10-$go_ver-$(printf '%s|%s|%s' "$pause_files" "$go_ver" "$umoci_ver" | sha256sum | cut -c1-12)"
  fi

  DB_KEY=""
  DB_PINS=()
  for p in "${DB_PINNED[@]}"; do
    v=$(candidate "$p")
    [[ -n $v ]] || return 0
    DB_PINS+=("$p=$v")
    pins+="$p=$v|"
  done
  local mver=${DB_PINS[0]#*=}
  mver=${mver#*:}
  DB_KEY="mariadb-$SUITE-$mver-$(printf '%s|%s|%sdebootstrap=%s|umoci=%s' "$db_files" "$SUITE" "$pins" "$deb_ver" "$umoci_ver" | sha256sum | cut -c1-12)"
}

pause_tar() { printf '%s/%s/pause.tar' "$IMAGES_DIR" "$PAUSE_KEY"; }
db_tar() { printf '%s/%s/mariadb.tar' "$IMAGES_DIR" "$DB_KEY"; }
is_built() { [[ -n $1 && -f $IMAGES_DIR/$1/.complete && -s $2 ]]; }

if [[ $MODE == list ]]; then
  compute_keys
  rc=0
  if is_built "$PAUSE_KEY" "$(pause_tar)"; then echo "$PAUSE_IMAGE $(pause_tar)"; else
    log "not built: $PAUSE_IMAGE (key ${PAUSE_KEY:-unknown: no Go toolchain}); run $0"; rc=1; fi
  if is_built "$DB_KEY" "$(db_tar)"; then echo "$DB_IMAGE $(db_tar)"; else
    log "not built: $DB_IMAGE (key ${DB_KEY:-unknown: run apt-get update}); run $0"; rc=1; fi
  exit "$rc"
fi

# ----------------------------------------------------------------- build --

start=$SECONDS
mkdir -p "$IMAGES_DIR"
exec 9>"$IMAGES_DIR/.lock"
flock 9 || die "cannot lock $IMAGES_DIR/.lock"

UPDATED=""
apt_update() {
  [[ -z $UPDATED ]] || return 0
  log "apt-get update ($1)"
  apt-get update -q -o DPkg::Lock::Timeout=600 >/dev/null
  UPDATED=1
}
compute_keys
[[ -n $DB_KEY ]] || apt_update "no candidate for mariadb-server yet"
apt_install debootstrap umoci jq debian-archive-keyring
if [[ -z $(find_go) ]]; then
  apt_install golang-go
  compute_keys
elif [[ -n $UPDATED ]]; then
  compute_keys
fi
if [[ $MODE == force ]] || ! is_built "$DB_KEY" "$(db_tar)"; then
  # About to debootstrap: pin the versions the mirror serves now, not those of
  # stale package lists (the chroot installs exactly these versions).
  apt_update "refresh candidate versions before building"
  compute_keys
fi
[[ -n $PAUSE_KEY ]] || die "no usable Go toolchain"
[[ -n $DB_KEY ]] || die "no candidate version for one of: ${DB_PINNED[*]} (check /etc/apt/sources.list*)"

WORK=""
cleanup() {
  local m
  [[ -n $WORK ]] || return 0
  # Unmount anything left below the work dir (deepest first) before deleting it.
  while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(
    awk -v w="$WORK" 'index($2, w "/") == 1 { print $2 }' /proc/mounts | sort -r)
  if awk -v w="$WORK" 'index($2, w "/") == 1 { f = 1 } END { exit !f }' /proc/mounts; then
    log "WARNING: mounts remain below $WORK; not deleting it"
  else
    rm -rf "$WORK"
  fi
  WORK=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Adds the containerd image name and the platform to the manifest descriptor in
# index.json: ctr names an imported OCI image after io.containerd.image.name.
finish_layout() { # layout image-name out-tarball
  local layout=$1 name=$2 out=$3 tmp
  umoci gc --layout "$layout"
  tmp=$(mktemp "$layout/index.json.XXXX")
  jq --arg name "$name" --arg tag "${name##*:}" '
    .manifests |= map(.annotations["io.containerd.image.name"] = $name
                      | .annotations["org.opencontainers.image.ref.name"] = $tag
                      | .platform = {architecture: "amd64", os: "linux"})' \
    "$layout/index.json" >"$tmp"
  chmod 0644 "$tmp"
  mv "$tmp" "$layout/index.json"
  [[ $(jq '.manifests | length' "$layout/index.json") == 1 ]] || die "expected one manifest in $layout"
  tar --numeric-owner --owner=0 --group=0 -C "$layout" -cf "$out.partial" oci-layout index.json blobs
  mv "$out.partial" "$out"
}

new_image() { # layout bundle -> empty image tagged "img", unpacked at bundle/rootfs
  umoci init --layout "$1"
  umoci new --image "$1:img"
  umoci unpack --image "$1:img" "$2" >/dev/null
}

build_pause() {
  local key=$PAUSE_KEY dir out go_bin
  dir=$IMAGES_DIR/$key
  out=$dir/pause.tar
  go_bin=$(find_go)
  WORK=$IMAGES_DIR/.work-$key
  rm -rf "$WORK" "$dir"
  mkdir -p "$WORK" "$dir"
  log "go build pause ($("$go_bin" version | awk '{ print $3 }'), CGO_ENABLED=0)"
  (cd "$HERE/pause" && CGO_ENABLED=0 GOOS=linux GOARCH=$ARCH GOFLAGS='' GOTOOLCHAIN=local \
    GOCACHE="$WORK/gocache" "$go_bin" build -trimpath -ldflags='-s -w' -o "$WORK/pause" main.go)
  "$WORK/pause" --version >/dev/null
  log "assemble $PAUSE_IMAGE"
  new_image "$WORK/oci" "$WORK/bundle"
  install -o 0 -g 0 -m 0755 "$WORK/pause" "$WORK/bundle/rootfs/pause"
  umoci repack --image "$WORK/oci:img" "$WORK/bundle" >/dev/null
  umoci config --image "$WORK/oci:img" --os linux --architecture "$ARCH" \
    --clear=config.cmd --clear=config.env --config.entrypoint /pause --config.user 65535:65535 \
    --config.workingdir / --history.created_by "e2e/images/build.sh (pause)"
  finish_layout "$WORK/oci" "$PAUSE_IMAGE" "$out"
  echo "$PAUSE_IMAGE $out" >"$dir/.complete"
  cleanup
  log "built $PAUSE_IMAGE -> $out ($(du -h "$out" | cut -f1))"
}

# First "URIs:"/"deb" URI in the host's apt sources whose path ends with $1.
host_mirror() {
  local f files=()
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] && files+=("$f")
  done
  [[ ${#files[@]} -gt 0 ]] || return 0
  awk '/^[[:space:]]*#/ { next }
       $1 == "URIs:" { for (i = 2; i <= NF; i++) print $i }
       $1 == "deb"   { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z+]+:\/\//) { print $i; break } }' \
    "${files[@]}" | sed 's:/*$::' | awk -v s="/$1" 'substr($0, length($0) - length(s) + 1) == s && !m { m = $0 } END { if (m) print m }'
}

build_db() {
  local key=$DB_KEY dir out rootfs mirror security
  dir=$IMAGES_DIR/$key
  out=$dir/mariadb.tar
  mirror=${DEBIAN_MIRROR:-$(host_mirror debian)}
  mirror=${mirror:-http://deb.debian.org/debian}
  security=${DEBIAN_SECURITY_MIRROR:-$(host_mirror debian-security)}
  security=${security:-http://deb.debian.org/debian-security}
  WORK=$IMAGES_DIR/.work-$key
  rm -rf "$WORK" "$dir"
  mkdir -p "$WORK" "$dir"
  new_image "$WORK/oci" "$WORK/bundle"
  rootfs=$WORK/bundle/rootfs

  log "debootstrap $SUITE --variant=minbase from $mirror ..."
  debootstrap --variant=minbase --arch="$ARCH" --include=ca-certificates \
    "$SUITE" "$rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1 || {
    tail -n 30 "$WORK/debootstrap.log" >&2
    die "debootstrap failed (log above)"
  }

  cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $mirror $SUITE main
deb $mirror $SUITE-updates main
deb $security $SUITE-security main
EOF
  cp -L /etc/resolv.conf "$rootfs/etc/resolv.conf"
  install -m 0755 "$HERE/mariadb/chroot-setup.sh" "$rootfs/tmp/chroot-setup.sh"
  mount -t proc proc "$rootfs/proc"
  log "install ${DB_PINS[*]} ${DB_OTHERS[*]}"
  chroot "$rootfs" /usr/bin/env -i PATH="$DB_PATH" HOME=/root \
    /bin/bash /tmp/chroot-setup.sh "${DB_PINS[@]}" -- "${DB_OTHERS[@]}" >"$WORK/install.log" 2>&1 || {
    tail -n 40 "$WORK/install.log" >&2
    die "package installation in the chroot failed (log above)"
  }
  umount "$rootfs/proc"

  # Files the runtime provides, or that must not be baked into the image.
  rm -rf "${rootfs:?}"/tmp/* "${rootfs:?}"/dev/* "$rootfs/etc/resolv.conf" "$rootfs/etc/hostname"
  : >"$rootfs/etc/resolv.conf"
  # Kubernetes mounts its own /etc/hosts; this one serves plain `ctr run`.
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$rootfs/etc/hosts"
  [[ $(stat -c %u:%g "$rootfs/var/lib/mysql") == 999:999 ]] || die "/var/lib/mysql is not 999:999"
  [[ -z $(ls -A "$rootfs/var/lib/mysql") ]] || die "/var/lib/mysql is not empty"
  [[ -x $rootfs/usr/sbin/mariadbd ]] || die "mariadbd missing"
  log "rootfs $(du -sh "$rootfs" | cut -f1); repack $DB_IMAGE (gzip layer) ..."

  umoci repack --image "$WORK/oci:img" "$WORK/bundle" >/dev/null
  umoci config --image "$WORK/oci:img" --os linux --architecture "$ARCH" \
    --clear=config.env --config.env "PATH=$DB_PATH" --config.env LANG=C.UTF-8 \
    --clear=config.cmd --config.cmd mariadbd --config.user 999 --config.workingdir / \
    --config.label "org.opencontainers.image.version=${DB_PINS[0]#*=}" \
    --history.created_by "e2e/images/build.sh (debootstrap $SUITE minbase + ${DB_PINS[*]})"
  finish_layout "$WORK/oci" "$DB_IMAGE" "$out"
  cp "$WORK/install.log" "$dir/install.log"
  echo "$DB_IMAGE $out" >"$dir/.complete"
  cleanup
  log "built $DB_IMAGE -> $out ($(du -h "$out" | cut -f1))"
}

if [[ $MODE == force ]] || ! is_built "$PAUSE_KEY" "$(pause_tar)"; then build_pause; else
  log "cached $PAUSE_IMAGE ($PAUSE_KEY)"; fi
if [[ $MODE == force ]] || ! is_built "$DB_KEY" "$(db_tar)"; then build_db; else
  log "cached $DB_IMAGE ($DB_KEY)"; fi
log "done in $((SECONDS - start))s"
echo "$PAUSE_IMAGE $(pause_tar)"
echo "$DB_IMAGE $(db_tar)"
