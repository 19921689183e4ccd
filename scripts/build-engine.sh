#!/usr/bin/env bash
# Makes a working Pulumi engine (CLI, Node.js language host, dynamic-provider launcher and the
# command 1.2.1 resource plugin) available without downloads from anywhere but the Go module
# proxy, and prints its bin directory as the last line on stdout:
#
#   PATH="$(scripts/build-engine.sh | tail -1):$PATH"      (or: source scripts/engine-env.sh)
#
# 1. A working `pulumi` already on PATH is used as it is (set MPI_HOSTS_ENGINE_BUILD=1 to skip it).
# 2. Otherwise everything is built into ${MPI_HOSTS_CACHE:-/var/cache/mpi-hosts}/engine/v<ver>/bin:
#    - pulumi: main package github.com/pulumi/pulumi/pkg/v3/cmd/pulumi at the npm SDK's version, in
#      a throwaway wrapper module (made in the cache, never in the repo) that also requires
#      github.com/pulumi/pulumi/sdk/v3 and copies pkg's non-local replace directives.
#    - pulumi-language-nodejs: the Go module github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3
#      at the commit of the release, when the module proxy serves it; where it does not (the proxy
#      this project reaches answers 403 for it), a small Node.js implementation of the same gRPC
#      service, standins/language-host/pulumi-language-nodejs.js, that runs
#      `node @pulumi/pulumi/cmd/run` like the official host.
#    - pulumi-resource-pulumi-nodejs: the launcher that runs the program's
#      @pulumi/pulumi/cmd/dynamic-provider (needed by pulumi.dynamic.Resource).
#    - the command 1.2.1 plugin: the Go provider github.com/pulumi/pulumi-command/provider when the
#      proxy serves it, else a Node.js stand-in (standins/command-provider/pulumi-resource-command.js) that implements
#      command:local:Command, command:remote:Command (SSH through the program's ssh2 package) and
#      command:local:run; installed with `pulumi plugin install resource command 1.2.1 --file`
#      into ${PULUMI_HOME:-~/.pulumi}/plugins, so the engine never tries to download it.
#    The stand-ins are copied into the cache (see standins/README.md for what they do and do not do);
#    a second run only checks the finished files and refreshes a stand-in whose file changed
#    (seconds). Progress goes to stderr.
#
# Environment: MPI_HOSTS_CACHE (cache root), MPI_HOSTS_ENGINE_BUILD=1 (ignore a pulumi on PATH),
# MPI_HOSTS_ENGINE_RETRY_GO=1 (try the Go modules again for parts that fell back to a stand-in),
# PULUMI_HOME (where the plugin is installed), GO (go binary), GOPROXY/GOMODCACHE/GOCACHE as usual.
set -euo pipefail

PULUMI_VERSION="${MPI_HOSTS_PULUMI_VERSION:-3.248.0}"
COMMAND_VERSION="${MPI_HOSTS_COMMAND_VERSION:-1.2.1}"
CACHE_ROOT="${MPI_HOSTS_CACHE:-/var/cache/mpi-hosts}"
ENGINE_DIR="$CACHE_ROOT/engine/v$PULUMI_VERSION"
BIN="$ENGINE_DIR/bin"
SOURCES="$ENGINE_DIR/sources"
PLUGIN_HOME="${PULUMI_HOME:-$HOME/.pulumi}"
REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

PKG_MOD="github.com/pulumi/pulumi/pkg/v3"
SDK_MOD="github.com/pulumi/pulumi/sdk/v3"
LANG_MOD="github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3"
CMD_MOD="github.com/pulumi/pulumi-command/provider"
VERSION_VAR="github.com/pulumi/pulumi/sdk/v3/go/common/version.Version"
CMD_VERSION_VAR="github.com/pulumi/pulumi-command/provider/pkg/version.Version"

# Nothing here may reach pulumi.com or GitHub.
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

log() { printf 'engine: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

# ---------------------------------------------------------------------------------------------
# 1. A pulumi that is already there.
# ---------------------------------------------------------------------------------------------
if [ "${MPI_HOSTS_ENGINE_BUILD:-}" != 1 ] && existing="$(command -v pulumi 2>/dev/null)"; then
    existing_dir="$(cd "$(dirname "$existing")" && pwd -P)"
    own_dir=""
    if [ -d "$BIN" ]; then
        own_dir="$(cd "$BIN" && pwd -P)"
    fi
    if [ "$existing_dir" != "$own_dir" ] && existing_version="$(pulumi version 2>/dev/null)"; then
        log "using the pulumi already on PATH: $existing ($existing_version)"
        if [ "$existing_version" != "v$PULUMI_VERSION" ]; then
            log "warning: it is $existing_version; the npm SDK is $PULUMI_VERSION"
        fi
        if ! pulumi plugin ls 2>/dev/null | grep -Eq "^command[[:space:]]+resource[[:space:]]+${COMMAND_VERSION}[[:space:]]"; then
            log "note: the command $COMMAND_VERSION plugin is not installed there; pulumi downloads it on first use"
            log "      (offline: run with MPI_HOSTS_ENGINE_BUILD=1 to build and install everything here instead)"
        fi
        printf '%s\n' "$existing_dir"
        exit 0
    fi
fi

mkdir -p "$BIN" "$ENGINE_DIR/src"
touch "$SOURCES"

# One build at a time per cache (CI and a developer may share the machine).
if command -v flock >/dev/null 2>&1; then
    exec 9>"$ENGINE_DIR/.lock"
    flock 9
fi

command -v node >/dev/null 2>&1 || die "node is not on PATH (the language host and the plugins run on Node.js)"

source_of() { sed -n "s/^$1=//p" "$SOURCES" | tail -1; }
set_source() {
    local tmp="$SOURCES.tmp"
    grep -v "^$1=" "$SOURCES" >"$tmp" || true
    printf '%s=%s\n' "$1" "$2" >>"$tmp"
    mv "$tmp" "$SOURCES"
}

# Writes stdin to $1 (mode 755) only when the content differs, so a cached run changes nothing.
install_text() {
    local dest="$1" tmp="$1.tmp.$$"
    cat >"$tmp"
    chmod 755 "$tmp"
    if cmp -s "$tmp" "$dest" 2>/dev/null; then
        rm -f "$tmp"
    else
        mv "$tmp" "$dest"
    fi
}

GO_BIN=""
find_go() {
    [ -n "$GO_BIN" ] && return 0
    GO_BIN="${GO:-$(command -v go 2>/dev/null || true)}"
    if [ -z "$GO_BIN" ] && [ -x /usr/local/go/bin/go ]; then
        GO_BIN=/usr/local/go/bin/go
    fi
    [ -n "$GO_BIN" ] || die "no Go toolchain (go on PATH or /usr/local/go/bin/go) to build the pulumi CLI"
    log "using $("$GO_BIN" version)"
    # Modules come from the module proxy only: no fallback to fetching repositories directly.
    local proxies="" p
    local IFS=',|'
    for p in $("$GO_BIN" env GOPROXY); do
        case "$p" in
        direct | off | "") ;;
        *) proxies="${proxies:+$proxies,}$p" ;;
        esac
    done
    [ -n "$proxies" ] || die "GOPROXY names no module proxy (only direct/off)"
    export GOPROXY="$proxies" GOVCS='*:off'
}

# Prints the replace directives of a go.mod whose target is not a local path.
non_local_replaces() {
    awk '
        function emit(spec,   target) {
            target = spec
            sub(/^.*=>[ \t]*/, "", target)
            if (target !~ /^(\.|\/)/) print "replace " spec
        }
        /^replace[ \t]*\($/ { block = 1; next }
        block && /^\)/ { block = 0; next }
        block { line = $0; sub(/^[ \t]+/, "", line); sub(/[ \t]*\/\/.*$/, "", line); if (line != "") emit(line); next }
        /^replace[ \t]/ { line = $0; sub(/^replace[ \t]+/, "", line); sub(/[ \t]*\/\/.*$/, "", line); emit(line) }
    ' "$1"
}

# go mod download -json MOD@VER, printed; fails when the proxy does not serve it.
mod_download() {
    (cd "$ENGINE_DIR/src" && "$GO_BIN" mod download -json "$1" 2>&1)
}
json_field() { sed -n "s/^[[:space:]]*\"$1\": \"\\(.*\\)\",\\{0,1\\}\$/\\1/p" | head -1; }

# build_go_main LABEL MODULE VERSION MAIN_PACKAGE LDFLAGS OUTPUT [EXTRA_REQUIRE...]
# Builds MAIN_PACKAGE of MODULE@VERSION in a wrapper module under $ENGINE_DIR/src/LABEL.
build_go_main() {
    local label="$1" mod="$2" ver="$3" main="$4" ldflags="$5" out="$6"
    shift 6
    local work="$ENGINE_DIR/src/$label" info dir gover req
    rm -rf "$work"
    mkdir -p "$work"
    info="$(mod_download "$mod@$ver")" || {
        log "$mod@$ver: $( (printf '%s\n' "$info" | json_field Error | grep . || printf '%s' "$info") | tr '\n' ' ' | cut -c1-300)"
        return 1
    }
    dir="$(printf '%s\n' "$info" | json_field Dir)"
    [ -f "$dir/go.mod" ] || {
        log "$mod@$ver: no go.mod in the module cache ($dir)"
        return 1
    }
    gover="$(sed -n 's/^go \([0-9][0-9.]*\).*/\1/p' "$dir/go.mod" | head -1)"
    {
        printf 'module mpihosts.invalid/engine-build/%s\n\ngo %s\n\nrequire (\n' "$label" "${gover:-1.25}"
        printf '\t%s %s\n' "$mod" "$ver"
        for req in "$@"; do
            printf '\t%s\n' "$req"
        done
        printf ')\n\n'
        non_local_replaces "$dir/go.mod"
    } >"$work/go.mod"
    printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$main" >"$work/tools.go"
    (cd "$work" && "$GO_BIN" mod tidy) || return 1
    (cd "$work" && "$GO_BIN" build -p 2 -trimpath -ldflags "$ldflags" -o "$out.tmp" "$main") || return 1
    mv "$out.tmp" "$out"
}

# The commit of the release, from the pkg module's origin (proxies record it in the .info).
release_commit() {
    local info
    info="$(mod_download "$PKG_MOD@v$PULUMI_VERSION")" || return 1
    printf '%s\n' "$info" | json_field Hash
}

# ---------------------------------------------------------------------------------------------
# The Node.js stand-ins (used where the module proxy does not serve the Go modules). They are
# plain files in standins/ (see standins/README.md); copied into the cache so that the engine keeps
# working when the checkout moves, and replaced only when their content changed.
# ---------------------------------------------------------------------------------------------
STANDINS="$REPO_DIR/standins"

install_standin() {
    [ -f "$1" ] || die "$1 is missing (the Node.js stand-ins live in standins/ of the mpi-hosts checkout)"
    install_text "$2" <"$1"
}

install_language_host() {
    install_standin "$STANDINS/language-host/pulumi-language-nodejs.js" "$BIN/pulumi-language-nodejs"
}

install_command_standin() {
    install_standin "$STANDINS/command-provider/pulumi-resource-command.js" "$1"
}

# ---------------------------------------------------------------------------------------------
# 2a. The CLI.
# ---------------------------------------------------------------------------------------------
if [ -x "$BIN/pulumi" ] && [ "$("$BIN/pulumi" version 2>/dev/null || true)" = "v$PULUMI_VERSION" ]; then
    log "pulumi v$PULUMI_VERSION: cached"
else
    find_go
    log "building the pulumi CLI v$PULUMI_VERSION from Go modules (several minutes on 2 cores)..."
    started=$SECONDS
    build_go_main cli "$PKG_MOD" "v$PULUMI_VERSION" "$PKG_MOD/cmd/pulumi" \
        "-s -w -X $VERSION_VAR=v$PULUMI_VERSION" "$BIN/pulumi" "$SDK_MOD v$PULUMI_VERSION" ||
        die "building the pulumi CLI failed (see above)"
    [ "$("$BIN/pulumi" version)" = "v$PULUMI_VERSION" ] || die "the built pulumi does not report v$PULUMI_VERSION"
    set_source pulumi "go:$PKG_MOD@v$PULUMI_VERSION"
    log "pulumi v$PULUMI_VERSION built in $((SECONDS - started)) s"
fi

# ---------------------------------------------------------------------------------------------
# 2b. The Node.js language host.
# ---------------------------------------------------------------------------------------------
if [ "$(source_of pulumi-language-nodejs)" = go ] && [ -x "$BIN/pulumi-language-nodejs" ]; then
    log "pulumi-language-nodejs (Go): cached"
else
    if [ -z "$(source_of pulumi-language-nodejs)" ] || [ "${MPI_HOSTS_ENGINE_RETRY_GO:-}" = 1 ]; then
        find_go
        log "trying the Go language host module $LANG_MOD..."
        lang_built=""
        if commit="$(release_commit)" && [ -n "$commit" ] &&
            lang_info="$(cd "$ENGINE_DIR/src" && "$GO_BIN" list -m -json "$LANG_MOD@$commit" 2>&1)"; then
            lang_version="$(printf '%s\n' "$lang_info" | json_field Version)"
            log "building $LANG_MOD@$lang_version (commit $commit)..."
            if build_go_main language-nodejs "$LANG_MOD" "$lang_version" "$LANG_MOD" \
                "-s -w -X $VERSION_VAR=v$PULUMI_VERSION" "$BIN/pulumi-language-nodejs" \
                "$SDK_MOD v$PULUMI_VERSION" "$PKG_MOD v$PULUMI_VERSION"; then
                set_source pulumi-language-nodejs go
                lang_built=1
                log "pulumi-language-nodejs built from $LANG_MOD@$lang_version"
            fi
        else
            log "the module proxy does not serve $LANG_MOD at ${commit:-the release commit}: $(printf '%s' "${lang_info:-}" | tr '\n' ' ' | cut -c1-400)"
        fi
        if [ -z "$lang_built" ]; then
            log "using the Node.js stand-in language host (standins/language-host) instead"
            set_source pulumi-language-nodejs node
        fi
    fi
    if [ "$(source_of pulumi-language-nodejs)" = node ]; then
        install_language_host
        log "pulumi-language-nodejs (Node.js stand-in): ready"
    fi
fi

# ---------------------------------------------------------------------------------------------
# 2c. The dynamic-provider launcher (a shell script in the official distribution too).
# ---------------------------------------------------------------------------------------------
install_text "$BIN/pulumi-resource-pulumi-nodejs" <<'SH'
#!/bin/sh
# Runs the Node.js dynamic-provider host of the program's own @pulumi/pulumi (the working
# directory is the program's), for pulumi.dynamic.Resource.
script=$(node -e "console.log(require.resolve('@pulumi/pulumi/cmd/dynamic-provider'))") || script=""
if [ -z "$script" ]; then
    echo "pulumi-resource-pulumi-nodejs: @pulumi/pulumi is not installed in $(pwd)" >&2
    exit 1
fi
exec node "$script" "$@"
SH

# ---------------------------------------------------------------------------------------------
# 2d. The command plugin, installed into the plugin cache.
# ---------------------------------------------------------------------------------------------
CMD_PLUGIN="$ENGINE_DIR/plugins/pulumi-resource-command-v$COMMAND_VERSION"
mkdir -p "$ENGINE_DIR/plugins"
if [ "$(source_of command)" = go ] && [ -x "$CMD_PLUGIN" ]; then
    :
else
    if [ -z "$(source_of command)" ] || [ "${MPI_HOSTS_ENGINE_RETRY_GO:-}" = 1 ]; then
        find_go
        log "trying the Go provider module $CMD_MOD@v$COMMAND_VERSION..."
        if build_go_main command "$CMD_MOD" "v$COMMAND_VERSION" "$CMD_MOD/cmd/pulumi-resource-command" \
            "-s -w -X $CMD_VERSION_VAR=$COMMAND_VERSION" "$CMD_PLUGIN"; then
            set_source command go
            log "pulumi-resource-command built from $CMD_MOD@v$COMMAND_VERSION"
        else
            log "using the Node.js stand-in for the command $COMMAND_VERSION provider (standins/command-provider) instead"
            set_source command node
        fi
    fi
    if [ "$(source_of command)" = node ]; then
        install_command_standin "$CMD_PLUGIN"
    fi
fi

installed="$PLUGIN_HOME/plugins/resource-command-v$COMMAND_VERSION/pulumi-resource-command"
if [ -x "$installed" ] && cmp -s "$installed" "$CMD_PLUGIN"; then
    log "command $COMMAND_VERSION plugin: installed in $PLUGIN_HOME/plugins"
elif [ -x "$installed" ] && [ "$(head -c 2 "$installed")" != "#!" ]; then
    log "command $COMMAND_VERSION plugin: a native build is already installed in $PLUGIN_HOME/plugins; kept"
else
    log "installing the command $COMMAND_VERSION plugin into $PLUGIN_HOME/plugins..."
    "$BIN/pulumi" plugin install resource command "$COMMAND_VERSION" --file "$CMD_PLUGIN" --reinstall >&2 ||
        die "pulumi plugin install resource command $COMMAND_VERSION --file $CMD_PLUGIN failed"
fi

# ---------------------------------------------------------------------------------------------
# 3. Check and report.
# ---------------------------------------------------------------------------------------------
[ "$("$BIN/pulumi" version)" = "v$PULUMI_VERSION" ] || die "$BIN/pulumi does not report v$PULUMI_VERSION"
for f in pulumi-language-nodejs pulumi-resource-pulumi-nodejs; do
    [ -x "$BIN/$f" ] || die "$BIN/$f is missing"
done
log "ready: pulumi v$PULUMI_VERSION, language host ($(source_of pulumi-language-nodejs)), command $COMMAND_VERSION ($(source_of command))"
printf '%s\n' "$BIN"
