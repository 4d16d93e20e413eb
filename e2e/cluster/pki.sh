# shellcheck shell=bash
# Part of e2e/cluster.sh, sourced by it. Owns the certificates (openssl, under $PKI): the cluster CA, each
# component's client or serving certificate, the service-account key pair, and the kubeconfigs made of them.

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

# The admin kubeconfig (certificates embedded: what `cluster.sh kubeconfig` prints) and each component's.
write_kubeconfigs() {
	kubeconfig "$KUBECONFIG_ADMIN" admin embed
	kubeconfig "$STATE/controller-manager.kubeconfig" controller-manager
	kubeconfig "$STATE/scheduler.kubeconfig" scheduler
	kubeconfig "$STATE/kube-proxy.kubeconfig" kube-proxy
	kubeconfig "$STATE/kubelet.kubeconfig" kubelet-client
}
