# shellcheck shell=bash
# The Kubernetes provider plugin from the pulumi-kubernetes snapshot (sourced by e2e/toolchain/pulumi.sh, after
# lib.sh). The snapshot lacks the generated schema.json: it is regenerated the way upstream's `make schema` does
# it, by pulumi-gen-kubernetes from the Kubernetes OpenAPI specs, which ship in the k8s.io/kubernetes module.
# versions.env says why each go.mod change is needed.

build_kubernetes() { # dir
    local src="$1/work/src" lg="$1/logs/build.log" version=$PULUMI_KUBERNETES_PROVIDER_BUILD_VERSION
    local provider="$1/work/src/provider" stub="$1/work/dotnet-codegen-stub" specs="$1/work/openapi"
    local gen="$1/work/gen" fix mod v edits
    log "building pulumi-resource-kubernetes $version from $PULUMI_KUBERNETES_SOURCE (cold: ~10 min on 2 cores; log: $lg) ..."
    unpack "$PULUMI_KUBERNETES_SOURCE" "$PULUMI_KUBERNETES_SOURCE_SHA256" "$src" "$lg" || return 1
    rm -rf "$stub"
    mkdir -p "$stub"
    cp -r "$HERE/pulumi/dotnet-codegen-stub/codegen" "$stub/"
    sed -e "s/@PULUMI_PKG_VERSION@/$PULUMI_KUBERNETES_PULUMI_PKG_VERSION/g" \
        "$HERE/pulumi/dotnet-codegen-stub/go.mod.in" >"$stub/go.mod"
    log "  go.mod: replace github.com/pulumi/pulumi-kubernetes/sdk/v4 => ../sdk dropped; requiring $PULUMI_KUBERNETES_SDK_GO_VERSION"
    log "  go.mod: github.com/pulumi/pulumi-dotnet/pulumi-language-dotnet/v3 => the .NET generator stub"
    edits=(-dropreplace github.com/pulumi/pulumi-kubernetes/sdk/v4
        -require "github.com/pulumi/pulumi-kubernetes/sdk/v4@$PULUMI_KUBERNETES_SDK_GO_VERSION"
        -replace "github.com/pulumi/pulumi-dotnet/pulumi-language-dotnet/v3=$stub")
    for fix in $PULUMI_KUBERNETES_GO_FIXES; do
        log "  go.mod: requiring ${fix%%=*}@${fix#*=} (the pinned version is not served)"
        edits+=(-require "${fix%%=*}@${fix#*=}")
    done
    (cd "$provider" && go mod edit "${edits[@]}") >>"$lg" 2>&1 || { fail_with_log "cannot edit the provider's go.mod" "$lg"; return 1; }
    check_local_replaces "$provider" "$lg" || return 1

    log "  building pulumi-gen-kubernetes ..."
    (cd "$provider" && "${GO_BUILD[@]}" -o "$1/work/pulumi-gen-kubernetes" ./cmd/pulumi-gen-kubernetes >>"$lg" 2>&1) ||
        { fail_with_log "cannot build pulumi-gen-kubernetes" "$lg"; return 1; }
    # The spec and the older ones the generator merges in, named as it looks for them beside the spec.
    rm -rf "$specs" "$gen"
    mkdir -p "$specs" "$gen/provider/cmd/pulumi-gen-kubernetes"
    for v in "$PULUMI_KUBERNETES_OPENAPI_VERSION" $PULUMI_KUBERNETES_LEGACY_OPENAPI_VERSIONS; do
        mod=$(cd "$provider" && module_dir "k8s.io/kubernetes@$v" "$lg") || mod=""
        [ -f "$mod/api/openapi-spec/swagger.json" ] ||
            { fail_with_log "no api/openapi-spec/swagger.json in k8s.io/kubernetes@$v" "$lg"; return 1; }
        cp "$mod/api/openapi-spec/swagger.json" "$specs/swagger-$v.json"
    done
    # It also rewrites the Terraform mapping from terraform.json, which the snapshot lacks: it runs in a scratch
    # base dir with an empty one, and the snapshot's terraform-mapping.json is kept.
    printf '{}\n' >"$gen/provider/cmd/pulumi-gen-kubernetes/terraform.json"
    log "  generating schema.json from the OpenAPI spec of Kubernetes $PULUMI_KUBERNETES_OPENAPI_VERSION ..."
    (cd "$gen" && "$1/work/pulumi-gen-kubernetes" -version "$version" schema \
        "$specs/swagger-$PULUMI_KUBERNETES_OPENAPI_VERSION.json" "$gen" >>"$lg" 2>&1) ||
        { fail_with_log "pulumi-gen-kubernetes schema failed" "$lg"; return 1; }
    cp "$gen/provider/cmd/pulumi-resource-kubernetes/schema.json" "$provider/cmd/pulumi-resource-kubernetes/schema.json"
    compile_provider kubernetes github.com/pulumi/pulumi-kubernetes/provider/v4 "$provider" "$version" "$1"
}
