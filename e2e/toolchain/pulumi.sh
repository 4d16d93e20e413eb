#!/usr/bin/env bash
# Build the pinned Pulumi toolchain for the end-to-end tests into a cache outside the repository.
#
#   e2e/toolchain/pulumi.sh                  build everything (CLI, Python language host, providers)
#   e2e/toolchain/pulumi.sh --no-providers   build only the CLI and the Python language host
#   e2e/toolchain/pulumi.sh --print-path     print the bin dirs, ':'-joined for PATH, without building
#
# Each piece has its own cache directory under CACHE=${MYSQL_CLUSTER_CACHE:-/var/cache/mysql-cluster}, named by
# everything that goes into it, so changing a pin (or a source archive's checksum) never reuses a stale build:
#   pulumi-cli-v$PULUMI_VERSION                     pulumi, github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
#   pulumi-language-python-v<ver>-src-<sha>         pulumi-language-python, -exec and pulumi-resource-pulumi-python
#                                                   from the pulumi snapshot (see versions.env)
#   pulumi-resource-kubernetes-<build version>-src-<sha>-in-<hash>   from the pulumi-kubernetes snapshot, <hash>
#                                                   over its go.mod fixes and OpenAPI specs (see versions.env)
#   pulumi-resource-random-<build version>-src-<sha>  from the pulumi-random snapshot (see versions.env)
# <sha> is the first 12 hex digits of the archive's pinned sha256; archives come from
# SOURCES=${MYSQL_CLUSTER_SOURCES:-<repo>/../shared/sources} and are checked against that pin before use.
# A piece is marked `.complete` when done (a second run returns in well under a second); one builder at a
# time per piece (flock). Go's module and build caches are Go's (GOMODCACHE, GOCACHE). Exit status: 0 ok, 2 usage
# error, 3 a piece could not be built (message says which; the others are still built).
#
# Using the toolchain (offline): put the printed path first on PATH (the language host runs the program in the
# virtualenv that Pulumi.yaml names), then e.g.
#   PULUMI_HOME=<dir> PULUMI_BACKEND_URL=file://<dir> PULUMI_CONFIG_PASSPHRASE=<pw> \
#   PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true pulumi up --yes
# Provider plugins are found on PATH (ambient plugins): the engine uses them whatever version the SDKs ask for.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/versions.env
. "$HERE/versions.env"
# shellcheck source=SCRIPTDIR/pulumi/lib.sh
. "$HERE/pulumi/lib.sh"
# shellcheck source=SCRIPTDIR/pulumi/kubernetes-provider.sh
. "$HERE/pulumi/kubernetes-provider.sh"

CACHE=${MYSQL_CLUSTER_CACHE:-/var/cache/mysql-cluster}
SOURCES=${MYSQL_CLUSTER_SOURCES:-$(cd "$HERE/../../.." && pwd)/shared/sources}
CLI_DIR="$CACHE/pulumi-cli-v$PULUMI_VERSION"
LANGUAGE_DIR="$CACHE/pulumi-language-python-v$PULUMI_LANGUAGE_PYTHON_VERSION-src-${PULUMI_LANGUAGE_PYTHON_SOURCE_SHA256:0:12}"
# The Kubernetes provider's key also covers the go.mod fixes and the OpenAPI specs its schema comes from.
KUBERNETES_INPUTS="$PULUMI_KUBERNETES_SDK_GO_VERSION $PULUMI_KUBERNETES_GO_FIXES $PULUMI_KUBERNETES_OPENAPI_VERSION $PULUMI_KUBERNETES_LEGACY_OPENAPI_VERSIONS"
KUBERNETES_DIR="$CACHE/pulumi-resource-kubernetes-$PULUMI_KUBERNETES_PROVIDER_BUILD_VERSION-src-${PULUMI_KUBERNETES_SOURCE_SHA256:0:12}-in-$(printf '%s' "$KUBERNETES_INPUTS" | sha256sum | cut -c1-8)"
RANDOM_DIR="$CACHE/pulumi-resource-random-$PULUMI_RANDOM_PROVIDER_BUILD_VERSION-src-${PULUMI_RANDOM_SOURCE_SHA256:0:12}"

print_path() {
    printf '%s/bin:%s/bin:%s/bin:%s/bin\n' "$LANGUAGE_DIR" "$CLI_DIR" "$KUBERNETES_DIR" "$RANDOM_DIR"
}

usage() {
    sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

with_providers=1
case "${1:-}" in
    --print-path) print_path; exit 0 ;;
    --no-providers) with_providers=0 ;;
    -h | --help) usage; exit 0 ;;
    "") ;;
    *) usage >&2; exit 2 ;;
esac
[ $# -le 1 ] || { usage >&2; exit 2; }

build_cli() { # dir
    local mod="$1/work/cli" lg="$1/logs/build.log" got
    log "building pulumi CLI v$PULUMI_VERSION (cold: ~330 modules to download and ~3 min of compiling on 2 cores; log: $lg) ..."
    mkdir -p "$mod"
    render cli/go.mod.in "$mod/go.mod"
    render cli/tools.go.in "$mod/tools.go"
    (cd "$mod" && go mod tidy -e >>"$lg" 2>&1) || { fail_with_log "go mod tidy failed for the pulumi CLI wrapper module" "$lg"; return 1; }
    (cd "$mod" && "${GO_BUILD[@]}" \
        -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
        -o "$1/bin/pulumi.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi >>"$lg" 2>&1) ||
        { fail_with_log "cannot build pulumi CLI v$PULUMI_VERSION" "$lg"; return 1; }
    got=$("$1/bin/pulumi.tmp" version 2>>"$lg") || { fail_with_log "built pulumi CLI does not run" "$lg"; return 1; }
    [ "$got" = "v$PULUMI_VERSION" ] || { fail_with_log "built pulumi CLI reports '$got', expected v$PULUMI_VERSION" "$lg"; return 1; }
    mv -f "$1/bin/pulumi.tmp" "$1/bin/pulumi"
}

build_language_python() { # dir
    local src="$1/work/src" lg="$1/logs/build.log" mod sdkdir got
    local version=$PULUMI_LANGUAGE_PYTHON_VERSION
    mod="$src/sdk/python/cmd/pulumi-language-python"
    log "building pulumi-language-python v$version from $PULUMI_LANGUAGE_PYTHON_SOURCE (log: $lg) ..."
    unpack "$PULUMI_LANGUAGE_PYTHON_SOURCE" "$PULUMI_LANGUAGE_PYTHON_SOURCE_SHA256" "$src" "$lg" || return 1
    # Its go.mod replaces pkg/v3 and sdk/v3 with directories of the pulumi repository, which the snapshot
    # does not hold: build against the served modules at the CLI's version instead.
    (cd "$mod" && go mod edit \
        -dropreplace github.com/pulumi/pulumi/pkg/v3 -dropreplace github.com/pulumi/pulumi/sdk/v3 \
        -require "github.com/pulumi/pulumi/pkg/v3@v$PULUMI_VERSION" \
        -require "github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION") >>"$lg" 2>&1 ||
        { fail_with_log "cannot edit the language host's go.mod" "$lg"; return 1; }
    check_local_replaces "$mod" "$lg" || return 1
    (cd "$mod" && "${GO_BUILD[@]}" \
        -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$version" \
        -o "$1/bin/pulumi-language-python.tmp" . >>"$lg" 2>&1) ||
        { fail_with_log "cannot build pulumi-language-python v$version" "$lg"; return 1; }
    got=$("$1/bin/pulumi-language-python.tmp" -version 2>>"$lg") || got="(does not run)"
    [ "$got" = "v$version" ] ||
        { fail_with_log "built pulumi-language-python reports '$got', expected v$version" "$lg"; return 1; }
    install -m 0755 "$src/sdk/python/cmd/pulumi-language-python-exec" "$1/bin/pulumi-language-python-exec"
    # The plugin that serves Python dynamic providers (pulumi.dynamic) ships in sdk/v3.
    sdkdir=$(cd "$mod" && module_dir "github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION" "$lg") || sdkdir=""
    [ -f "$sdkdir/python/dist/pulumi-resource-pulumi-python" ] ||
        { fail_with_log "no python/dist/pulumi-resource-pulumi-python in sdk/v3@v$PULUMI_VERSION" "$lg"; return 1; }
    install -m 0755 "$sdkdir/python/dist/pulumi-resource-pulumi-python" "$1/bin/pulumi-resource-pulumi-python"
    mv -f "$1/bin/pulumi-language-python.tmp" "$1/bin/pulumi-language-python"
}

build_random() { # dir
    local src="$1/work/src" lg="$1/logs/build.log"
    log "building pulumi-resource-random $PULUMI_RANDOM_PROVIDER_BUILD_VERSION from $PULUMI_RANDOM_SOURCE (warm: ~90 s; log: $lg) ..."
    unpack "$PULUMI_RANDOM_SOURCE" "$PULUMI_RANDOM_SOURCE_SHA256" "$src" "$lg" || return 1
    # go.mod replaces the shim module with ./shim, which the snapshot holds.
    check_local_replaces "$src/provider" "$lg" || return 1
    compile_provider random github.com/pulumi/pulumi-random/provider/v4 "$src/provider" \
        "$PULUMI_RANDOM_PROVIDER_BUILD_VERSION" "$1" schema-embed.json
}

setup_go
failed=()
piece "$CLI_DIR" build_cli "pulumi-cli-v$PULUMI_VERSION" || failed+=("pulumi CLI v$PULUMI_VERSION")
piece "$LANGUAGE_DIR" build_language_python "pulumi-language-python-v$PULUMI_LANGUAGE_PYTHON_VERSION" ||
    failed+=("pulumi-language-python v$PULUMI_LANGUAGE_PYTHON_VERSION")
if [ "$with_providers" = 1 ]; then
    piece "$KUBERNETES_DIR" build_kubernetes "pulumi-resource-kubernetes-$PULUMI_KUBERNETES_PROVIDER_BUILD_VERSION" ||
        failed+=("pulumi-resource-kubernetes $PULUMI_KUBERNETES_PROVIDER_BUILD_VERSION")
    piece "$RANDOM_DIR" build_random "pulumi-resource-random-$PULUMI_RANDOM_PROVIDER_BUILD_VERSION" ||
        failed+=("pulumi-resource-random $PULUMI_RANDOM_PROVIDER_BUILD_VERSION")
fi

if [ ${#failed[@]} -gt 0 ]; then
    log "FAILED to build: ${failed[*]} (pieces that did build stay cached; logs under $CACHE/pulumi-*/logs)"
    exit 3
fi
log "complete: $(print_path)"
# What the engine will find on PATH, as each binary reports its own version.
IFS=: read -r -a bin_dirs <<<"$(print_path)"
for bin in "${bin_dirs[@]}"; do
    for plugin in "$bin"/pulumi "$bin"/pulumi-language-python "$bin"/pulumi-resource-*; do
        case $plugin in
            */pulumi-resource-pulumi-python) continue ;; # the Python SDK's dynamic-provider shim
            */pulumi) flag=version ;;
            *) flag=-version ;;
        esac
        [ -x "$plugin" ] || continue
        reported=$(timeout 20 "$plugin" "$flag" 2>/dev/null | head -n 1 || true)
        log "  $(basename "$plugin") ${reported:-(does not report its version; see versions.env)}"
    done
done
