# shellcheck shell=bash
# Part of e2e/cluster.sh, sourced by it. Owns what the node changes on the host and its removal: the host
# settings saved by `up` and restored by `down` (sysctls, host paths), the bridge, and the teardown of
# everything the node's components leave behind (containers, shims, cgroups, mounts, network namespaces,
# iptables chains, links).

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

# ---- teardown (called by cmd_down, lifecycle.sh) -----------------------------------

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
