# shellcheck shell=bash
# Part of e2e/cluster.sh, sourced by it. Owns what `status` and `logs DIR` report: each component's process,
# the node, and a copy of the component logs, pod logs, objects and events (what the e2e tier saves on failure).

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
