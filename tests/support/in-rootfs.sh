#!/usr/bin/env bash
# Runs a command inside a database image's root filesystem, as a container runtime would run it in the
# image: `unshare --mount -- bash in-rootfs.sh <rootfs> <uid> <gid> <command...>` (as root). In the new,
# private mount namespace it mounts /proc, binds /dev, the host's /tmp (where the test pods' directories
# live, so paths are the same inside and out) and /etc/hosts (the kubelet mounts one that resolves the pod's
# host name; mariadb-install-db needs that), then chroots and drops to uid:gid. The mounts vanish with the
# namespace when the last process in it exits; nothing in the root filesystem is changed.
set -euo pipefail

rootfs=$1 uid=$2 gid=$3
shift 3
[[ -x $rootfs/bin/bash ]] || { echo "in-rootfs: $rootfs is not a root filesystem" >&2; exit 127; }
mount --make-rprivate /
mount -t proc proc "$rootfs/proc"
mount --rbind /dev "$rootfs/dev"
mount --rbind /tmp "$rootfs/tmp"
mount --bind /etc/hosts "$rootfs/etc/hosts"
exec chroot --userspec="$uid:$gid" --groups="$gid" "$rootfs" "$@"
