# shellcheck shell=bash
# Part of e2e/cluster.sh, sourced by it (its settings are there). Owns the helpers every other part uses:
# logging, safe removal, the toolchain's kubectl and ctr, the cluster's processes (start, stop, pid checks,
# waiting against the deadline of `up`), and configuration files written only when they change, with the
# restart of a running component whose file changed.

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

gone_within() { # <pid> <checks>: status 0 once the process is gone, checking every 0.05 s
	local i
	for ((i = 0; i < $2; i++)); do
		alive "$1" || return 0
		sleep 0.05
	done
	! alive "$1"
}

stop() {
	local name=$1 pid t0=$SECONDS
	pid=$(pid_of "$name") || { rm -f "$RUN/$name.pid"; return 0; }
	log "stopping $name (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	if ! gone_within "$pid" 200; then
		log "$name did not stop in 10s: SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		gone_within "$pid" 100 || true
	fi
	rm -f "$RUN/$name.pid"
	((SECONDS - t0 < 3)) || log "$name took $((SECONDS - t0))s to stop"
}

# The deadline wait_for waits against: UP_TIMEOUT seconds from now.
set_deadline() { DEADLINE=$((SECONDS + UP_TIMEOUT)); }

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
