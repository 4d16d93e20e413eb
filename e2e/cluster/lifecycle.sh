# shellcheck shell=bash
# Part of e2e/cluster.sh, sourced by it. Owns the order of things: `up` (host, certificates, configuration
# files, then each component started and awaited in turn) and `down` (components stopped in reverse, then the
# node's teardown, then a check that nothing is left), using the functions of the other parts.

cluster_ready() {
	local c
	for c in "${COMPONENTS[@]}"; do
		running "$c" || return 1
	done
	kc get --raw /readyz >/dev/null 2>&1 || return 1
	node_ready 0
}

# Every configuration file, each written only when its content changes (put).
write_configs() {
	local ns
	ns=$(host_nameservers | tr '\n' ' ')
	ns=${ns% }
	mkdir -p "$CTRD" "$CNI_CONF_DIR" "$CNI_IPAM_DIR" "$KUBELET_DIR" "$POD_LOGS" "$STATE/coredns" "$VOLUMES"

	write_resolv_conf "$ns"
	write_kubeconfigs
	write_containerd_config
	write_cni_config
	write_kubelet_config
	write_kube_proxy_config
	write_corefile "$ns"
	write_storageclass
}

cmd_up() {
	[[ $EUID -eq 0 ]] || die "must run as root"
	local t0=$SECONDS
	if [[ -f $KUBECONFIG_ADMIN ]] && cluster_ready 2>/dev/null; then
		log "already up ($((SECONDS - t0))s); kubeconfig: $KUBECONFIG_ADMIN"
		return 0
	fi
	bash "$HERE/toolchain/kubernetes.sh" >&2
	set_deadline
	local bin
	bin=$(bin_dir)
	mkdir -p "$STATE" "$LOGS" "$RUN"
	chmod 700 "$STATE"
	save_host_state
	setup_host_network
	make_pki
	write_configs
	restart_changed

	start_etcd "$bin"
	start_containerd

	wait_etcd
	start_apiserver "$bin"

	wait_containerd
	import_images
	# (A cold image build may have taken long: the readiness budget starts now.)
	set_deadline

	wait_apiserver
	start_controller_manager "$bin"
	start_scheduler "$bin"
	start_kube_proxy "$bin"
	local kubelet_since=0
	running kubelet || kubelet_since=$(($(date +%s) - 1))
	start_kubelet "$bin"
	start_coredns "$bin"
	start_provisioner

	wait_for "the default StorageClass" - kc apply -f "$STATE/storageclass.yaml"
	wait_for "node $NODE_NAME Ready" kubelet node_ready "$kubelet_since"
	wait_coredns
	wait_for "the default StorageClass" - kc get storageclass "$STORAGE_CLASS"
	wait_for "the default ServiceAccount" kube-controller-manager kc -n default get serviceaccount default
	log "up in $((SECONDS - t0))s; kubeconfig: $KUBECONFIG_ADMIN"
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
