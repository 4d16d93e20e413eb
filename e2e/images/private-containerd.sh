# shellcheck shell=bash
# Sourced by verify.sh and verify-db.sh (never run): a private containerd to import and run images in, its
# root, state and socket under a temporary directory, the CRI plugin off (it never touches a containerd
# already running here). `private_containerd_start <name>` starts it and sets CTR (the ctr command for it) and
# PRIVATE_CONTAINERD_DIR; on exit it is stopped, the mounts below its directory are undone and the directory
# is removed (kept, with a warning, if a mount remains). Needs the sourcing script's log and die.

PRIVATE_CONTAINERD_DIR=
PRIVATE_CONTAINERD_PID=

private_containerd_stop() {
  local dir=$PRIVATE_CONTAINERD_DIR pid=$PRIVATE_CONTAINERD_PID mount
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  fi
  [[ -n $dir ]] || return 0
  while read -r mount; do umount -l "$mount" 2>/dev/null || true; done < <(
    awk -v t="$dir" 'index($2, t "/") == 1 { print $2 }' /proc/mounts | sort -r)
  if awk -v t="$dir" 'index($2, t "/") == 1 { f = 1 } END { exit !f }' /proc/mounts; then
    log "WARNING: mounts remain below $dir; left in place"
  else
    rm -rf "$dir"
  fi
}

private_containerd_start() { # <name>: the temporary directory is /var/tmp/mysql-cluster-<name>.XXXXXX
  local dir
  dir=$(mktemp -d "/var/tmp/mysql-cluster-$1.XXXXXX")
  PRIVATE_CONTAINERD_DIR=$dir
  trap private_containerd_stop EXIT
  cat >"$dir/config.toml" <<CONFIG
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$dir/containerd.sock"
[ttrpc]
  address = "$dir/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/opt"
CONFIG
  log "start containerd ($(containerd --version | awk '{print $3}')) in $dir"
  containerd --config "$dir/config.toml" >"$dir/containerd.log" 2>&1 &
  PRIVATE_CONTAINERD_PID=$!
  CTR=(ctr --address "$dir/containerd.sock" -n k8s.io)
  for _ in $(seq 100); do "${CTR[@]}" version >/dev/null 2>&1 && break; sleep 0.1; done
  "${CTR[@]}" version >/dev/null || { tail -n 20 "$dir/containerd.log" >&2; die "containerd did not start"; }
}
