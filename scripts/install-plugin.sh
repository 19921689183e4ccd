#!/usr/bin/env bash
# Installs pulumi-resource-mpi-hosts, the resource provider plugin of this checkout (Facet and ClusterKey,
# components/provider/plugin), into ${PULUMI_HOME:-~/.pulumi}/plugins with `pulumi plugin install --file`, so the
# engine starts it for every mpi-hosts stack (`pulumi up`, and refresh and destroy, which run no program).
#
# It is `mpi-hosts plugin install` (cli/plugin.ts) run from this checkout: the plugin is a small launcher that runs
# this checkout's TypeScript (ts-node, transpile only) from the absolute path written into it, with the node found
# here by absolute path: not code from the state, not from the working directory of the pulumi run. (Installed from
# the npm package, the same command installs a launcher of the package's compiled plugin.) One mpi-hosts serves a
# PULUMI_HOME: the last one to install its plugin (scripts/setup.sh runs this; a second run with nothing changed
# changes nothing). Give a checkout that must keep its own code side by side its own PULUMI_HOME.
#
# Usage: scripts/install-plugin.sh [PULUMI]   (default: pulumi from the engine cache, see scripts/engine-env.sh)
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
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
[ -f "$REPO_DIR/node_modules/ts-node/package.json" ] || die "ts-node is not installed in $REPO_DIR (npm ci)"

# node by its absolute path: the launcher runs the node that runs the installer (cli/plugin.ts checks its mode). The
# engine starts the launcher with the PATH of the pulumi run, where npm puts ./node_modules/.bin first.
NODE=$(command -v node) || die "node is not on PATH"
NODE=$(readlink -f "$NODE")

TS_NODE_TRANSPILE_ONLY=true TS_NODE_PROJECT="$REPO_DIR/tsconfig.json" \
    "$NODE" -r "$REPO_DIR/node_modules/ts-node/register" "$REPO_DIR/cli/main.ts" plugin install --pulumi "$PULUMI"
