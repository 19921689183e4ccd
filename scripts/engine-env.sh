# shellcheck shell=bash
# Source this file (`. scripts/engine-env.sh`) to use the Pulumi engine that scripts/build-engine.sh
# left in the cache, offline. It builds nothing; it only points PATH at the cache and sets:
#   PULUMI_SKIP_UPDATE_CHECK=true                    no "is there a newer pulumi?" call to pulumi.com
#   PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true a missing plugin fails at once instead of the
#                                                    engine retrying downloads from GitHub/get.pulumi.com
#   PULUMI_IGNORE_AMBIENT_PLUGINS=true               plugins only from the plugin cache and next to pulumi, never a
#                                                    pulumi-resource-* found on PATH (npm puts ./node_modules/.bin
#                                                    first: the working directory would choose the provider's code)
#   PULUMI_NODEJS_TRANSPILE_ONLY=true                the program runs without type checking (~3 s CPU less per
#                                                    command); npm run typecheck and CI type-check it
#   PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true    the Automation API does not insist on a minimum
#                                                    CLI version (ours matches the SDK anyway)
# What it leaves to the caller: the backend (`pulumi login file://DIR` or PULUMI_BACKEND_URL=file://DIR)
# and PULUMI_CONFIG_PASSPHRASE (or _FILE) for local stacks. The command plugin lives in
# ${PULUMI_HOME:-~/.pulumi}/plugins: if PULUMI_HOME changes, run scripts/build-engine.sh again.

_mpi_hosts_engine_bin="${MPI_HOSTS_CACHE:-/var/cache/mpi-hosts}/engine/v${MPI_HOSTS_PULUMI_VERSION:-3.248.0}/bin"
if [ -x "$_mpi_hosts_engine_bin/pulumi" ] && [ -x "$_mpi_hosts_engine_bin/pulumi-language-nodejs" ]; then
    case ":$PATH:" in
    *":$_mpi_hosts_engine_bin:"*) ;;
    *) export PATH="$_mpi_hosts_engine_bin:$PATH" ;;
    esac
    export PULUMI_SKIP_UPDATE_CHECK=true
    export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
    export PULUMI_IGNORE_AMBIENT_PLUGINS=true
    export PULUMI_NODEJS_TRANSPILE_ONLY="${PULUMI_NODEJS_TRANSPILE_ONLY:-true}"
    export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true
    unset _mpi_hosts_engine_bin
else
    echo "engine-env: no Pulumi engine in $_mpi_hosts_engine_bin; run scripts/build-engine.sh first" >&2
    unset _mpi_hosts_engine_bin
    # When sourced, fail the `source`; when run as a script, exit.
    # shellcheck disable=SC2317
    return 1 2>/dev/null || exit 1
fi
