#!/usr/bin/env bash
# Installs pulumi-resource-mpi-hosts, the resource provider plugin of this checkout (Facet and ClusterKey,
# components/provider/plugin), into ${PULUMI_HOME:-~/.pulumi}/plugins with `pulumi plugin install --file`, so the
# engine starts it for every mpi-hosts stack (`pulumi up`, and refresh and destroy, which run no program).
#
# The plugin is a small launcher that runs this checkout's TypeScript (ts-node, transpile only) from the absolute
# path written into it here: not from the state, not from the working directory of the pulumi run. One checkout
# serves a PULUMI_HOME: the last one to run this script (scripts/setup.sh runs it; a second run with nothing
# changed takes a second). A second checkout (a CI clone) runs setup, and the plugin is then its code; give a
# checkout that must keep its own code side by side its own PULUMI_HOME.
#
# Usage: scripts/install-plugin.sh [PULUMI]   (default: pulumi from the engine cache, see scripts/engine-env.sh)
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PLUGIN_HOME="${PULUMI_HOME:-$HOME/.pulumi}"
log() { printf 'plugin: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

PULUMI="${1:-}"
if [ -z "$PULUMI" ]; then
    # shellcheck source=scripts/engine-env.sh disable=SC1091
    . "$REPO_DIR/scripts/engine-env.sh"
    PULUMI=$(command -v pulumi) || die "no pulumi on PATH: run scripts/build-engine.sh first"
fi
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

# One source of truth for the version: the one the program registers its resources with.
VERSION=$(sed -n 's/^export const PROVIDER_VERSION = "\(.*\)";$/\1/p' "$REPO_DIR/components/provider/resourceTypes.ts")
[ -n "$VERSION" ] || die "no PROVIDER_VERSION in $REPO_DIR/components/provider/resourceTypes.ts"
SERVER="$REPO_DIR/components/provider/plugin/server.ts"
[ -f "$SERVER" ] || die "$SERVER is missing"
[ -f "$REPO_DIR/node_modules/ts-node/package.json" ] || die "ts-node is not installed in $REPO_DIR (npm ci)"

case "$REPO_DIR" in
*\'*) die "the checkout's path $REPO_DIR contains a single quote" ;;
esac

# node by its absolute path, fixed here: the engine starts the launcher with the PATH of the pulumi run, where npm puts
# ./node_modules/.bin first and an activated conda environment its bin.
NODE=$(command -v node) || die "node is not on PATH"
NODE=$(readlink -f "$NODE")
case "$NODE" in
/*) ;;
*) die "node resolves to $NODE, not an absolute path" ;;
esac
case "$NODE" in
*\'*) die "node's path $NODE contains a single quote" ;;
esac
if [ -n "$(find "$NODE" -maxdepth 0 -perm /022)" ]; then
    die "$NODE is writable by its group or others: whoever can write it would run as every pulumi user; fix its mode first"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
launcher="$work/pulumi-resource-mpi-hosts"
cat >"$launcher" <<SH
#!/bin/sh
# pulumi-resource-mpi-hosts $VERSION: the mpi-hosts resource provider (Facet, ClusterKey) of the checkout below,
# installed by its scripts/install-plugin.sh. It runs that checkout's code, and nothing else.
checkout='$REPO_DIR'
if [ ! -f "\$checkout/components/provider/plugin/server.ts" ]; then
    echo "pulumi-resource-mpi-hosts: the mpi-hosts checkout \$checkout is gone; run scripts/setup.sh (or scripts/install-plugin.sh) in yours" >&2
    exit 1
fi
export TS_NODE_PROJECT="\$checkout/tsconfig.json" TS_NODE_TRANSPILE_ONLY=true
exec '$NODE' -r "\$checkout/node_modules/ts-node/register" "\$checkout/components/provider/plugin/server.ts" "\$@"
SH
chmod 755 "$launcher"

installed="$PLUGIN_HOME/plugins/resource-mpi-hosts-v$VERSION/pulumi-resource-mpi-hosts"
if [ -x "$installed" ] && cmp -s "$installed" "$launcher"; then
    log "mpi-hosts $VERSION plugin: installed in $PLUGIN_HOME/plugins (runs $REPO_DIR)"
else
    log "installing the mpi-hosts $VERSION plugin (runs $REPO_DIR) into $PLUGIN_HOME/plugins..."
    "$PULUMI" plugin install resource mpi-hosts "$VERSION" --file "$launcher" --reinstall >&2 ||
        die "pulumi plugin install resource mpi-hosts $VERSION --file $launcher failed"
fi
