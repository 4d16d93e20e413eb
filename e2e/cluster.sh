#!/usr/bin/env bash
# A real single-node Kubernetes cluster on this machine, every process a plain
# host process started (and stopped) by this script, all state under one dir.
#
# Usage:
#   e2e/cluster.sh up                start (idempotent: already up = quick success)
#   e2e/cluster.sh down [--purge]    stop everything, leave nothing behind
#                                    (--purge also deletes the state dir)
#   e2e/cluster.sh status            components, node, exit 0 only when all run
#   e2e/cluster.sh kubeconfig        print the admin kubeconfig's path
#   e2e/cluster.sh logs DIR          copy component and pod logs into DIR
#   e2e/cluster/smoke.sh             checks a running cluster end to end (DNS,
#                                    PVCs, Services, port-forward)
#
# Environment:
#   MYSQL_CLUSTER_STATE      state dir (default /var/lib/mysql-cluster-e2e)
#   MYSQL_CLUSTER_CACHE      toolchain cache root (see toolchain/kubernetes.sh)
#   MYSQL_CLUSTER_NODE_NAME  node name (default mysql-cluster-e2e)
#   MYSQL_CLUSTER_UP_TIMEOUT seconds `up` waits for readiness (default 300)
#   MYSQL_CLUSTER_IMAGES_SCRIPT  image build script (default e2e/images/build.sh;
#                            must support `--list` printing "<name> <tarball>")
#
# Layout (state dir):
#   pki/ kubeconfig *.kubeconfig  certificates (openssl) and kubeconfigs
#   etcd/                          etcd data (loopback only, 127.0.0.1:2379)
#   containerd/{root,state,runc}   containerd 1.6 (own config and socket)
#   kubelet/ pod-logs/             kubelet root dir and pod logs
#   cni/{net.d,ipam}               CNI config (bridge+host-local+portmap), IPAM
#   volumes/                       local PV directories (see the provisioner)
#   logs/ run/                     component logs and pidfiles
#   host/                          host settings saved by `up`, restored by `down`
#
# Network: pods get 10.244.0.0/24 on the bridge mcbr0 that `up` creates with
# 10.244.0.1, which is also the node IP (kubelet --node-ip, apiserver
# --advertise-address) and where CoreDNS listens (the pods' nameserver).
# Services: 10.96.0.0/16, routed by kube-proxy (iptables mode).
#
# `down` keeps etcd's data and containerd's images (a later `up` brings the
# same objects back and skips the image import); it deletes every container,
# mount, network namespace, veth, the bridge, the KUBE-*/CNI-* iptables chains
# and the kubelet's cgroups, and restores the sysctls `up` found.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)

STATE=${MYSQL_CLUSTER_STATE:-/var/lib/mysql-cluster-e2e}
NODE_NAME=${MYSQL_CLUSTER_NODE_NAME:-mysql-cluster-e2e}
UP_TIMEOUT=${MYSQL_CLUSTER_UP_TIMEOUT:-300}
IMAGES_SCRIPT=${MYSQL_CLUSTER_IMAGES_SCRIPT:-$REPO/e2e/images/build.sh}

BRIDGE=mcbr0
POD_CIDR=10.244.0.0/24
NODE_IP=10.244.0.1
SERVICE_CIDR=10.96.0.0/16
KUBERNETES_SVC_IP=10.96.0.1
CLUSTER_DOMAIN=cluster.local
APISERVER_PORT=6443
ETCD_CLIENT_PORT=2379
ETCD_PEER_PORT=2380
COREDNS_READY=127.0.0.1:8181
PAUSE_IMAGE=localhost/mysql-cluster/pause:3.10
STORAGE_CLASS=local
PV_LABEL=mysql-cluster.e2e/local-pv
VOLUME_UID=999
VOLUME_GID=999

PKI=$STATE/pki
LOGS=$STATE/logs
RUN=$STATE/run
HOSTSAVE=$STATE/host
CTRD=$STATE/containerd
CTRD_SOCK=$CTRD/containerd.sock
KUBELET_DIR=$STATE/kubelet
POD_LOGS=$STATE/pod-logs
CNI_CONF_DIR=$STATE/cni/net.d
CNI_IPAM_DIR=$STATE/cni/ipam
CNI_BIN_DIR=/usr/lib/cni
VOLUMES=$STATE/volumes
KUBECONFIG_ADMIN=$STATE/kubeconfig

# Start order; `down` stops in reverse (then containerd last, see cmd_down in cluster/lifecycle.sh).
COMPONENTS=(etcd containerd kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet coredns pv-provisioner)
# Host sysctls that `up` (or the kubelet, kube-proxy, CNI bridge plugin) may
# change; saved before the first change and restored by `down`.
SYSCTLS=(net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables
	vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
	net.ipv4.conf.all.route_localnet)
# Host paths outside the state dir the kubelet/containerd create by themselves
# (hardcoded in them): removed by `down` when `up` found them absent.
HOST_PATHS=(/var/lib/kubelet /var/log/containers /var/log/pods /run/netns /run/containerd /etc/kubernetes)

# The parts, one concern each (every file's header says what it owns); they only define functions, except
# common.sh's CHANGED list. All settings are above.
# shellcheck source=SCRIPTDIR/cluster/common.sh
. "$HERE/cluster/common.sh"
# shellcheck source=SCRIPTDIR/cluster/pki.sh
. "$HERE/cluster/pki.sh"
# shellcheck source=SCRIPTDIR/cluster/etcd.sh
. "$HERE/cluster/etcd.sh"
# shellcheck source=SCRIPTDIR/cluster/control-plane.sh
. "$HERE/cluster/control-plane.sh"
# shellcheck source=SCRIPTDIR/cluster/node.sh
. "$HERE/cluster/node.sh"
# shellcheck source=SCRIPTDIR/cluster/node-host.sh
. "$HERE/cluster/node-host.sh"
# shellcheck source=SCRIPTDIR/cluster/dns.sh
. "$HERE/cluster/dns.sh"
# shellcheck source=SCRIPTDIR/cluster/storage.sh
. "$HERE/cluster/storage.sh"
# shellcheck source=SCRIPTDIR/cluster/lifecycle.sh
. "$HERE/cluster/lifecycle.sh"
# shellcheck source=SCRIPTDIR/cluster/inspect.sh
. "$HERE/cluster/inspect.sh"

main() {
	local cmd=${1:-}
	shift || true
	case $cmd in
	up) cmd_up "$@" ;;
	down) cmd_down "$@" ;;
	status) cmd_status "$@" ;;
	kubeconfig)
		[[ -f $KUBECONFIG_ADMIN ]] || die "no kubeconfig at $KUBECONFIG_ADMIN (run: $0 up)"
		printf '%s\n' "$KUBECONFIG_ADMIN"
		;;
	logs) cmd_logs "$@" ;;
	_provisioner)
		# Internal: the local PV loop started by `up` ($1 is the state dir, so
		# that pid checks recognise the process).
		provisioner_loop
		;;
	-h | --help | help | "")
		sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
		[[ -n $cmd ]] || exit 2
		;;
	*) die "unknown command: $cmd (up|down [--purge]|status|kubeconfig|logs DIR)" ;;
	esac
}

main "$@"
