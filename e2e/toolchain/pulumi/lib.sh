# shellcheck shell=bash
# Helpers of e2e/toolchain/pulumi.sh (sourced): logging, the Go environment, one cached piece, source archives,
# and the build of a bridged or native provider plugin. Expects HERE, CACHE, SOURCES and the versions.env pins.

log() { printf '[toolchain/pulumi] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 3; }
now() { date +%s; }

fail_with_log() { # message logfile
    log "ERROR: $1"
    if [ -f "$2" ]; then
        log "last lines of $2:"
        tail -n 25 "$2" >&2 || true
    fi
    return 1
}

# Go environment.
# - The checksum database (sum.golang.org) is not reachable from this machine, so checksum verification
#   against it is turned off (GOSUMDB=off); go.sum files are still written and checked locally.
# - -mod=mod lets the modules' go.mod/go.sum be completed from the module proxy.
# - GOTOOLCHAIN=local: never try to download another Go toolchain.
# - The machine has 2 cores and other builds run in parallel: -p 2 and nice.
setup_go() {
    command -v go >/dev/null || die "go is not installed (need Go >= 1.26 to build pulumi v$PULUMI_VERSION)"
    command -v flock >/dev/null || die "flock (util-linux) is not installed"
    export GOSUMDB=off GONOSUMDB='*' GOTOOLCHAIN=local
    export GOFLAGS="-mod=mod -buildvcs=false"
    GO_BUILD=(nice -n 10 go build -p 2 -trimpath)
}

# Build one cached piece: run `builder dir` unless dir/.complete exists, one builder at a time per dir.
piece() { # dir builder label
    local dir=$1 builder=$2 label=$3 t0 rc=0
    if [ -f "$dir/.complete" ]; then
        log "up to date: $label"
        return 0
    fi
    mkdir -p "$dir/bin" "$dir/work" "$dir/logs"
    exec 9>"$dir/.lock"
    flock 9
    if [ ! -f "$dir/.complete" ]; then
        t0=$(now)
        : >"$dir/logs/build.log"
        if "$builder" "$dir"; then
            printf '%s %ss %s\n' "$(date -u +%FT%TZ)" "$(($(now) - t0))" "$label" >>"$dir/logs/timings.txt"
            log "done: $label in $(($(now) - t0)) s"
            date -u +%FT%TZ >"$dir/.complete"
        else
            rc=1
        fi
    fi
    exec 9>&-
    return "$rc"
}

# Render a template $HERE/pulumi/<dir>/<name>.in into <dest>.
render() { # template dest
    sed -e "s/@PULUMI_VERSION@/$PULUMI_VERSION/g" "$HERE/pulumi/$1" >"$2"
}

# Directory of a module in Go's module cache (downloads it if needed).
module_dir() { # module@version logfile
    local json
    json=$(go mod download -json "$1" 2>>"$2") || { cat <<<"$json" >>"$2"; return 1; }
    printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}

# Unpack a source archive from $SOURCES into dest (emptied first), after checking its pinned sha256.
unpack() { # archive sha256 dest logfile
    local file="$SOURCES/$1" got
    [ -f "$file" ] || { fail_with_log "source archive $file is missing (set MYSQL_CLUSTER_SOURCES to its directory)" "$4"; return 1; }
    got=$(sha256sum "$file" | cut -d' ' -f1)
    [ "$got" = "$2" ] || { fail_with_log "$file has sha256 $got, versions.env pins $2" "$4"; return 1; }
    rm -rf "$3"
    mkdir -p "$3"
    tar -xzf "$file" -C "$3" --strip-components=1 >>"$4" 2>&1 || { fail_with_log "cannot unpack $file" "$4"; return 1; }
}

# Fail when go.mod in dir still replaces a module with a local directory that is not there.
check_local_replaces() { # dir logfile
    local rel missing=""
    while read -r rel; do
        [ -n "$rel" ] && [ ! -d "$1/$rel" ] && missing="$missing $rel"
    done < <(cd "$1" && go mod edit -json | sed -n 's/^[[:space:]]*"Path": "\(\.\.\{0,1\}\/[^"]*\)"$/\1/p')
    [ -z "$missing" ] || { fail_with_log "$1/go.mod replaces modules with local dirs that are missing:$missing" "$2"; return 1; }
}

# Build provider plugin pulumi-resource-<name> from its source tree into <dir>/bin, stamped with <version>.
compile_provider() { # name module src version dir
    local name=$1 module=$2 src=$3 version=$4 dir=$5 cmd="cmd/pulumi-resource-$1" lg="$5/logs/build.log"
    local in_schema in_bin
    # main.go embeds schema-embed.json, made by its go:generate step (go run ./generate.go, reads VERSION).
    log "  generating the embedded schema of pulumi-resource-$name ..."
    (cd "$src/$cmd" && VERSION=$version nice -n 10 go run ./generate.go >>"$lg" 2>&1) ||
        { fail_with_log "generate.go (schema-embed.json) failed for $name" "$lg"; return 1; }
    [ -s "$src/$cmd/schema-embed.json" ] || { fail_with_log "generate.go did not write $cmd/schema-embed.json" "$lg"; return 1; }
    # -X on a missing variable is silently ignored: make sure the version variable is there.
    grep -qs '^var Version string' "$src"/pkg/version/*.go ||
        { fail_with_log "$module has no pkg/version.Version variable to stamp" "$lg"; return 1; }
    log "  compiling pulumi-resource-$name ..."
    (cd "$src" && "${GO_BUILD[@]}" -ldflags "-X $module/pkg/version.Version=$version" \
        -o "$dir/bin/pulumi-resource-$name.tmp" "./$cmd" >>"$lg" 2>&1) ||
        { fail_with_log "cannot build pulumi-resource-$name $version" "$lg"; return 1; }
    # -trimpath keeps -ldflags out of the build info, so check the stamp in the binary itself: the version
    # string occurs once more than in the embedded schema (the version.Version variable).
    in_schema=$(grep -oF -- "$version" "$src/$cmd/schema-embed.json" | wc -l)
    in_bin=$(grep -aoF -- "$version" "$dir/bin/pulumi-resource-$name.tmp" | wc -l)
    [ "$in_bin" -gt "$in_schema" ] ||
        { fail_with_log "built pulumi-resource-$name does not carry $module/pkg/version.Version=$version" "$lg"; return 1; }
    mv -f "$dir/bin/pulumi-resource-$name.tmp" "$dir/bin/pulumi-resource-$name"
}
