# shellcheck shell=bash
# Part of e2e/cluster.sh, sourced by it. Owns the control plane: kube-apiserver (certificates from pki.sh,
# etcd on loopback, RBAC), kube-controller-manager and kube-scheduler (no leader election: one node).

start_apiserver() { # BIN_DIR
	start kube-apiserver "$1/kube-apiserver" \
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
}

wait_apiserver() {
	wait_for "kube-apiserver /readyz" kube-apiserver kc get --raw /readyz
}

start_controller_manager() { # BIN_DIR
	start kube-controller-manager "$1/kube-controller-manager" \
		--kubeconfig "$STATE/controller-manager.kubeconfig" \
		--bind-address 127.0.0.1 --leader-elect=false --controllers '*' \
		--use-service-account-credentials=true \
		--service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
		--cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
		--service-cluster-ip-range "$SERVICE_CIDR" --cluster-cidr "$POD_CIDR" --allocate-node-cidrs=false \
		--profiling=false --v 1
}

start_scheduler() { # BIN_DIR
	start kube-scheduler "$1/kube-scheduler" \
		--kubeconfig "$STATE/scheduler.kubeconfig" \
		--bind-address 127.0.0.1 --leader-elect=false --profiling=false --v 1
}
