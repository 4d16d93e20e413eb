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

# Start order; `down` stops in reverse (then containerd last, see down()).
COMPONENTS=(etcd containerd kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet coredns pv-provisioner)
# Host sysctls that `up` (or the kubelet, kube-proxy, CNI bridge plugin) may
# change; saved before the first change and restored by `down`.
SYSCTLS=(net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables
	vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
	net.ipv4.conf.all.route_localnet)
# Host paths outside the state dir the kubelet/containerd create by themselves
# (hardcoded in them): removed by `down` when `up` found them absent.
HOST_PATHS=(/var/lib/kubelet /var/log/containers /var/log/pods /run/netns /run/containerd /etc/kubernetes)

log() { printf '[cluster] %s\n' "$*" >&2; }

# rm -rf, but never into a mount point (a bind mount of the same filesystem,
# e.g. a hostPath volume, would defeat --one-file-system).
safe_rm() {
	local p
	for p in "$@"; do
		[[ -e $p ]] || continue
		if findmnt -rn -o TARGET | awk -v s="$p" 'index($0, s "/") == 1 || $0 == s {f=1} END {exit !f}'; then
			log "not removing $p: something is still mounted under it"
			continue
		fi
		rm -rf --one-file-system -- "$p"
	done
}
die() { log "ERROR: $*"; exit 1; }

BIN=""
bin_dir() {
	if [[ -z $BIN ]]; then
		BIN=$(bash "$HERE/toolchain/kubernetes.sh" --print-bin-dir)
	fi
	printf '%s\n' "$BIN"
}
kc() { "$(bin_dir)/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" --request-timeout=10s "$@"; }
ctr_k8s() { ctr --address "$CTRD_SOCK" --namespace k8s.io "$@"; }

# ---- processes ----------------------------------------------------------------

pid_of() {
	local f="$RUN/$1.pid" pid
	[[ -f $f ]] || return 1
	pid=$(<"$f")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	# Guard against pid reuse: every command this script starts names the
	# state dir in its arguments.
	tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -F -- "$STATE" >/dev/null || return 1
	printf '%s\n' "$pid"
}
running() { pid_of "$1" >/dev/null; }

# alive PID: exists and is not a zombie (our daemons are reparented to PID 1,
# which may reap them late).
alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat:0:1} != Z ]]
}

# start NAME CMD... : runs CMD detached (own session, survives this shell),
# stdout+stderr appended to logs/NAME.log, pid in run/NAME.pid.
start() {
	local name=$1
	shift
	if running "$name"; then
		return 0
	fi
	log "starting $name"
	printf '\n==== %s start %s\n' "$name" "$(date -u +%FT%TZ)" >>"$LOGS/$name.log"
	setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
	echo $! >"$RUN/$name.pid"
}

stop() {
	local name=$1 pid i t0=$SECONDS
	pid=$(pid_of "$name") || { rm -f "$RUN/$name.pid"; return 0; }
	log "stopping $name (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 200; i++)); do
		alive "$pid" || break
		sleep 0.05
	done
	if alive "$pid"; then
		log "$name did not stop in 10s: SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do
			alive "$pid" || break
			sleep 0.05
		done
	fi
	rm -f "$RUN/$name.pid"
	((SECONDS - t0 < 3)) || log "$name took $((SECONDS - t0))s to stop"
}

# wait_for DESCRIPTION LOGNAME CMD... : retries CMD until it succeeds or the
# deadline passes; then shows the end of logs/LOGNAME.log and fails.
wait_for() {
	local what=$1 logname=$2
	shift 2
	while ! "$@" >/dev/null 2>&1; do
		if ((SECONDS >= DEADLINE)); then
			log "timed out waiting for $what; last lines of $LOGS/$logname.log:"
			tail -n 25 "$LOGS/$logname.log" >&2 2>/dev/null || true
			die "cluster not up after ${UP_TIMEOUT}s"
		fi
		if [[ -n $logname && $logname != - ]] && ! running "$logname"; then
			log "$logname exited; last lines of $LOGS/$logname.log:"
			tail -n 25 "$LOGS/$logname.log" >&2 2>/dev/null || true
			die "$logname is not running"
		fi
		sleep 0.5
	done
}

# ---- DNS check ------------------------------------------------------------------

# dns_a NAME SERVER: one A query over UDP (bash /dev/udp, no dig needed);
# succeeds when the answer has RCODE 0 and at least one answer record.
dns_a() {
	local name=$1 server=$2 q label hdr rc=1
	q='\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00'
	local IFS=.
	for label in $name; do
		q+=$(printf '\\x%02x' "${#label}")$label
	done
	unset IFS
	q+='\x00\x00\x01\x00\x01'
	exec {fd}<>"/dev/udp/$server/53" || return 1
	# One write, so one datagram (printf may write in pieces).
	# shellcheck disable=SC2059 # the query is a printf format of \x escapes
	printf "$q" | dd bs=512 count=1 iflag=fullblock status=none >&"$fd"
	hdr=$(timeout 2 dd bs=512 count=1 status=none <&"$fd" | od -An -tu1 -N8 | tr -s ' ' ' ') || true
	exec {fd}>&-
	# shellcheck disable=SC2086 # split the bytes into positional parameters
	set -- $hdr
	if (($# == 8)) && (($1 == 0x12 && $2 == 0x34 && ($4 & 15) == 0 && ($7 * 256 + $8) > 0)); then
		rc=0
	fi
	return $rc
}

# ---- PKI (openssl) ----------------------------------------------------------------

# cert NAME CN O EKU [SAN] : EC P-256 key + certificate signed by the cluster CA.
cert() {
	local name=$1 cn=$2 org=$3 eku=$4 san=${5:-} subj ext
	[[ -s $PKI/$name.crt && -s $PKI/$name.key ]] && return 0
	subj="/CN=$cn"
	[[ -n $org ]] && subj="/O=$org$subj"
	ext=$(mktemp)
	{
		echo "basicConstraints=critical,CA:FALSE"
		echo "keyUsage=critical,digitalSignature,keyEncipherment"
		echo "extendedKeyUsage=$eku"
		[[ -n $san ]] && echo "subjectAltName=$san"
	} >"$ext"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$PKI/$name.key" 2>/dev/null
	openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
	openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
		-days 3650 -sha256 -extfile "$ext" -out "$PKI/$name.crt" 2>/dev/null
	rm -f "$ext" "$PKI/$name.csr"
	chmod 600 "$PKI/$name.key"
}

make_pki() {
	[[ -f $PKI/.complete ]] && return 0
	log "generating certificates in $PKI"
	mkdir -p "$PKI"
	chmod 700 "$PKI"
	if [[ ! -s $PKI/ca.crt ]]; then
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$PKI/ca.key" 2>/dev/null
		openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=mysql-cluster-e2e-ca" -days 3650 -sha256 \
			-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
			-out "$PKI/ca.crt" 2>/dev/null
		chmod 600 "$PKI/ca.key"
	fi
	cert apiserver kube-apiserver "" serverAuth \
		"DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$CLUSTER_DOMAIN,DNS:localhost,DNS:$NODE_NAME,IP:127.0.0.1,IP:$NODE_IP,IP:$KUBERNETES_SVC_IP"
	cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters clientAuth
	cert admin kubernetes-admin system:masters clientAuth
	cert controller-manager system:kube-controller-manager "" clientAuth
	cert scheduler system:kube-scheduler "" clientAuth
	cert kube-proxy system:kube-proxy "" clientAuth
	cert kubelet-client "system:node:$NODE_NAME" system:nodes clientAuth
	cert kubelet-serving "$NODE_NAME" "" serverAuth "DNS:$NODE_NAME,IP:$NODE_IP,IP:127.0.0.1"
	if [[ ! -s $PKI/sa.key ]]; then
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$PKI/sa.key" 2>/dev/null
		openssl pkey -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
		chmod 600 "$PKI/sa.key"
	fi
	touch "$PKI/.complete"
}

# kubeconfig FILE CERTNAME [embed] : client-certificate kubeconfig for the apiserver.
kubeconfig() {
	local file=$1 name=$2 embed=${3:-}
	local ca="certificate-authority: $PKI/ca.crt"
	local crt="client-certificate: $PKI/$name.crt" key="client-key: $PKI/$name.key"
	if [[ -n $embed ]]; then
		ca="certificate-authority-data: $(base64 -w0 <"$PKI/ca.crt")"
		crt="client-certificate-data: $(base64 -w0 <"$PKI/$name.crt")"
		key="client-key-data: $(base64 -w0 <"$PKI/$name.key")"
	fi
	(
		umask 077
		put "$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: mysql-cluster-e2e
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    $ca
users:
- name: $name
  user:
    $crt
    $key
contexts:
- name: mysql-cluster-e2e
  context:
    cluster: mysql-cluster-e2e
    user: $name
current-context: mysql-cluster-e2e
EOF
	)
}

# ---- configuration files ------------------------------------------------------------

# put FILE: writes stdin to FILE only when the content differs, atomically
# (kube-proxy exits when its config file changes, even to the same content),
# and records FILE in CHANGED.
CHANGED=()
put() {
	cat >"$1.new"
	if cmp -s "$1.new" "$1"; then
		rm -f "$1.new"
	else
		mv -f "$1.new" "$1"
		CHANGED+=("$1")
	fi
}

# Running components whose configuration `up` just changed are restarted.
restart_changed() {
	local f c
	for f in "${CHANGED[@]}"; do
		case $f in
		"$CTRD/config.toml") c=containerd ;;
		"$STATE/kubelet-config.yaml" | "$STATE/kubelet.kubeconfig" | "$STATE/resolv.conf") c=kubelet ;;
		"$STATE/kube-proxy-config.yaml" | "$STATE/kube-proxy.kubeconfig") c=kube-proxy ;;
		"$STATE/coredns/Corefile") c=coredns ;;
		"$STATE/controller-manager.kubeconfig") c=kube-controller-manager ;;
		"$STATE/scheduler.kubeconfig") c=kube-scheduler ;;
		*) continue ;;
		esac
		if running "$c"; then
			log "configuration of $c changed: restarting it"
			stop "$c"
		fi
	done
}

host_nameservers() {
	# The host's resolvers minus loopback ones (unreachable from a pod, and a
	# loop for CoreDNS if that is where it forwards).
	awk '$1=="nameserver" && $2 !~ /^127\./ && $2 != "::1" {print $2}' /etc/resolv.conf 2>/dev/null
}

write_configs() {
	local ns
	ns=$(host_nameservers | tr '\n' ' ')
	ns=${ns% }
	mkdir -p "$CTRD" "$CNI_CONF_DIR" "$CNI_IPAM_DIR" "$KUBELET_DIR" "$POD_LOGS" "$STATE/coredns" "$VOLUMES"

	# resolv.conf for the kubelet (pods with dnsPolicy Default, and the search
	# path appended for ClusterFirst pods): the host's, without loopback servers.
	{
		grep -E '^(search|domain|options)[[:space:]]' /etc/resolv.conf 2>/dev/null || true
		if [[ -n $ns ]]; then
			# shellcheck disable=SC2086 # one line per server
			printf 'nameserver %s\n' $ns
		else
			echo "nameserver $NODE_IP"
		fi
	} | put "$STATE/resolv.conf"

	kubeconfig "$KUBECONFIG_ADMIN" admin embed
	kubeconfig "$STATE/controller-manager.kubeconfig" controller-manager
	kubeconfig "$STATE/scheduler.kubeconfig" scheduler
	kubeconfig "$STATE/kube-proxy.kubeconfig" kube-proxy
	kubeconfig "$STATE/kubelet.kubeconfig" kubelet-client

	put "$CTRD/config.toml" <<EOF
# containerd 1.6 for the mysql-cluster e2e cluster (written by e2e/cluster.sh)
version = 2
root = "$CTRD/root"
state = "$CTRD/state"
# Plugins that would touch host paths or need other kernels' features.
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]

[grpc]
  address = "$CTRD_SOCK"

[ttrpc]
  address = "$CTRD_SOCK.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  enable_selinux = false
  # This host's bounding set lacks CAP_SYS_RESOURCE: no process may lower its
  # oom_score_adj, and runc fails to start a pod sandbox (-998) otherwise.
  # Clamp every container's value to containerd's own.
  restrict_oom_score_adj = true
  max_container_log_line_size = 16384

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "$(command -v runc)"
        Root = "$CTRD/runc"

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN_DIR"
    conf_dir = "$CNI_CONF_DIR"
    max_conf_num = 1

  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = ""
EOF

	# CNI: one bridge (created by `up` beforehand so CoreDNS can bind the
	# gateway IP), host-local IPAM with its state under the state dir, portmap
	# for hostPort. No ipMasq: pods only talk to the node, Services and pods.
	# containerd adds the loopback plugin by itself.
	put "$CNI_CONF_DIR/10-mysql-cluster.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "mysql-cluster-e2e",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$CNI_IPAM_DIR",
        "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$NODE_IP"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF

	put "$STATE/kubelet-config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
# Static authentication: only client certificates signed by the cluster CA
# (the apiserver's kubelet-client cert), no anonymous, no webhook.
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: false
  x509:
    clientCAFile: $PKI/ca.crt
authorization:
  mode: AlwaysAllow
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
containerRuntimeEndpoint: unix://$CTRD_SOCK
imageServiceEndpoint: unix://$CTRD_SOCK
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
clusterDNS:
- $NODE_IP
clusterDomain: $CLUSTER_DOMAIN
resolvConf: $STATE/resolv.conf
podCIDR: $POD_CIDR
podLogsDir: $POD_LOGS
maxPods: 110
serializeImagePulls: false
# A test node: never evict for disk, never garbage-collect the local images
# (they cannot be pulled again).
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
containerLogMaxSize: 10Mi
containerLogMaxFiles: 3
EOF

	put "$STATE/kube-proxy-config.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $STATE/kube-proxy.kubeconfig
mode: iptables
hostnameOverride: $NODE_NAME
clusterCIDR: $POD_CIDR
detectLocalMode: ClusterCIDR
bindAddress: 0.0.0.0
# NodePorts only on the node IP.
nodePortAddresses: [primary]
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
iptables:
  # No route_localnet change on the host.
  localhostNodePorts: false
  masqueradeAll: false
  syncPeriod: 30s
  minSyncPeriod: 1s
# Zero: leave the host's conntrack sysctls alone.
# 0 (not -999): negative values need CAP_SYS_RESOURCE, which this host lacks.
oomScoreAdj: 0
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
EOF

	{
		echo ".:53 {"
		echo "    bind $NODE_IP"
		echo "    errors"
		echo "    ready $COREDNS_READY"
		echo "    kubernetes $CLUSTER_DOMAIN in-addr.arpa ip6.arpa {"
		echo "        kubeconfig $KUBECONFIG_ADMIN"
		echo "        pods insecure"
		echo "        fallthrough in-addr.arpa ip6.arpa"
		echo "        ttl 5"
		echo "    }"
		[[ -n $ns ]] && echo "    forward . $ns"
		echo "    cache 30"
		echo "}"
	} | put "$STATE/coredns/Corefile"

	put "$STATE/storageclass.yaml" <<EOF
# Default StorageClass: local volumes that bind on first consumer. There is no
# in-tree dynamic provisioner for local volumes, so \`e2e/cluster.sh\` runs a
# host-side loop (component "pv-provisioner") that creates a pre-bound local
# PV for every pending PVC of this class and deletes released ones.
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: $STORAGE_CLASS
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Delete
EOF
}

# ---- host state -------------------------------------------------------------------

save_host_state() {
	mkdir -p "$HOSTSAVE"
	local s v p
	if [[ ! -f $HOSTSAVE/sysctl.saved ]]; then
		for s in "${SYSCTLS[@]}"; do
			v=$(sysctl -n "$s" 2>/dev/null) || continue
			printf '%s=%s\n' "$s" "$v"
		done >"$HOSTSAVE/sysctl.saved.tmp"
		mv "$HOSTSAVE/sysctl.saved.tmp" "$HOSTSAVE/sysctl.saved"
	fi
	if [[ ! -f $HOSTSAVE/paths.absent ]]; then
		for p in "${HOST_PATHS[@]}"; do
			[[ -e $p ]] || echo "$p"
		done >"$HOSTSAVE/paths.absent.tmp"
		mv "$HOSTSAVE/paths.absent.tmp" "$HOSTSAVE/paths.absent"
	fi
}

setup_host_network() {
	sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1 net.ipv4.ip_forward=1
	if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
		ip link add "$BRIDGE" type bridge
	fi
	if ! ip -4 addr show dev "$BRIDGE" | grep -F " $NODE_IP/" >/dev/null; then
		ip addr add "$NODE_IP/${POD_CIDR#*/}" dev "$BRIDGE"
	fi
	ip link set "$BRIDGE" up
}

# ---- images -----------------------------------------------------------------------

import_images() {
	[[ -f $IMAGES_SCRIPT ]] || die "$IMAGES_SCRIPT is missing: it builds the pause and database images this cluster runs"
	local list name tar sum rec
	if ! list=$(bash "$IMAGES_SCRIPT" --list 2>/dev/null); then
		log "images not built yet: running $IMAGES_SCRIPT"
		bash "$IMAGES_SCRIPT" >&2 || die "$IMAGES_SCRIPT failed"
		list=$(bash "$IMAGES_SCRIPT" --list) || die "$IMAGES_SCRIPT --list failed"
	fi
	# The newer releases' images (e2e/images/build-db.sh), when built: MYSQL_CLUSTER_E2E_FLAVOR selects them.
	list+=$'\n'"$(bash "$REPO/e2e/images/build-db.sh" --list 2>/dev/null || true)"
	mkdir -p "$STATE/images"
	while read -r name tar; do
		[[ -n $name ]] || continue
		[[ -f $tar ]] || die "image tarball $tar (for $name) does not exist"
		sum=$(sha256sum <"$tar" | cut -d' ' -f1)
		rec="$STATE/images/$(tr '/:' '__' <<<"$name").sha256"
		if [[ -f $rec && "$(<"$rec")" == "$sum" ]] && ctr_k8s images ls -q | grep -xF "$name" >/dev/null; then
			continue
		fi
		log "importing $name from $tar"
		ctr_k8s images import "$tar" >"$STATE/images/import.log" 2>&1 ||
			{ cat "$STATE/images/import.log" >&2; die "ctr images import $tar failed"; }
		ctr_k8s images ls -q | grep -xF "$name" >/dev/null ||
			die "importing $tar did not create image $name (got: $(ctr_k8s images ls -q | tr '\n' ' '))"
		echo "$sum" >"$rec"
	done <<<"$list"
	ctr_k8s images ls -q | grep -xF "$PAUSE_IMAGE" >/dev/null || die "the pause image $PAUSE_IMAGE is not among the images of $IMAGES_SCRIPT"
}

# ---- local PV provisioner (runs as a host process: `cluster.sh _provisioner`) -----

# Why a host-side loop: the StorageClass uses kubernetes.io/no-provisioner with
# WaitForFirstConsumer (real local volumes, as a cloud-less cluster has them),
# and nothing in Kubernetes creates PVs for such a class. Every 2s this loop
# creates, for each Pending PVC of the class, a `local` PV pre-bound to the
# claim (claimRef), with node affinity to this node, backed by a directory
# under $STATE/volumes owned by uid/gid 999 (local volumes ignore fsGroup).
# With reclaimPolicy Delete the PV controller has no deleter for local
# volumes and marks a released PV Failed: the loop then deletes the directory
# and the PV.
provisioner_loop() {
	local kubectl
	kubectl="$(bin_dir)/kubectl"
	kcp() { "$kubectl" --kubeconfig "$KUBECONFIG_ADMIN" --request-timeout=10s "$@"; }
	local out ns name uid class size modes vol dir pvname mode pvs phase path default_class
	log "provisioner: watching PVCs of class $STORAGE_CLASS (volumes under $VOLUMES)"
	while true; do
		default_class=$STORAGE_CLASS
		if out=$(kcp get pvc -A -o jsonpath='{range .items[?(@.status.phase=="Pending")]}{.metadata.namespace}{"|"}{.metadata.name}{"|"}{.metadata.uid}{"|"}{.spec.storageClassName}{"|"}{.spec.resources.requests.storage}{"|"}{.spec.accessModes}{"|"}{.spec.volumeName}{"\n"}{end}' 2>&1); then
			while IFS='|' read -r ns name uid class size modes vol; do
				[[ -n $uid ]] || continue
				[[ ${class:-$default_class} == "$STORAGE_CLASS" && -z $vol ]] || continue
				pvname="pvc-$uid"
				kcp get pv "$pvname" >/dev/null 2>&1 && continue
				dir="$VOLUMES/$pvname"
				mkdir -p "$dir"
				chown "$VOLUME_UID:$VOLUME_GID" "$dir"
				chmod 0775 "$dir"
				modes=$(tr -d '[]"' <<<"$modes")
				{
					cat <<EOF
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $pvname
  labels:
    $PV_LABEL: "true"
spec:
  capacity:
    storage: ${size:-1Gi}
  accessModes:
EOF
					for mode in ${modes//,/ }; do echo "  - $mode"; done
					cat <<EOF
  persistentVolumeReclaimPolicy: Delete
  storageClassName: $STORAGE_CLASS
  volumeMode: Filesystem
  claimRef:
    namespace: $ns
    name: $name
    uid: $uid
  local:
    path: $dir
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions:
        - key: kubernetes.io/hostname
          operator: In
          values: [$NODE_NAME]
EOF
				} >"$RUN/pv.yaml"
				if kcp create -f "$RUN/pv.yaml" >/dev/null 2>>"$LOGS/pv-provisioner.log"; then
					log "provisioner: created $pvname ($size) for $ns/$name at $dir"
				fi
			done <<<"$out"
		fi
		if pvs=$(kcp get pv -l "$PV_LABEL=true" -o jsonpath='{range .items[*]}{.metadata.name}{"|"}{.status.phase}{"|"}{.spec.local.path}{"\n"}{end}' 2>/dev/null); then
			while IFS='|' read -r pvname phase path; do
				[[ $phase == Released || $phase == Failed ]] || continue
				log "provisioner: deleting $pvname ($phase)"
				kcp delete pv "$pvname" --wait=false >/dev/null 2>&1 || continue
				if [[ $path == "$VOLUMES"/* ]]; then safe_rm "$path"; fi
			done <<<"$pvs"
		fi
		sleep 2
	done
}

# ---- up -----------------------------------------------------------------------------

cluster_ready() {
	local c
	for c in "${COMPONENTS[@]}"; do
		running "$c" || return 1
	done
	kc get --raw /readyz >/dev/null 2>&1 || return 1
	node_ready 0
}

# node_ready [SINCE_EPOCH]: the node's Ready condition is True (and, with an
# argument, was reported at or after that time: a restarted kubelet reports at
# once, while etcd still holds the Ready=True of the previous run).
node_ready() {
	local since=${1:-0} out status beat
	out=$(kc get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].lastHeartbeatTime}' 2>/dev/null) || return 1
	read -r status beat <<<"$out"
	[[ $status == True ]] || return 1
	((since == 0)) || (($(date -d "$beat" +%s 2>/dev/null || echo 0) >= since))
}

cmd_up() {
	[[ $EUID -eq 0 ]] || die "must run as root"
	local t0=$SECONDS
	if [[ -f $KUBECONFIG_ADMIN ]] && cluster_ready 2>/dev/null; then
		log "already up ($((SECONDS - t0))s); kubeconfig: $KUBECONFIG_ADMIN"
		return 0
	fi
	bash "$HERE/toolchain/kubernetes.sh" >&2
	DEADLINE=$((SECONDS + UP_TIMEOUT))
	local bin
	bin=$(bin_dir)
	mkdir -p "$STATE" "$LOGS" "$RUN"
	chmod 700 "$STATE"
	save_host_state
	setup_host_network
	make_pki
	write_configs
	restart_changed

	start etcd "$bin/etcd" --name default --data-dir "$STATE/etcd" \
		--listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
		--listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-cluster "default=http://127.0.0.1:$ETCD_PEER_PORT" \
		--log-level warn --auto-compaction-retention 1h --quota-backend-bytes 2147483648
	start containerd containerd --config "$CTRD/config.toml"

	wait_for "etcd" etcd curl -fsS "http://127.0.0.1:$ETCD_CLIENT_PORT/health"
	start kube-apiserver "$bin/kube-apiserver" \
		--etcd-servers "http://127.0.0.1:$ETCD_CLIENT_PORT" \
		--bind-address 0.0.0.0 --secure-port "$APISERVER_PORT" --advertise-address "$NODE_IP" \
		--tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
		--client-ca-file "$PKI/ca.crt" \
		--kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" \
		--kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
		--kubelet-certificate-authority "$PKI/ca.crt" --kubelet-preferred-address-types InternalIP \
		--service-account-issuer "https://kubernetes.default.svc.$CLUSTER_DOMAIN" \
		--service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
		--service-cluster-ip-range "$SERVICE_CIDR" \
		--authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
		--allow-privileged=true --profiling=false --event-ttl 2h --v 1

	wait_for "containerd" containerd ctr --address "$CTRD_SOCK" version
	import_images
	# (A cold image build may have taken long: the readiness budget starts now.)
	DEADLINE=$((SECONDS + UP_TIMEOUT))

	wait_for "kube-apiserver /readyz" kube-apiserver kc get --raw /readyz
	start kube-controller-manager "$bin/kube-controller-manager" \
		--kubeconfig "$STATE/controller-manager.kubeconfig" \
		--bind-address 127.0.0.1 --leader-elect=false --controllers '*' \
		--use-service-account-credentials=true \
		--service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
		--cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
		--service-cluster-ip-range "$SERVICE_CIDR" --cluster-cidr "$POD_CIDR" --allocate-node-cidrs=false \
		--profiling=false --v 1
	start kube-scheduler "$bin/kube-scheduler" \
		--kubeconfig "$STATE/scheduler.kubeconfig" \
		--bind-address 127.0.0.1 --leader-elect=false --profiling=false --v 1
	start kube-proxy "$bin/kube-proxy" --config "$STATE/kube-proxy-config.yaml" --v 1
	local kubelet_since=0
	running kubelet || kubelet_since=$(($(date +%s) - 1))
	start kubelet "$bin/kubelet" --config "$STATE/kubelet-config.yaml" \
		--kubeconfig "$STATE/kubelet.kubeconfig" --root-dir "$KUBELET_DIR" \
		--hostname-override "$NODE_NAME" --node-ip "$NODE_IP" --v 1
	start coredns "$bin/coredns" -conf "$STATE/coredns/Corefile"
	start pv-provisioner env MYSQL_CLUSTER_STATE="$STATE" MYSQL_CLUSTER_NODE_NAME="$NODE_NAME" \
		bash "$HERE/cluster.sh" _provisioner "$STATE"

	wait_for "the default StorageClass" - kc apply -f "$STATE/storageclass.yaml"
	wait_for "node $NODE_NAME Ready" kubelet node_ready "$kubelet_since"
	wait_for "CoreDNS ready" coredns curl -fsS "http://$COREDNS_READY/ready"
	wait_for "CoreDNS answering kubernetes.default.svc.$CLUSTER_DOMAIN" coredns \
		dns_a "kubernetes.default.svc.$CLUSTER_DOMAIN" "$NODE_IP"
	wait_for "the default StorageClass" - kc get storageclass "$STORAGE_CLASS"
	wait_for "the default ServiceAccount" kube-controller-manager kc -n default get serviceaccount default
	log "up in $((SECONDS - t0))s; kubeconfig: $KUBECONFIG_ADMIN"
}

# ---- down ---------------------------------------------------------------------------

# Removes every pod container and sandbox through containerd (kubelet already
# stopped, so nothing restarts them); remembers the sandboxes' network
# namespaces for cleanup.
remove_containers() {
	local ids id
	ids=$(ctr_k8s containers ls -q 2>/dev/null) || return 0
	[[ -n $ids ]] || return 0
	log "removing $(wc -w <<<"$ids") containers"
	for id in $ids; do
		ctr_k8s containers info "$id" 2>/dev/null |
			grep -oE '"/(var/)?run/netns/[^"]+"' | tr -d '"' >>"$RUN/netns.list" || true
	done
	for id in $ids; do
		ctr_k8s tasks kill -a -s SIGKILL "$id" >/dev/null 2>&1 || true
	done
	for id in $ids; do
		ctr_k8s tasks delete -f "$id" >/dev/null 2>&1 || true
		ctr_k8s containers delete "$id" >/dev/null 2>&1 || true
	done
}

# Processes left in the kubelet's pod cgroups (e.g. if containerd died first),
# then the cgroups themselves, deepest first.
cleanup_cgroups() {
	local hier d
	for hier in /sys/fs/cgroup/*/; do
		[[ -d ${hier}kubepods ]] || continue
		while read -r d; do
			xargs -r kill -KILL <"$d/cgroup.procs" 2>/dev/null || true
		done < <(find "${hier}kubepods" -type d 2>/dev/null)
	done
	sleep 0.2
	for hier in /sys/fs/cgroup/*/; do
		[[ -d ${hier}kubepods ]] || continue
		find "${hier}kubepods" -depth -type d -exec rmdir {} \; 2>/dev/null || true
	done
}

# containerd-shim-runc-v2 processes of our containerd (they outlive it).
kill_shims() {
	local p
	for p in /proc/[0-9]*; do
		[[ "$(readlink "$p/exe" 2>/dev/null)" == *containerd-shim* ]] || continue
		tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -F -- "$CTRD_SOCK" >/dev/null || continue
		kill -KILL "${p#/proc/}" 2>/dev/null || true
	done
}

unmount_state() {
	local m
	# Deepest first; lazy unmount as a fallback for a busy mount.
	while read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "cannot unmount $m"
	done < <(findmnt -rn -o TARGET | awk -v s="$STATE" 'index($0, s "/") == 1 || $0 == s' | awk '{print length, $0}' | sort -rn | cut -d' ' -f2-)
}

cleanup_netns() {
	local ns name
	{
		cat "$RUN/netns.list" 2>/dev/null || true
		# Namespaces of our pods not known to containerd any more: a cni-*
		# namespace with an address in the pod CIDR.
		for ns in /run/netns/cni-*; do
			[[ -e $ns ]] || continue
			ip netns exec "${ns##*/}" ip -4 -o addr show 2>/dev/null | grep -F " ${NODE_IP%.*}." >/dev/null && echo "$ns"
		done
	} | sort -u | while read -r ns; do
		[[ -n $ns ]] || continue
		name=${ns##*/}
		ip netns delete "$name" 2>/dev/null || { umount "$ns" 2>/dev/null || umount -l "$ns" 2>/dev/null; rm -f "$ns"; } || true
	done
	rm -f "$RUN/netns.list"
}

# Rules in the built-in chains that jump to KUBE-*/CNI-* chains, then those
# chains (kube-proxy --cleanup does its own; this catches the kubelet's and
# the portmap plugin's, and anything left by a killed kube-proxy).
cleanup_iptables() {
	local cmd table rule chain args
	for cmd in iptables ip6tables; do
		command -v "$cmd" >/dev/null || continue
		for table in nat filter mangle; do
			"$cmd" -t "$table" -S >/dev/null 2>&1 || continue
			while read -r rule; do
				[[ -n $rule ]] || continue
				# iptables -S quotes its output for a shell.
				eval "args=($rule)"
				"$cmd" -t "$table" -D "${args[@]:1}" 2>/dev/null || true
			done < <("$cmd" -t "$table" -S | grep -E '^-A (PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) .*-j (KUBE-|CNI-)')
			while read -r chain; do
				"$cmd" -t "$table" -F "$chain" 2>/dev/null || true
			done < <("$cmd" -t "$table" -S | awk '$1=="-N" && $2 ~ /^(KUBE-|CNI-)/ {print $2}')
			while read -r chain; do
				"$cmd" -t "$table" -X "$chain" 2>/dev/null || true
			done < <("$cmd" -t "$table" -S | awk '$1=="-N" && $2 ~ /^(KUBE-|CNI-)/ {print $2}')
		done
	done
	if command -v nft >/dev/null; then
		local fam tbl
		while read -r _ fam tbl; do
			if [[ $tbl == kube-proxy ]]; then nft delete table "$fam" "$tbl" 2>/dev/null || true; fi
		done < <(nft list tables 2>/dev/null)
	fi
}

cleanup_links() {
	local l
	if ip link show "$BRIDGE" >/dev/null 2>&1; then
		for l in $(ip -o link show master "$BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
			ip link delete "$l" 2>/dev/null || true
		done
		ip link delete "$BRIDGE" 2>/dev/null || true
	fi
}

restore_host_state() {
	local kv p
	if [[ -f $HOSTSAVE/sysctl.saved ]]; then
		while read -r kv; do
			if [[ -n $kv ]]; then sysctl -qw "$kv" 2>/dev/null || true; fi
		done <"$HOSTSAVE/sysctl.saved"
		rm -f "$HOSTSAVE/sysctl.saved"
	fi
	# Symlinks the kubelet made in /var/log/containers to our pod logs.
	find /var/log/containers -maxdepth 1 -type l -lname "$POD_LOGS/*" -delete 2>/dev/null || true
	if [[ -f $HOSTSAVE/paths.absent ]]; then
		while read -r p; do
			[[ -n $p && -d $p ]] || continue
			# Another containerd (not ours) may use /run/containerd.
			[[ $p == /run/containerd && -S /run/containerd/containerd.sock ]] && continue
			safe_rm "$p"
		done <"$HOSTSAVE/paths.absent"
		rm -f "$HOSTSAVE/paths.absent"
	fi
}

cmd_down() {
	local purge=0 t0=$SECONDS c i leftovers=0
	[[ ${1:-} == --purge ]] && purge=1
	[[ $EUID -eq 0 ]] || die "must run as root"
	if [[ ! -d $STATE ]]; then
		log "nothing to do: $STATE does not exist"
		return 0
	fi
	# Kubelet first so it restarts nothing, then everything that talks to the
	# apiserver, then pods (containerd still running), the apiserver, etcd,
	# containerd.
	stop pv-provisioner
	stop kubelet
	stop coredns
	stop kube-proxy
	stop kube-scheduler
	stop kube-controller-manager
	if running containerd; then
		remove_containers
	fi
	stop kube-apiserver
	stop etcd
	stop containerd
	kill_shims
	cleanup_cgroups
	if [[ -x "$(bin_dir)/kube-proxy" ]]; then
		"$(bin_dir)/kube-proxy" --cleanup >>"$LOGS/kube-proxy.log" 2>&1 || true
	fi
	cleanup_iptables
	cleanup_netns
	unmount_state
	cleanup_links
	restore_host_state
	safe_rm "$CNI_IPAM_DIR" "$CTRD/state" "$CTRD/runc" "$KUBELET_DIR/pods"
	rm -f "$RUN"/*.pid "$CTRD_SOCK" "$CTRD_SOCK.ttrpc"
	if ((purge)); then
		log "purging $STATE"
		safe_rm "$STATE"
	fi

	# Verify.
	for c in "${COMPONENTS[@]}"; do
		if running "$c"; then
			log "LEFTOVER: $c is still running"
			leftovers=1
		fi
	done
	for i in /proc/[0-9]*; do
		if tr '\0' ' ' 2>/dev/null <"$i/cmdline" | grep -F -- "$STATE/" >/dev/null; then
			log "LEFTOVER process ${i#/proc/}: $(tr '\0' ' ' <"$i/cmdline" | cut -c1-120)"
			leftovers=1
		fi
	done
	if findmnt -rn -o TARGET | grep -F "$STATE" >/dev/null; then
		log "LEFTOVER mounts: $(findmnt -rn -o TARGET | grep -F "$STATE" | tr '\n' ' ')"
		leftovers=1
	fi
	if ip link show "$BRIDGE" >/dev/null 2>&1; then
		log "LEFTOVER interface $BRIDGE"
		leftovers=1
	fi
	((leftovers == 0)) || die "down left things behind (see above)"
	log "down in $((SECONDS - t0))s"
}

# ---- status / logs ----------------------------------------------------------------------

cmd_status() {
	local c pid ok=0
	for c in "${COMPONENTS[@]}"; do
		if pid=$(pid_of "$c"); then
			printf '%-24s running (pid %s)\n' "$c" "$pid"
		else
			printf '%-24s stopped\n' "$c"
			ok=1
		fi
	done
	if [[ -f $KUBECONFIG_ADMIN ]] && kc get --raw /readyz >/dev/null 2>&1; then
		kc get nodes -o wide 2>/dev/null || true
		node_ready 0 || ok=1
	else
		echo "apiserver: not answering"
		ok=1
	fi
	return $ok
}

cmd_logs() {
	local dest=${1:-}
	[[ -n $dest ]] || die "usage: $0 logs DIR"
	mkdir -p "$dest/components" "$dest/pods"
	if [[ -d $LOGS ]]; then
		cp -a "$LOGS/." "$dest/components/" 2>/dev/null || true
	fi
	if [[ -d $POD_LOGS ]]; then
		# Copy the files (the newest log of a container is written in place).
		(cd "$POD_LOGS" && find . -type f -name '*.log*' -print0 | cpio -0pdm --quiet "$dest/pods" 2>/dev/null) ||
			cp -a "$POD_LOGS/." "$dest/pods/" 2>/dev/null || true
	fi
	if [[ -f $KUBECONFIG_ADMIN ]] && kc get --raw /readyz >/dev/null 2>&1; then
		kc get nodes,pods,pvc,pv,svc,endpointslices,statefulsets -A -o wide >"$dest/objects.txt" 2>&1 || true
		kc get events -A --sort-by=.lastTimestamp >"$dest/events.txt" 2>&1 || true
		kc describe nodes >"$dest/nodes.txt" 2>&1 || true
	fi
	log "logs copied to $dest"
}

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
