#!/usr/bin/env bash
# Builds (from Go modules) and installs (from Debian) everything a single-node
# Kubernetes cluster needs, at pinned versions, into
#   ${MYSQL_CLUSTER_CACHE:-/var/cache/mysql-cluster}/k8s-<key>/bin
#
# From Go modules (compiled here, nothing prebuilt is downloaded):
#   kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl
#   kube-proxy (k8s.io/kubernetes), etcd (go.etcd.io/etcd/server/v3),
#   coredns (github.com/coredns/coredns).
# From Debian (apt-get): containerd, runc, CNI plugins, iptables, conntrack, ...
#
# Usage:
#   e2e/toolchain/kubernetes.sh                 build/install (idempotent)
#   e2e/toolchain/kubernetes.sh --print-bin-dir print the bin dir, build nothing
#
# Env:
#   MYSQL_CLUSTER_CACHE   cache root (default /var/cache/mysql-cluster)
#   K8S_BUILD_PARALLEL    go build -p value (default 2: the machine has 2 cores
#                         and other builds may run beside this one)
#   K8S_SKIP_APT=1        do not touch Debian packages
#
# Idempotence: every binary is built to a temp name and renamed into place, and
# a completion marker (bin/.complete) is written last. A run that finds the
# marker and every binary only checks the Debian packages (dpkg-query) and
# exits within seconds.
set -euo pipefail

# ---- pinned versions --------------------------------------------------------
# Kubernetes 1.34 is the newest minor that still runs on a cgroup v1 host
# (1.35 refuses to start the kubelet on cgroup v1 by default).
K8S_VERSION=v1.34.4
ETCD_VERSION=v3.5.35      # Debian's etcd (3.4) is too old for k8s 1.34
COREDNS_VERSION=v1.14.7
# Bump when the build recipe (flags, tags, replace derivation) changes, so the
# cache key changes with it.
RECIPE=1

K8S_COMPONENTS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl kube-proxy)
APT_PACKAGES=(
	containerd                   # 1.6.x on bookworm; CRI runtime for the kubelet
	runc                         # OCI runtime used by containerd
	containernetworking-plugins  # bridge, host-local, portmap, loopback
	iptables                     # kube-proxy (iptables mode), portmap, bridge masq
	conntrack                    # kube-proxy flushes stale UDP conntrack entries
	ethtool                      # kubelet/kube-proxy probe veth settings
	util-linux                   # mount, nsenter, losetup used by the kubelet
	mount
	iproute2                     # ip link/addr, used by cluster.sh for cleanup
	openssl                      # cluster.sh generates the PKI
	e2fsprogs                    # kubelet's mount utils probe fs types
	procps                       # pgrep/ps used by cluster.sh checks
	# No socat: containerd >= 1.3 implements CRI port-forward in Go inside the
	# pod's network namespace, so `kubectl port-forward` does not need it.
)

CACHE_ROOT=${MYSQL_CLUSTER_CACHE:-/var/cache/mysql-cluster}
KEY="${K8S_VERSION}_etcd-${ETCD_VERSION}_coredns-${COREDNS_VERSION}_r${RECIPE}"
PREFIX="$CACHE_ROOT/k8s-$KEY"
BIN="$PREFIX/bin"
MARKER="$BIN/.complete"
SRC="$PREFIX/src"
TIMES="$PREFIX/build-times.txt"
PARALLEL=${K8S_BUILD_PARALLEL:-2}

log() { printf '[toolchain/k8s] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

ALL_BINS=("${K8S_COMPONENTS[@]}" etcd coredns)

all_bins_present() {
	local b
	for b in "${ALL_BINS[@]}"; do
		[[ -x "$BIN/$b" ]] || return 1
	done
}

ensure_apt() {
	[[ "${K8S_SKIP_APT:-0}" == 1 ]] && return 0
	local missing=() p pkg
	for p in "${APT_PACKAGES[@]}"; do
		pkg=${p%%#*}
		[[ -n "$pkg" ]] || continue
		if [[ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)" != installed ]]; then
			missing+=("$pkg")
		fi
	done
	((${#missing[@]} == 0)) && return 0
	log "installing Debian packages: ${missing[*]}"
	[[ $EUID -eq 0 ]] || die "need root to apt-get install ${missing[*]}"
	local aptlog
	aptlog=$(mktemp)
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=900 update -qq >"$aptlog" 2>&1 || { cat "$aptlog" >&2; die "apt-get update failed"; }
	# Other set-up scripts may hold the dpkg lock (wait for it). A package's
	# maintainer script can fail when no init system runs (no
	# systemd here); finish its configuration and try once more.
	if ! apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=900 -o Dpkg::Options::=--force-confold \
		"${missing[@]}" >>"$aptlog" 2>&1; then
		dpkg --configure -a >>"$aptlog" 2>&1 || true
		apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=900 -o Dpkg::Options::=--force-confold \
			"${missing[@]}" >>"$aptlog" 2>&1 || { tail -n 30 "$aptlog" >&2; die "apt-get install failed"; }
	fi
	rm -f "$aptlog"
	# The Debian package starts containerd through its init scripts only when an
	# init system runs them; cluster.sh runs its own containerd with its own
	# config, so nothing else is needed here.
}

# Go environment shared by every build.
setup_go() {
	command -v go >/dev/null || die "go is not installed"
	# Use the installed toolchain; never try to download another one (only the
	# module proxy is reachable, and 1.26 builds all pinned modules).
	export GOTOOLCHAIN=local
	# sum.golang.org may be unreachable from this machine: module hashes are
	# still recorded in each wrapper module's go.sum, but not checked against
	# the public checksum database.
	export GOSUMDB=off
	export GOFLAGS="-mod=mod"
	export CGO_ENABLED=0
	export GOPROXY=${GOPROXY:-https://proxy.golang.org}
}

# Prints the path of the downloaded go.mod of module@version (uses the go
# client, which also fetches the module zip the build needs anyway).
upstream_gomod() {
	local out
	out=$(cd "$SRC" && go mod download -json "$1@$2") || die "cannot download $1@$2 (the proxy is a partial mirror: is this version on it?)"
	sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p' <<<"$out"
}

# write_wrapper DIR GO_DIRECTIVE MODULE VERSION [REPLACE_LINES...]
write_wrapper() {
	local dir=$1 godir=$2 mod=$3 ver=$4
	shift 4
	mkdir -p "$dir"
	{
		echo "// Generated by e2e/toolchain/kubernetes.sh: builds $mod $ver."
		echo "module mysql-cluster.local/toolchain/$(basename "$dir")"
		echo
		echo "go $godir"
		echo
		echo "require $mod $ver"
		if (($# > 0)); then
			echo
			echo "replace ("
			printf '\t%s\n' "$@"
			echo ")"
		fi
	} >"$dir/go.mod.new"
	if ! cmp -s "$dir/go.mod.new" "$dir/go.mod.in" 2>/dev/null; then
		# Recipe changed (or first run): start from a clean go.mod/go.sum.
		cp "$dir/go.mod.new" "$dir/go.mod"
		mv "$dir/go.mod.new" "$dir/go.mod.in"
		rm -f "$dir/go.sum"
	else
		rm -f "$dir/go.mod.new"
	fi
}

# gobuild NAME WRAPPER_DIR PACKAGE [extra go build args...]
gobuild() {
	local name=$1 dir=$2 pkg=$3 start secs
	shift 3
	if [[ -x "$BIN/$name" && -f "$BIN/.$name.built" ]]; then
		log "$name already built"
		return 0
	fi
	start=$(date +%s)
	(cd "$dir" && nice -n 10 go build -p "$PARALLEL" -trimpath "$@" -o "$BIN/.$name.tmp" "$pkg") ||
		die "building $name failed"
	mv -f "$BIN/.$name.tmp" "$BIN/$name"
	touch "$BIN/.$name.built"
	secs=$(($(date +%s) - start))
	printf '%s %ss\n' "$name" "$secs" >>"$TIMES"
	log "built $name in ${secs}s"
}

build_kubernetes() {
	local dir="$SRC/kubernetes" gomod staging ver minor patch c ldflags replaces=()
	ver=${K8S_VERSION#v}
	minor=$(cut -d. -f2 <<<"$ver")
	patch=$(cut -d. -f3 <<<"$ver")
	staging="v0.$minor.$patch"
	# k8s.io/kubernetes cannot be `go install`ed: its go.mod requires every
	# k8s.io/* staging module at v0.0.0 and replaces it with ./staging/...
	# This wrapper requires it and points each of those at the published
	# v0.<minor>.<patch> version instead; the list comes from upstream's go.mod.
	gomod=$(upstream_gomod k8s.io/kubernetes "$K8S_VERSION")
	[[ -f "$gomod" ]] || die "no go.mod for k8s.io/kubernetes@$K8S_VERSION"
	while read -r m; do
		replaces+=("$m => $m $staging")
	done < <(awk '/^require[[:space:]]*\(/{r=1;next} r&&/^\)/{r=0} r&&$2=="v0.0.0"{print $1}' "$gomod" | sort -u)
	((${#replaces[@]} > 20)) || die "could not derive the staging replace list from $gomod"
	write_wrapper "$dir" 1.24.0 k8s.io/kubernetes "$K8S_VERSION" "${replaces[@]}"
	# Same default GODEBUG settings upstream builds with.
	grep -q '^godebug' "$dir/go.mod" || printf '\ngodebug default=go1.24\n' >>"$dir/go.mod"

	ldflags="-s -w"
	for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ldflags+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
		ldflags+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
	done
	for c in "${K8S_COMPONENTS[@]}"; do
		log "building $c $K8S_VERSION ..."
		# Upstream's build tags (hack/lib/golang.sh).
		gobuild "$c" "$dir" "k8s.io/kubernetes/cmd/$c" \
			-tags=selinux,notest,grpcnotrace -ldflags "$ldflags"
	done
}

build_etcd() {
	local dir="$SRC/etcd" gomod replaces=() m v
	gomod=$(upstream_gomod go.etcd.io/etcd/server/v3 "$ETCD_VERSION")
	# etcd's server module replaces its sibling modules with ../<dir>; point
	# each at the published version the same go.mod requires (all from the same
	# release, e.g. client/v2 is v2.305.x next to v3.5.x).
	while read -r m v; do
		replaces+=("$m => $m $v")
	done < <(awk 'FNR==NR { if ($2=="=>" && $3 ~ /^\.\.\//) rep[$1]=1; next }
		($1 in rep) && $2 ~ /^v[0-9]/ && !seen[$1]++ { print $1, $2 }' "$gomod" "$gomod")
	((${#replaces[@]} > 0)) || die "could not derive etcd's replace list from $gomod"
	write_wrapper "$dir" "$(awk '$1=="go"{print $2; exit}' "$gomod")" go.etcd.io/etcd/server/v3 "$ETCD_VERSION" "${replaces[@]}"
	log "building etcd $ETCD_VERSION ..."
	gobuild etcd "$dir" go.etcd.io/etcd/server/v3 -ldflags "-s -w"
}

build_coredns() {
	local dir="$SRC/coredns" gomod
	gomod=$(upstream_gomod github.com/coredns/coredns "$COREDNS_VERSION")
	write_wrapper "$dir" "$(awk '$1=="go"{print $2; exit}' "$gomod")" github.com/coredns/coredns "$COREDNS_VERSION"
	log "building coredns $COREDNS_VERSION ..."
	gobuild coredns "$dir" github.com/coredns/coredns -ldflags "-s -w"
}

main() {
	case "${1:-}" in
	--print-bin-dir)
		echo "$BIN"
		return 0
		;;
	"") ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
		return 0
		;;
	*) die "unknown argument: $1 (use --print-bin-dir)" ;;
	esac

	ensure_apt
	if [[ -f "$MARKER" ]] && all_bins_present; then
		log "cached: $BIN"
		return 0
	fi
	# One build at a time per key (the toolchain and the cluster scripts may
	# both call this).
	mkdir -p "$BIN" "$SRC"
	exec 9>"$PREFIX/.lock"
	if ! flock -n 9; then
		log "another build of $KEY is running: waiting for it"
		flock 9
		if [[ -f "$MARKER" ]] && all_bins_present; then
			log "cached: $BIN"
			return 0
		fi
	fi
	local start
	start=$(date +%s)
	setup_go
	build_etcd
	build_coredns
	build_kubernetes
	all_bins_present || die "some binaries are missing in $BIN"
	date -u +%Y-%m-%dT%H:%M:%SZ >"$MARKER"
	log "done in $(($(date +%s) - start))s: $BIN"
}

main "$@"
