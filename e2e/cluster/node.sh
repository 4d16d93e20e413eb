# shellcheck shell=bash
# Part of e2e/cluster.sh, sourced by it. Owns the node's components: containerd (its own config and socket
# under $CTRD) with the CNI bridge config, the images it imports, the kubelet and kube-proxy (their configs
# and start), and the node's Ready condition. The host network and the teardown are in node-host.sh.

write_containerd_config() {
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
}

write_cni_config() {
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
}

write_kubelet_config() {
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
}

write_kube_proxy_config() {
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
}

start_containerd() {
	start containerd containerd --config "$CTRD/config.toml"
}

wait_containerd() {
	wait_for "containerd" containerd ctr --address "$CTRD_SOCK" version
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

start_kube_proxy() { # BIN_DIR
	start kube-proxy "$1/kube-proxy" --config "$STATE/kube-proxy-config.yaml" --v 1
}

start_kubelet() { # BIN_DIR
	start kubelet "$1/kubelet" --config "$STATE/kubelet-config.yaml" \
		--kubeconfig "$STATE/kubelet.kubeconfig" --root-dir "$KUBELET_DIR" \
		--hostname-override "$NODE_NAME" --node-ip "$NODE_IP" --v 1
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
