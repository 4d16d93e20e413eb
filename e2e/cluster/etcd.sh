# shellcheck shell=bash
# Part of e2e/cluster.sh, sourced by it. Owns etcd, the cluster's store: one member on loopback, its data
# under $STATE/etcd (kept by `down`, so a later `up` brings the same objects back).

start_etcd() { # BIN_DIR
	start etcd "$1/etcd" --name default --data-dir "$STATE/etcd" \
		--listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
		--listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-cluster "default=http://127.0.0.1:$ETCD_PEER_PORT" \
		--log-level warn --auto-compaction-retention 1h --quota-backend-bytes 2147483648
}

wait_etcd() {
	wait_for "etcd" etcd curl -fsS "http://127.0.0.1:$ETCD_CLIENT_PORT/health"
}
