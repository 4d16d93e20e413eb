# shellcheck shell=bash
# Part of e2e/cluster.sh, sourced by it. Owns DNS: CoreDNS (its Corefile, start and readiness, listening on
# the node IP, forwarding to the host's resolvers), the kubelet's resolv.conf, and a one-query DNS check.

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

host_nameservers() {
	# The host's resolvers minus loopback ones (unreachable from a pod, and a
	# loop for CoreDNS if that is where it forwards).
	awk '$1=="nameserver" && $2 !~ /^127\./ && $2 != "::1" {print $2}' /etc/resolv.conf 2>/dev/null
}

write_resolv_conf() { # NAMESERVERS (space-separated)
	local ns=$1
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
}

write_corefile() { # NAMESERVERS (space-separated)
	local ns=$1
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
}

start_coredns() { # BIN_DIR
	start coredns "$1/coredns" -conf "$STATE/coredns/Corefile"
}

wait_coredns() {
	wait_for "CoreDNS ready" coredns curl -fsS "http://$COREDNS_READY/ready"
	wait_for "CoreDNS answering kubernetes.default.svc.$CLUSTER_DOMAIN" coredns \
		dns_a "kubernetes.default.svc.$CLUSTER_DOMAIN" "$NODE_IP"
}
