#!/usr/bin/env bash
# Build the pinned Pulumi toolchain for the end-to-end tests into a cache outside the repository.
#
#   e2e/toolchain/pulumi.sh                  build everything (CLI, Python language host, providers)
#   e2e/toolchain/pulumi.sh --no-providers   build only the CLI and the Python language host
#   e2e/toolchain/pulumi.sh --print-bin-dir  print the bin dir (for PATH) without building anything
#
# Result: $CACHE/pulumi-<key>/bin with
#   pulumi                        CLI, github.com/pulumi/pulumi/pkg/v3/cmd/pulumi @ v$PULUMI_VERSION
#   pulumi-language-python        Python language host (see versions.env for why its version differs)
#   pulumi-language-python-exec   exec shim from github.com/pulumi/pulumi/sdk/v3 @ v$PULUMI_VERSION
#   pulumi-resource-pulumi-python plugin for Python dynamic providers, same source
#   pulumi-resource-kubernetes    provider plugin, github.com/pulumi/pulumi-kubernetes/provider/v4 @
#                                 $PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION, reporting version
#                                 $PULUMI_KUBERNETES_PROVIDER_BUILD_VERSION (pairs with PyPI
#                                 pulumi-kubernetes==$PULUMI_KUBERNETES_VERSION; see versions.env)
# There is no pulumi-resource-random: the Go proxy here serves no buildable version of it
# (PULUMI_RANDOM_AVAILABLE=false in versions.env says why); the script says so and goes on.
# CACHE=${MYSQL_CLUSTER_CACHE:-/var/cache/mysql-cluster}. Versions come from versions.env.
# Each piece is stamped when done and the whole toolchain gets a `.complete` marker written last,
# so a second run returns in well under a second. Go's module and build caches stay at Go's
# defaults. Exit status: 0 ok, 2 usage error, 3 a piece could not be built (message says which).
#
# Using the toolchain (offline): put the bin dir first on PATH, and the Python virtualenv's bin dir
# before it (the language host runs the `python3` it finds on PATH; it does not read
# runtime.options.virtualenv when driven by this CLI), then e.g.
#   PULUMI_HOME=<dir> PULUMI_BACKEND_URL=file://<dir> PULUMI_CONFIG_PASSPHRASE=<pw> \
#   PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true pulumi up --yes
# Provider plugins are found on PATH (ambient plugins); the engine uses the ambient
# pulumi-resource-kubernetes although the Python SDK asks for $PULUMI_KUBERNETES_VERSION.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/versions.env
. "$HERE/versions.env"

CACHE=${MYSQL_CLUSTER_CACHE:-/var/cache/mysql-cluster}
KEY="pulumi-${PULUMI_VERSION}-pyhost-${PULUMI_LANGUAGE_PYTHON_VERSION}-k8s-${PULUMI_KUBERNETES_PROVIDER_BUILD_VERSION}"
ROOT="$CACHE/$KEY"
BIN="$ROOT/bin"
WORK="$ROOT/work"
LOGS="$ROOT/logs"
STAMPS="$ROOT/stamps"
MARKER="$ROOT/.complete"
CORE_MARKER="$ROOT/.complete-core"

log() { printf '[toolchain/pulumi] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 3; }

usage() {
    sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

with_providers=1
case "${1:-}" in
    --print-bin-dir) printf '%s\n' "$BIN"; exit 0 ;;
    --no-providers) with_providers=0 ;;
    -h | --help) usage; exit 0 ;;
    "") ;;
    *) usage >&2; exit 2 ;;
esac
[ $# -le 1 ] || { usage >&2; exit 2; }

# Fast path: nothing to do.
if [ -f "$MARKER" ] || { [ "$with_providers" = 0 ] && [ -f "$CORE_MARKER" ]; }; then
    log "up to date: $BIN"
    exit 0
fi

command -v go >/dev/null || die "go is not installed (need Go >= 1.26 to build pulumi v$PULUMI_VERSION)"
command -v flock >/dev/null || die "flock (util-linux) is not installed"

mkdir -p "$BIN" "$WORK" "$LOGS" "$STAMPS"
# One builder at a time per toolchain key; a concurrent caller waits, then sees the stamps.
exec 9>"$ROOT/.lock"
flock 9
if [ -f "$MARKER" ] || { [ "$with_providers" = 0 ] && [ -f "$CORE_MARKER" ]; }; then
    log "up to date: $BIN"
    exit 0
fi

# Go environment.
# - The checksum database (sum.golang.org) is not reachable from this machine, so checksum
#   verification against it is turned off (GOSUMDB=off); go.sum files are still written and
#   checked locally within each wrapper module under $WORK.
# - -mod=mod lets the wrapper modules' go.mod/go.sum be completed from the module proxy.
# - GOTOOLCHAIN=local: never try to download another Go toolchain.
export GOSUMDB=off GONOSUMDB='*' GOTOOLCHAIN=local
export GOFLAGS="-mod=mod -buildvcs=false"
# The machine has 2 cores and other builds run in parallel: -p 2 and nice.
GO_BUILD=(nice -n 10 go build -p 2 -trimpath)

now() { date +%s; }
timing() { # piece seconds
    printf '%s %ss %s\n' "$(date -u +%FT%TZ)" "$2" "$1" >>"$LOGS/timings.txt"
    log "done: $1 in $2 s"
}
fail_with_log() { # message logfile
    log "ERROR: $1"
    if [ -f "$2" ]; then
        log "last lines of $2:"
        tail -n 25 "$2" >&2 || true
    fi
    return 1
}

# Render a template from $HERE/pulumi/<dir>/<name>.in into <dest>.
render() { # template dest
    sed -e "s/@PULUMI_VERSION@/$PULUMI_VERSION/g" \
        -e "s/@PULUMI_LANGUAGE_PYTHON_VERSION@/$PULUMI_LANGUAGE_PYTHON_VERSION/g" \
        "$HERE/pulumi/$1" >"$2"
}

# Directory of a module in Go's module cache (downloads it if needed).
module_dir() { # module@version logfile
    local json
    json=$(go mod download -json "$1" 2>>"$2") || { cat <<<"$json" >>"$2"; return 1; }
    printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}

build_cli() {
    local stamp="$STAMPS/pulumi-cli" lg="$LOGS/pulumi-cli.log" mod="$WORK/pulumi-cli" t0
    [ -f "$stamp" ] && [ -x "$BIN/pulumi" ] && return 0
    t0=$(now)
    log "building pulumi CLI v$PULUMI_VERSION (cold: ~330 modules to download and ~9 min of compiling on 2 cores; log: $lg) ..."
    : >"$lg"
    mkdir -p "$mod"
    render cli/go.mod.in "$mod/go.mod"
    render cli/tools.go.in "$mod/tools.go"
    (cd "$mod" && go mod tidy -e >>"$lg" 2>&1) || { fail_with_log "go mod tidy failed for the pulumi CLI wrapper module" "$lg"; return 1; }
    (cd "$mod" && "${GO_BUILD[@]}" \
        -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
        -o "$BIN/pulumi.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi >>"$lg" 2>&1) ||
        { fail_with_log "cannot build pulumi CLI v$PULUMI_VERSION" "$lg"; return 1; }
    local got
    got=$("$BIN/pulumi.tmp" version 2>>"$lg") || { fail_with_log "built pulumi CLI does not run" "$lg"; return 1; }
    [ "$got" = "v$PULUMI_VERSION" ] || { fail_with_log "built pulumi CLI reports '$got', expected v$PULUMI_VERSION" "$lg"; return 1; }
    mv -f "$BIN/pulumi.tmp" "$BIN/pulumi"
    timing "pulumi-cli-v$PULUMI_VERSION" $(($(now) - t0))
    touch "$stamp"
}

build_language_python() {
    local stamp="$STAMPS/pulumi-language-python" lg="$LOGS/pulumi-language-python.log"
    local mod="$WORK/pulumi-language-python" t0 sdkdir
    [ -f "$stamp" ] && [ -x "$BIN/pulumi-language-python" ] && [ -x "$BIN/pulumi-language-python-exec" ] &&
        [ -x "$BIN/pulumi-resource-pulumi-python" ] && return 0
    t0=$(now)
    log "building pulumi-language-python (sdk/v3 v$PULUMI_LANGUAGE_PYTHON_VERSION; log: $lg) ..."
    : >"$lg"
    mkdir -p "$mod"
    render language-python/go.mod.in "$mod/go.mod"
    render language-python/tools.go.in "$mod/tools.go"
    (cd "$mod" && go mod tidy -e >>"$lg" 2>&1) || { fail_with_log "go mod tidy failed for the language host wrapper module" "$lg"; return 1; }
    (cd "$mod" && "${GO_BUILD[@]}" \
        -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_LANGUAGE_PYTHON_VERSION" \
        -o "$BIN/pulumi-language-python.tmp" github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python >>"$lg" 2>&1) ||
        { fail_with_log "cannot build pulumi-language-python from sdk/v3 v$PULUMI_LANGUAGE_PYTHON_VERSION" "$lg"; return 1; }
    # The exec shim matches the Python SDK (pulumi==$PULUMI_VERSION), so take it from that sdk/v3.
    log "installing pulumi-language-python-exec from github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION ..."
    sdkdir=$(cd "$mod" && module_dir "github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION" "$lg") || sdkdir=""
    [ -n "$sdkdir" ] || { fail_with_log "cannot download github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION" "$lg"; return 1; }
    [ -f "$sdkdir/python/cmd/pulumi-language-python-exec" ] ||
        { fail_with_log "$sdkdir/python/cmd/pulumi-language-python-exec is missing" "$lg"; return 1; }
    install -m 0755 "$sdkdir/python/cmd/pulumi-language-python-exec" "$BIN/pulumi-language-python-exec"
    # Plugin that serves Python dynamic providers (pulumi.dynamic), also shipped in sdk/v3.
    [ -f "$sdkdir/python/dist/pulumi-resource-pulumi-python" ] ||
        { fail_with_log "$sdkdir/python/dist/pulumi-resource-pulumi-python is missing" "$lg"; return 1; }
    install -m 0755 "$sdkdir/python/dist/pulumi-resource-pulumi-python" "$BIN/pulumi-resource-pulumi-python"
    mv -f "$BIN/pulumi-language-python.tmp" "$BIN/pulumi-language-python"
    timing "pulumi-language-python-v$PULUMI_LANGUAGE_PYTHON_VERSION" $(($(now) - t0))
    touch "$stamp"
}

# Build a provider plugin from a writable copy of its Go module.
#   name           plugin name (builds ./cmd/pulumi-resource-<name>)
#   module@modver  the provider module and the version of it the Go proxy serves
#   version        version stamped into the plugin (<module>/pkg/version.Version and the schema)
#   fixes          "path=version ..." : drop go.mod's replace of <path> (a local dir outside the
#                  module zip) and require <path>@<version> from the proxy instead
build_provider() { # name module modver version [fixes]
    local name=$1 module=$2 modver=$3 version=$4 fixes=${5:-}
    local stamp="$STAMPS/pulumi-resource-$name" lg="$LOGS/pulumi-resource-$name.log"
    local src="$WORK/provider-$name" cmd="cmd/pulumi-resource-$name" t0 dir rel fix missing=""
    [ -f "$stamp" ] && [ -x "$BIN/pulumi-resource-$name" ] && return 0
    t0=$(now)
    log "building pulumi-resource-$name $version ($module@$modver; cold: ~10 min on 2 cores; log: $lg) ..."
    : >"$lg"
    dir=$(cd "$WORK" && module_dir "$module@$modver" "$lg") || dir=""
    [ -n "$dir" ] ||
        { fail_with_log "the Go module proxy does not serve $module@$modver (provider $name)" "$lg"; return 1; }
    # The module cache is read-only: work on a copy.
    rm -rf "$src"
    cp -r "$dir" "$src"
    chmod -R u+w "$src"
    for fix in $fixes; do
        log "  go.mod: replace ${fix%%=*} => local dir dropped; requiring ${fix%%=*}@${fix#*=}"
        (cd "$src" && go mod edit -dropreplace "${fix%%=*}" -require "${fix%%=*}@${fix#*=}") >>"$lg" 2>&1 ||
            { fail_with_log "cannot edit go.mod of $module for $fix" "$lg"; return 1; }
    done
    # Any remaining local replace target (e.g. a nested module) is not part of a module zip.
    while read -r rel; do
        [ -n "$rel" ] && [ ! -d "$src/$rel" ] && missing="$missing $rel"
    done < <(cd "$src" && go mod edit -json | sed -n 's/^[[:space:]]*"Path": "\(\.\.\{0,1\}\/[^"]*\)"$/\1/p')
    [ -z "$missing" ] || { fail_with_log "$module@$modver replaces modules with local dirs missing from its zip:$missing" "$lg"; return 1; }
    # main.go embeds schema-embed.json and terraform-mapping-embed.json, which are not in the zip:
    # they are made by its go:generate step (go run ./generate.go, which reads VERSION).
    log "  generating the embedded schema of pulumi-resource-$name ..."
    (cd "$src/$cmd" && VERSION=$version nice -n 10 go run ./generate.go >>"$lg" 2>&1) ||
        { fail_with_log "generate.go (schema-embed.json) failed for $name" "$lg"; return 1; }
    [ -s "$src/$cmd/schema-embed.json" ] ||
        { fail_with_log "generate.go did not write $cmd/schema-embed.json" "$lg"; return 1; }
    # -X on a missing variable is silently ignored: make sure the version variable is there.
    grep -qs '^var Version string' "$src"/pkg/version/*.go ||
        { fail_with_log "$module has no pkg/version.Version variable to stamp" "$lg"; return 1; }
    log "  compiling pulumi-resource-$name ..."
    (cd "$src" && "${GO_BUILD[@]}" \
        -ldflags "-X $module/pkg/version.Version=$version" \
        -o "$BIN/pulumi-resource-$name.tmp" "./$cmd" >>"$lg" 2>&1) ||
        { fail_with_log "cannot build pulumi-resource-$name $version" "$lg"; return 1; }
    # -trimpath keeps -ldflags out of the build info, so check the stamp in the binary itself: the
    # version string occurs once more than in the embedded schema (the version.Version variable).
    local in_schema in_bin
    in_schema=$(grep -oF -- "$version" "$src/$cmd/schema-embed.json" | wc -l)
    in_bin=$(grep -aoF -- "$version" "$BIN/pulumi-resource-$name.tmp" | wc -l)
    [ "$in_bin" -gt "$in_schema" ] ||
        { fail_with_log "built pulumi-resource-$name does not carry $module/pkg/version.Version=$version" "$lg"; return 1; }
    mv -f "$BIN/pulumi-resource-$name.tmp" "$BIN/pulumi-resource-$name"
    timing "pulumi-resource-$name-$version" $(($(now) - t0))
    touch "$stamp"
}

log "toolchain dir: $ROOT"
failed=()
build_cli || failed+=("pulumi CLI v$PULUMI_VERSION")
build_language_python || failed+=("pulumi-language-python")
if [ "$with_providers" = 1 ]; then
    build_provider kubernetes github.com/pulumi/pulumi-kubernetes/provider/v4 \
        "$PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION" "$PULUMI_KUBERNETES_PROVIDER_BUILD_VERSION" \
        "github.com/pulumi/pulumi-kubernetes/sdk/v4=$PULUMI_KUBERNETES_SDK_GO_VERSION" ||
        failed+=("pulumi-resource-kubernetes $PULUMI_KUBERNETES_PROVIDER_BUILD_VERSION")
    if [ "${PULUMI_RANDOM_AVAILABLE:-false}" = true ]; then
        log "ERROR: versions.env says PULUMI_RANDOM_AVAILABLE=true, but pulumi.sh has no recipe for pulumi-resource-random"
        failed+=("pulumi-resource-random")
    else
        log "NOTE: pulumi-resource-random is unavailable and not built: the Go proxy serves no version of github.com/pulumi/pulumi-random/provider/v4 and its ./shim nested module is in no module zip (evidence in versions.env)"
    fi
fi

if [ ${#failed[@]} -gt 0 ]; then
    log "FAILED to build: ${failed[*]}"
    log "pieces that did build are in $BIN; logs in $LOGS"
    exit 3
fi

if [ "$with_providers" = 1 ]; then
    date -u +%FT%TZ >"$MARKER"
    log "complete: $BIN"
else
    date -u +%FT%TZ >"$CORE_MARKER"
    log "complete without providers: $BIN"
fi
