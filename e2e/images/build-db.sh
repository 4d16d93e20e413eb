#!/usr/bin/env bash
# Builds the database images of newer releases from pinned Debian packages, without Docker or a registry:
#
#   localhost/mysql-cluster/mariadb:11.8   debootstrap trixie minbase + MariaDB 11.8 (db-pins.env)
#   localhost/mysql-cluster/mysql:9.7      debootstrap sid minbase + MySQL 9.7 (db-pins.env)
#
# Each goes to ${MYSQL_CLUSTER_CACHE:-/var/cache/mysql-cluster}/images/<key>/ as
#   <name>.tar    an OCI image layout tarball for `ctr -n k8s.io images import`;
#   rootfs/       the same root filesystem unpacked: the script tier runs the servers and the container
#                 scripts inside it (tests/support/in-rootfs.sh), exactly the image's programs;
#   packages.txt  every installed package and version (what the pins resolved to);
#   .complete     written last: a key directory without it is never used.
# <key> is derived from the image's suite and pins, the debootstrap and umoci versions, and a hash of this
# script, db-pins.env's lines for the image and mariadb/chroot-setup.sh.
#
# Usage:
#   e2e/images/build-db.sh [image...]        build what is missing (root; default: every image above)
#   e2e/images/build-db.sh --force [image...] rebuild
#   e2e/images/build-db.sh --list [image...]  print "<image> <tarball>"; exit 1 if one is not built
#   e2e/images/build-db.sh --rootfs <image>   print the image's cached root filesystem; exit 1 if not built
#
# Environment: MYSQL_CLUSTER_CACHE (cache root), DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR (default
# deb.debian.org). The host's own apt sources are never changed: the suites live only in the image.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE_ROOT=${MYSQL_CLUSTER_CACHE:-/var/cache/mysql-cluster}
IMAGES_DIR=$CACHE_ROOT/images
ARCH=amd64
ALL_IMAGES=(mariadb:11.8 mysql:9.7)
IMAGE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# shellcheck source-path=SCRIPTDIR source=db-pins.env
source "$HERE/db-pins.env"

log() { printf '[build-db] %s\n' "$*" >&2; }
die() { printf '[build-db] ERROR: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,25s/^# \{0,1\}//p' "$0"; }

# ---------------------------------------------------------------------------------- inputs --

pins_var() { # <image>: the prefix of its variables in db-pins.env (mariadb:11.8 -> MARIADB_11_8)
  local prefix=${1//[:.]/_}
  prefix=${prefix^^}
  declare -p "${prefix}_PACKAGES" >/dev/null 2>&1 || die "unknown image '$1': known are ${ALL_IMAGES[*]}"
  printf '%s' "$prefix"
}

installed_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true; }

image_key() { # <image>: its cache key
  local image=$1 prefix suite files
  prefix=$(pins_var "$image")
  local -n pins="${prefix}_PACKAGES"
  suite=${prefix}_SUITE
  suite=${!suite}
  files=$( (cd "$HERE" && sha256sum build-db.sh mariadb/chroot-setup.sh) | sha256sum | cut -c1-12)
  printf '%s-%s-%s' "${image/:/-}" "$suite" "$(printf '%s|%s|%s|debootstrap=%s|umoci=%s' "$files" "$suite" \
    "${pins[*]}" "$(installed_version debootstrap)" "$(installed_version umoci)" | sha256sum | cut -c1-12)"
}

image_dir() { printf '%s/%s' "$IMAGES_DIR" "$(image_key "$1")"; }
image_tar() { printf '%s/%s.tar' "$(image_dir "$1")" "${1%%:*}"; }
is_built() { [[ -f $(image_dir "$1")/.complete && -s $(image_tar "$1") && -x $(image_dir "$1")/rootfs/bin/bash ]]; }

# ---------------------------------------------------------------------------------- modes --

MODE=build
case "${1:-}" in
  --list | --rootfs | --force) MODE=${1#--}; shift ;;
  -h | --help) usage; exit 0 ;;
  -*) usage >&2; exit 2 ;;
esac
IMAGES=("$@")
[[ ${#IMAGES[@]} -gt 0 ]] || IMAGES=("${ALL_IMAGES[@]}")
for image in "${IMAGES[@]}"; do pins_var "$image" >/dev/null; done

if [[ $MODE == list || $MODE == rootfs ]]; then
  [[ $MODE == list || ${#IMAGES[@]} -eq 1 ]] || die "--rootfs takes exactly one image"
  rc=0
  for image in "${IMAGES[@]}"; do
    if ! is_built "$image"; then
      log "not built: localhost/mysql-cluster/$image (key $(image_key "$image")); run: sudo $0 $image"
      rc=1
    elif [[ $MODE == list ]]; then
      echo "localhost/mysql-cluster/$image $(image_tar "$image")"
    else
      echo "$(image_dir "$image")/rootfs"
    fi
  done
  exit "$rc"
fi

[[ $EUID -eq 0 ]] || die "must run as root (debootstrap, chroot, mount); try: sudo $0 $*"

# ---------------------------------------------------------------------------------- build --

WORK=""
cleanup() {
  local m
  [[ -n $WORK ]] || return 0
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

apt_prerequisites() {
  local missing=() p
  for p in debootstrap umoci jq debian-archive-keyring; do
    [[ -n $(installed_version "$p") ]] || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null
}

write_sources() { # <rootfs> <suite>: the image's own apt sources (never the host's)
  local rootfs=$1 suite=$2 mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
  local security=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
  if [[ $suite == sid ]]; then
    printf 'deb %s sid main\n' "$mirror" >"$rootfs/etc/apt/sources.list"
    # The mirror's sid Release file is older than its validity window; apt refuses it otherwise.
    printf 'Acquire::Check-Valid-Until "false";\n' >"$rootfs/etc/apt/apt.conf.d/80-mysql-cluster-sid"
  else
    printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s %s-security main\n' \
      "$mirror" "$suite" "$mirror" "$suite" "$security" "$suite" >"$rootfs/etc/apt/sources.list"
  fi
}

# Adds the containerd image name and the platform to index.json (ctr names an import after
# io.containerd.image.name) and tars the layout.
finish_layout() { # <layout> <image name> <out tarball>
  local layout=$1 name=$2 out=$3 tmp
  umoci gc --layout "$layout"
  tmp=$(mktemp "$layout/index.json.XXXX")
  jq --arg name "$name" --arg tag "${name##*:}" '
    .manifests |= map(.annotations["io.containerd.image.name"] = $name
                      | .annotations["org.opencontainers.image.ref.name"] = $tag
                      | .platform = {architecture: "amd64", os: "linux"})' "$layout/index.json" >"$tmp"
  chmod 0644 "$tmp"
  mv "$tmp" "$layout/index.json"
  tar --numeric-owner --owner=0 --group=0 -C "$layout" -cf "$out.partial" oci-layout index.json blobs
  mv "$out.partial" "$out"
}

build_image() { # <image>
  local image=$1 name=localhost/mysql-cluster/$1 prefix suite dir rootfs server
  prefix=$(pins_var "$image")
  local -n pins="${prefix}_PACKAGES"
  suite=${prefix}_SUITE
  suite=${!suite}
  dir=$(image_dir "$image")
  WORK=$IMAGES_DIR/.work-$(basename "$dir")
  rm -rf "$WORK" "$dir"
  mkdir -p "$WORK" "$dir"
  umoci init --layout "$WORK/oci"
  umoci new --image "$WORK/oci:img"
  umoci unpack --image "$WORK/oci:img" "$WORK/bundle" >/dev/null
  rootfs=$WORK/bundle/rootfs

  log "$name: debootstrap $suite --variant=minbase ..."
  debootstrap --variant=minbase --arch="$ARCH" "$suite" "$rootfs" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" \
    >"$WORK/debootstrap.log" 2>&1 || { tail -n 30 "$WORK/debootstrap.log" >&2; die "debootstrap failed"; }
  write_sources "$rootfs" "$suite"
  cp -L /etc/resolv.conf "$rootfs/etc/resolv.conf"
  install -m 0755 "$HERE/mariadb/chroot-setup.sh" "$rootfs/tmp/chroot-setup.sh"
  mount -t proc proc "$rootfs/proc"
  log "$name: install ${pins[*]}"
  chroot "$rootfs" /usr/bin/env -i PATH="$IMAGE_PATH" HOME=/root /bin/bash /tmp/chroot-setup.sh "${pins[@]}" -- \
    >"$WORK/install.log" 2>&1 || { tail -n 40 "$WORK/install.log" >&2; die "installation in the chroot failed"; }
  # shellcheck disable=SC2016 # a dpkg-query format, not a shell expansion
  chroot "$rootfs" dpkg-query -W -f='${Package} ${Version}\n' >"$WORK/packages.txt"
  umount "$rootfs/proc"

  # MySQL refuses to start without its compiled-in secure_file_priv directory, even when it is disabled.
  if [[ $image == mysql:* ]]; then
    install -d -o 999 -g 999 -m 0750 "$rootfs/var/lib/mysql-files"
  fi
  rm -rf "${rootfs:?}"/tmp/* "${rootfs:?}"/dev/* "$rootfs/etc/resolv.conf" "$rootfs/etc/hostname"
  : >"$rootfs/etc/resolv.conf"
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$rootfs/etc/hosts"
  server=$rootfs/usr/sbin/${image%%:*}d
  [[ -x $server ]] || die "$name: ${server#"$rootfs"} is missing"
  [[ $(stat -c %u:%g "$rootfs/var/lib/mysql") == 999:999 ]] || die "$name: /var/lib/mysql is not 999:999"
  log "$name: rootfs $(du -sh "$rootfs" | cut -f1); packing (gzip layer) ..."

  umoci repack --image "$WORK/oci:img" "$WORK/bundle" >/dev/null
  umoci config --image "$WORK/oci:img" --os linux --architecture "$ARCH" \
    --clear=config.env --config.env "PATH=$IMAGE_PATH" --config.env LANG=C.UTF-8 \
    --clear=config.cmd --config.cmd "${image%%:*}d" --config.user 999 --config.workingdir / \
    --config.label "org.opencontainers.image.version=${pins[0]#*=}" \
    --history.created_by "e2e/images/build-db.sh (debootstrap $suite minbase + ${pins[*]})"
  finish_layout "$WORK/oci" "$name" "$(image_tar "$image")"
  mv "$rootfs" "$dir/rootfs"
  cp "$WORK/install.log" "$WORK/packages.txt" "$dir/"
  echo "$name $(image_tar "$image")" >"$dir/.complete"
  cleanup
  log "$name: built $(image_tar "$image") ($(du -h "$(image_tar "$image")" | cut -f1))"
}

start=$SECONDS
mkdir -p "$IMAGES_DIR"
exec 9>"$IMAGES_DIR/.lock-db"
flock 9 || die "cannot lock $IMAGES_DIR/.lock-db"
apt_prerequisites
for image in "${IMAGES[@]}"; do
  if [[ $MODE == force ]] || ! is_built "$image"; then
    build_image "$image"
  else
    log "cached localhost/mysql-cluster/$image ($(image_key "$image"))"
  fi
done
log "done in $((SECONDS - start))s"
for image in "${IMAGES[@]}"; do echo "localhost/mysql-cluster/$image $(image_tar "$image")"; done
