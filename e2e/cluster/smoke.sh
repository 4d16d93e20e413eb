#!/usr/bin/env bash
# Smoke test of the local cluster (run `e2e/cluster.sh up` first). With the
# database image only (bash, socat, getent), in its own namespace, removed at
# the end:
#   - a StatefulSet's volumeClaimTemplate PVCs bind (default StorageClass and
#     the local PV provisioner) and a pod running as uid 999 writes to its volume
#   - <pod>.<headless>.<ns>.svc.cluster.local resolves from a pod (CoreDNS),
#     for a headless Service with publishNotReadyAddresses
#   - a ClusterIP Service routes from the host and from a pod (kube-proxy)
#   - a pod reaches the API through the `kubernetes` Service
#   - kubectl exec and kubectl port-forward work (apiserver -> kubelet)
#   - deleting the claims deletes their PVs and directories
# Prints "smoke: N passed, N failed"; exits non-zero on any failure.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KUBECONFIG=$(bash "$HERE/../cluster.sh" kubeconfig)
PATH="$(bash "$HERE/../toolchain/kubernetes.sh" --print-bin-dir):$PATH"
export KUBECONFIG PATH
NS=cluster-smoke
IMAGE=${SMOKE_IMAGE:-localhost/mysql-cluster/mariadb:10.11}
passed=0 failed=0

log() { printf '[smoke] %s\n' "$*" >&2; }
check() {
	local what=$1
	shift
	if "$@"; then
		log "PASS $what"
		passed=$((passed + 1))
	else
		log "FAIL $what"
		failed=$((failed + 1))
	fi
}
cleanup() { kubectl delete namespace "$NS" --ignore-not-found --wait=false >/dev/null 2>&1 || true; }
trap cleanup EXIT

kubectl delete namespace "$NS" --ignore-not-found --wait=true --timeout=120s >/dev/null
kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: $NS}
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: $NS}
spec:
  clusterIP: None
  publishNotReadyAddresses: true
  selector: {app: echo}
  ports: [{name: tcp, port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: echo-svc, namespace: $NS}
spec:
  selector: {app: echo}
  ports: [{name: tcp, port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: echo, namespace: $NS}
spec:
  serviceName: echo
  replicas: 2
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      securityContext: {runAsUser: 999, runAsGroup: 999, fsGroup: 999}
      terminationGracePeriodSeconds: 1
      containers:
      - name: echo
        image: $IMAGE
        imagePullPolicy: Never
        command: [bash, -c, 'echo "\$HOSTNAME" >>/data/hello && exec socat TCP-LISTEN:8080,fork,reuseaddr SYSTEM:"echo hello from \$HOSTNAME"']
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
YAML

log "waiting for the StatefulSet's pods"
kubectl -n "$NS" rollout status statefulset/echo --timeout=180s >&2

pvcs_bound() {
	[[ "$(kubectl -n "$NS" get pvc -o jsonpath='{.items[*].status.phase}')" == "Bound Bound" ]]
}
volume_written() {
	local out
	out=$(kubectl -n "$NS" exec echo-0 -- bash -c 'stat -c "%u" /data; cat /data/hello')
	[[ $out == $'999\necho-0' ]]
}
dns_headless() {
	local want got
	want=$(kubectl -n "$NS" get pod echo-0 -o jsonpath='{.status.podIP}')
	got=$(kubectl -n "$NS" exec echo-1 -- getent hosts "echo-0.echo.$NS.svc.cluster.local" | awk '{print $1}')
	[[ -n $want && $got == "$want" ]]
}
clusterip_from_host() {
	local ip out
	ip=$(kubectl -n "$NS" get svc echo-svc -o jsonpath='{.spec.clusterIP}')
	out=$(timeout 5 bash -c "exec 3<>/dev/tcp/$ip/80; cat <&3")
	[[ $out == "hello from echo-"[01] ]]
}
clusterip_from_pod() {
	[[ "$(kubectl -n "$NS" exec echo-1 -- timeout 5 bash -c 'exec 3<>/dev/tcp/echo-svc/80; cat <&3')" == "hello from echo-"[01] ]]
}
api_from_pod() {
	kubectl -n "$NS" exec echo-0 -- timeout 5 bash -c ': </dev/tcp/kubernetes.default.svc.cluster.local/443'
}
port_forward() {
	local pf port out=""
	kubectl -n "$NS" port-forward pod/echo-1 :8080 >"${TMPDIR:-/tmp}/smoke-pf.$$" 2>&1 &
	pf=$!
	for _ in $(seq 50); do
		port=$(sed -n 's/^Forwarding from 127.0.0.1:\([0-9]*\) .*/\1/p' "${TMPDIR:-/tmp}/smoke-pf.$$")
		[[ -n $port ]] && break
		sleep 0.2
	done
	if [[ -n $port ]]; then
		out=$(timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; cat <&3") || true
	fi
	kill "$pf" 2>/dev/null || true
	wait "$pf" 2>/dev/null || true
	rm -f "${TMPDIR:-/tmp}/smoke-pf.$$"
	[[ $out == "hello from echo-1" ]]
}
pvs_deleted() {
	local names i
	names=$(kubectl -n "$NS" get pvc -o jsonpath='{.items[*].spec.volumeName}')
	kubectl delete namespace "$NS" --wait=true --timeout=120s >/dev/null
	for ((i = 0; i < 60; i++)); do
		# shellcheck disable=SC2086 # one argument per PV name
		[[ -z "$(kubectl get pv $names --ignore-not-found -o name)" ]] && return 0
		sleep 1
	done
	return 1
}

check "PVCs of the volumeClaimTemplate bound" pvcs_bound
check "pod as uid 999 wrote to its volume" volume_written
check "echo-0.echo.$NS.svc.cluster.local resolves from a pod" dns_headless
check "ClusterIP Service from the host" clusterip_from_host
check "ClusterIP Service from a pod (by name)" clusterip_from_pod
check "kubernetes Service from a pod" api_from_pod
check "kubectl port-forward" port_forward
check "released PVs deleted" pvs_deleted

echo "smoke: $passed passed, $failed failed"
((failed == 0))
