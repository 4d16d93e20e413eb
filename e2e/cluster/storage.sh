# shellcheck shell=bash
# Part of e2e/cluster.sh, sourced by it. Owns storage: the default StorageClass (local volumes, bound on
# first consumer) and the host-side loop that provisions and deletes their PVs (component pv-provisioner).

write_storageclass() {
	put "$STATE/storageclass.yaml" <<EOF
# Default StorageClass: local volumes that bind on first consumer. There is no
# in-tree dynamic provisioner for local volumes, so \`e2e/cluster.sh\` runs a
# host-side loop (component "pv-provisioner") that creates a pre-bound local
# PV for every pending PVC of this class and deletes released ones.
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: $STORAGE_CLASS
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Delete
EOF
}

start_provisioner() {
	start pv-provisioner env MYSQL_CLUSTER_STATE="$STATE" MYSQL_CLUSTER_NODE_NAME="$NODE_NAME" \
		bash "$HERE/cluster.sh" _provisioner "$STATE"
}

# ---- local PV provisioner (runs as a host process: `cluster.sh _provisioner`) -----

# Why a host-side loop: the StorageClass uses kubernetes.io/no-provisioner with
# WaitForFirstConsumer (real local volumes, as a cloud-less cluster has them),
# and nothing in Kubernetes creates PVs for such a class. Every 2s this loop
# creates, for each Pending PVC of the class, a `local` PV pre-bound to the
# claim (claimRef), with node affinity to this node, backed by a directory
# under $STATE/volumes owned by uid/gid 999 (local volumes ignore fsGroup).
# With reclaimPolicy Delete the PV controller has no deleter for local
# volumes and marks a released PV Failed: the loop then deletes the directory
# and the PV.
provisioner_loop() {
	local kubectl
	kubectl="$(bin_dir)/kubectl"
	kcp() { "$kubectl" --kubeconfig "$KUBECONFIG_ADMIN" --request-timeout=10s "$@"; }
	local out ns name uid class size modes vol dir pvname mode pvs phase path default_class
	log "provisioner: watching PVCs of class $STORAGE_CLASS (volumes under $VOLUMES)"
	while true; do
		default_class=$STORAGE_CLASS
		if out=$(kcp get pvc -A -o jsonpath='{range .items[?(@.status.phase=="Pending")]}{.metadata.namespace}{"|"}{.metadata.name}{"|"}{.metadata.uid}{"|"}{.spec.storageClassName}{"|"}{.spec.resources.requests.storage}{"|"}{.spec.accessModes}{"|"}{.spec.volumeName}{"\n"}{end}' 2>&1); then
			while IFS='|' read -r ns name uid class size modes vol; do
				[[ -n $uid ]] || continue
				[[ ${class:-$default_class} == "$STORAGE_CLASS" && -z $vol ]] || continue
				pvname="pvc-$uid"
				kcp get pv "$pvname" >/dev/null 2>&1 && continue
				dir="$VOLUMES/$pvname"
				mkdir -p "$dir"
				chown "$VOLUME_UID:$VOLUME_GID" "$dir"
				chmod 0775 "$dir"
				modes=$(tr -d '[]"' <<<"$modes")
				{
					cat <<EOF
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $pvname
  labels:
    $PV_LABEL: "true"
spec:
  capacity:
    storage: ${size:-1Gi}
  accessModes:
EOF
					for mode in ${modes//,/ }; do echo "  - $mode"; done
					cat <<EOF
  persistentVolumeReclaimPolicy: Delete
  storageClassName: $STORAGE_CLASS
  volumeMode: Filesystem
  claimRef:
    namespace: $ns
    name: $name
    uid: $uid
  local:
    path: $dir
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions:
        - key: kubernetes.io/hostname
          operator: In
          values: [$NODE_NAME]
EOF
				} >"$RUN/pv.yaml"
				if kcp create -f "$RUN/pv.yaml" >/dev/null 2>>"$LOGS/pv-provisioner.log"; then
					log "provisioner: created $pvname ($size) for $ns/$name at $dir"
				fi
			done <<<"$out"
		fi
		if pvs=$(kcp get pv -l "$PV_LABEL=true" -o jsonpath='{range .items[*]}{.metadata.name}{"|"}{.status.phase}{"|"}{.spec.local.path}{"\n"}{end}' 2>/dev/null); then
			while IFS='|' read -r pvname phase path; do
				[[ $phase == Released || $phase == Failed ]] || continue
				log "provisioner: deleting $pvname ($phase)"
				kcp delete pv "$pvname" --wait=false >/dev/null 2>&1 || continue
				if [[ $path == "$VOLUMES"/* ]]; then safe_rm "$path"; fi
			done <<<"$pvs"
		fi
		sleep 2
	done
}
