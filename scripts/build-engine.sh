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
#      service, embedded below, that runs `node @pulumi/pulumi/cmd/run` like the official host.
#    - pulumi-resource-pulumi-nodejs: the launcher that runs the program's
#      @pulumi/pulumi/cmd/dynamic-provider (needed by pulumi.dynamic.Resource).
#    - the command 1.2.1 plugin: the Go provider github.com/pulumi/pulumi-command/provider when the
#      proxy serves it, else a Node.js stand-in (embedded below) that implements
#      command:local:Command, command:remote:Command (SSH through the program's ssh2 package) and
#      command:local:run; installed with `pulumi plugin install resource command 1.2.1 --file`
#      into ${PULUMI_HOME:-~/.pulumi}/plugins, so the engine never tries to download it.
#    A second run only checks the finished files (seconds). Progress goes to stderr.
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
# The Node.js stand-ins (used where the module proxy does not serve the Go modules).
# ---------------------------------------------------------------------------------------------
install_language_host() {
    install_text "$BIN/pulumi-language-nodejs" <<'JS'
#!/usr/bin/env node
// pulumi-language-nodejs: a small Node.js implementation of Pulumi's LanguageRuntime gRPC
// service, written for mpi-hosts because the Go language host module is not served by the
// module proxy this project can reach. It serves what `pulumi preview/up/refresh/destroy`
// need: Handshake, GetPluginInfo, GetRequiredPlugins/GetRequiredPackages, Run (which spawns
// `node @pulumi/pulumi/cmd/run`, like the official host), About, GetProgramDependencies,
// RuntimeOptionsPrompts and Cancel. Other methods answer UNIMPLEMENTED.
// grpc-js and the generated stubs are loaded from the program's own @pulumi/pulumi.
"use strict";
const childProcess = require("child_process");
const fs = require("fs");
const path = require("path");

const HOST_VERSION = process.env.PULUMI_LANGUAGE_NODEJS_HOST_VERSION || "3.248.0";

// The engine passes optional flags (--logtostderr, -v=N, --tracing URL) and then the engine address last.
const argv = process.argv.slice(2);
let engineAddress = "";
let tracing = "";
for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--tracing" || a === "-tracing") {
        tracing = argv[++i] || "";
    } else if (a.startsWith("--tracing=") || a.startsWith("-tracing=")) {
        tracing = a.slice(a.indexOf("=") + 1);
    } else if (a === "-root" || a === "--root") {
        i++;
    } else if (!a.startsWith("-")) {
        engineAddress = a;
    }
}

function resolveFrom(mod, dirs) {
    for (const d of dirs) {
        if (!d) {
            continue;
        }
        try {
            return require.resolve(mod, { paths: [d] });
        } catch (e) {
            // try the next directory
        }
    }
    return undefined;
}

const searchDirs = [process.cwd(), process.env.PULUMI_NODEJS_SDK_DIR];
const sdkPkg = resolveFrom("@pulumi/pulumi/package.json", searchDirs);
if (!sdkPkg) {
    process.stderr.write(
        "It looks like the Pulumi SDK has not been installed. Have you run npm install or yarn install?\n",
    );
    process.exit(1);
}
const sdkDir = path.dirname(sdkPkg);
const grpc = require(resolveFrom("@grpc/grpc-js", [sdkDir]));
const langproto = require(path.join(sdkDir, "proto", "language_pb.js"));
const langrpc = require(path.join(sdkDir, "proto", "language_grpc_pb.js"));
const plugproto = require(path.join(sdkDir, "proto", "plugin_pb.js"));

const running = new Set();

function programInfo(req) {
    const info = typeof req.getInfo === "function" ? req.getInfo() : undefined;
    const opts = info && info.getOptions() ? info.getOptions().toJavaScript() : {};
    return {
        rootDirectory: info ? info.getRootDirectory() : "",
        programDirectory: (info && info.getProgramDirectory()) || (req.getPwd ? req.getPwd() : "") || process.cwd(),
        entryPoint: (info && info.getEntryPoint()) || (req.getProgram ? req.getProgram() : "") || ".",
        options: opts || {},
    };
}

function parseOptions(opts) {
    const o = {
        typescript: true,
        nodeargs: "",
        tsconfig: "",
        packagemanager: "npm",
    };
    if (typeof opts.typescript === "boolean") {
        o.typescript = opts.typescript;
    }
    if (typeof opts.nodeargs === "string") {
        o.nodeargs = opts.nodeargs;
    }
    if (typeof opts.tsconfig === "string") {
        o.tsconfig = opts.tsconfig;
    }
    if (typeof opts.packagemanager === "string" && opts.packagemanager) {
        o.packagemanager = opts.packagemanager;
    }
    return o;
}

// Shell-like split of runtime option `nodeargs` (quotes, no expansion).
function splitArgs(s) {
    const out = [];
    let cur = "";
    let quote = "";
    let has = false;
    for (let i = 0; i < s.length; i++) {
        const c = s[i];
        if (quote) {
            if (c === quote) {
                quote = "";
            } else if (c === "\\" && quote === '"' && i + 1 < s.length) {
                cur += s[++i];
            } else {
                cur += c;
            }
        } else if (c === '"' || c === "'") {
            quote = c;
            has = true;
        } else if (/\s/.test(c)) {
            if (has) {
                out.push(cur);
            }
            cur = "";
            has = false;
        } else if (c === "\\" && i + 1 < s.length) {
            cur += s[++i];
            has = true;
        } else {
            cur += c;
            has = true;
        }
    }
    if (has) {
        out.push(cur);
    }
    return out;
}

// Finds every installed package whose package.json has { "pulumi": { "resource": true } }.
function findPluginPackages(programDir) {
    const found = new Map();
    const seen = new Set();
    function visitPackage(dir) {
        let real;
        try {
            real = fs.realpathSync(dir);
        } catch (e) {
            return;
        }
        if (seen.has(real)) {
            return;
        }
        seen.add(real);
        let pkg;
        try {
            pkg = JSON.parse(fs.readFileSync(path.join(real, "package.json"), "utf8"));
        } catch (e) {
            pkg = undefined;
        }
        if (pkg && pkg.pulumi && pkg.pulumi.resource) {
            let name = pkg.pulumi.name;
            if (!name && typeof pkg.name === "string" && pkg.name.startsWith("@pulumi/")) {
                name = pkg.name.slice("@pulumi/".length);
            }
            let version = pkg.pulumi.version || pkg.version || "";
            if (version && !version.startsWith("v")) {
                version = "v" + version;
            }
            if (name) {
                found.set(`${name}@${version}`, { name, version, server: pkg.pulumi.server || "" });
            }
        }
        visitNodeModules(path.join(real, "node_modules"));
    }
    function visitNodeModules(nm) {
        let entries;
        try {
            entries = fs.readdirSync(nm);
        } catch (e) {
            return;
        }
        for (const e of entries) {
            if (e.startsWith(".")) {
                continue;
            }
            const p = path.join(nm, e);
            if (e.startsWith("@")) {
                let scoped = [];
                try {
                    scoped = fs.readdirSync(p);
                } catch (err) {
                    scoped = [];
                }
                for (const s of scoped) {
                    visitPackage(path.join(p, s));
                }
            } else {
                visitPackage(p);
            }
        }
    }
    // The program's node_modules, and those of its parents (npm workspaces hoist packages up).
    let dir = path.resolve(programDir);
    for (;;) {
        visitNodeModules(path.join(dir, "node_modules"));
        const parent = path.dirname(dir);
        if (parent === dir) {
            break;
        }
        dir = parent;
    }
    return [...found.values()];
}

function transformConfig(req) {
    const config = {};
    const map = req.getConfigMap();
    if (map) {
        for (const [k, v] of map.entries()) {
            const parts = k.split(":");
            if (parts.length === 2) {
                config[`${parts[0]}:config:${parts[1]}`] = v;
            } else {
                config[k] = v;
            }
        }
    }
    return config;
}

function unimplemented(name) {
    return (call, callback) => {
        const err = new Error(`${name} is not implemented by this language host`);
        err.code = grpc.status.UNIMPLEMENTED;
        callback(err);
    };
}

const impl = {
    handshake(call, callback) {
        const addr = call.request.getEngineAddress();
        if (addr) {
            engineAddress = addr;
        }
        callback(null, new langproto.LanguageHandshakeResponse());
    },

    getPluginInfo(call, callback) {
        const resp = new plugproto.PluginInfo();
        resp.setVersion(HOST_VERSION);
        callback(null, resp);
    },

    getRequiredPlugins(call, callback) {
        try {
            const info = programInfo(call.request);
            const resp = new langproto.GetRequiredPluginsResponse();
            resp.setPluginsList(
                findPluginPackages(info.programDirectory).map((p) => {
                    const d = new plugproto.PluginDependency();
                    d.setName(p.name);
                    d.setKind("resource");
                    d.setVersion(p.version);
                    d.setServer(p.server);
                    return d;
                }),
            );
            callback(null, resp);
        } catch (e) {
            callback(e);
        }
    },

    getRequiredPackages(call, callback) {
        try {
            const info = programInfo(call.request);
            const resp = new langproto.GetRequiredPackagesResponse();
            resp.setPackagesList(
                findPluginPackages(info.programDirectory).map((p) => {
                    const d = new plugproto.PackageDependency();
                    d.setName(p.name);
                    d.setKind("resource");
                    d.setVersion(p.version);
                    d.setServer(p.server);
                    return d;
                }),
            );
            callback(null, resp);
        } catch (e) {
            callback(e);
        }
    },

    run(call, callback) {
        const req = call.request;
        const info = programInfo(req);
        const opts = parseOptions(info.options);
        const resp = new langproto.RunResponse();
        const runPath =
            process.env.PULUMI_LANGUAGE_NODEJS_RUN_PATH ||
            resolveFrom("@pulumi/pulumi/cmd/run", [info.programDirectory, process.cwd()]);
        if (!runPath) {
            resp.setError(
                "It looks like the Pulumi SDK has not been installed. Have you run npm install or yarn install?",
            );
            callback(null, resp);
            return;
        }
        const args = [...splitArgs(opts.nodeargs), runPath];
        const add = (k, v) => {
            if (v !== undefined && v !== null && `${v}` !== "") {
                args.push(`--${k}`, `${v}`);
            }
        };
        add("monitor", req.getMonitorAddress());
        add("engine", engineAddress);
        add("organization", req.getOrganization());
        add("project", req.getProject());
        add("root-directory", info.rootDirectory);
        add("stack", req.getStack());
        add("pwd", info.programDirectory);
        if (req.getDryrun()) {
            args.push("--dry-run");
        }
        add("parallel", req.getParallel());
        add("tracing", tracing);
        args.push(info.entryPoint);
        args.push(...req.getArgsList());

        const env = { ...process.env };
        env.PULUMI_CONFIG = JSON.stringify(transformConfig(req));
        env.PULUMI_CONFIG_SECRET_KEYS = JSON.stringify(req.getConfigsecretkeysList() || []);
        if (opts.typescript) {
            env.PULUMI_NODEJS_TYPESCRIPT = "true";
        }
        if (opts.tsconfig) {
            env.PULUMI_NODEJS_TSCONFIG_PATH = opts.tsconfig;
        }

        let child;
        try {
            child = childProcess.spawn(process.execPath, args, {
                cwd: info.programDirectory,
                env,
                stdio: ["ignore", "pipe", "pipe"],
            });
        } catch (e) {
            resp.setError(`Problem executing program (could not run language executor): ${e.message}`);
            callback(null, resp);
            return;
        }
        running.add(child);
        child.stdout.pipe(process.stdout, { end: false });
        child.stderr.pipe(process.stderr, { end: false });
        let answered = false;
        const answer = (fn) => {
            if (!answered) {
                answered = true;
                running.delete(child);
                fn();
            }
        };
        child.on("error", (e) => {
            answer(() => {
                resp.setError(`Problem executing program (could not run language executor): ${e.message}`);
                callback(null, resp);
            });
        });
        child.on("close", (code, signal) => {
            answer(() => {
                if (code === 0) {
                    // success
                } else if (code === 32) {
                    // The program already showed the user an actionable message.
                    resp.setBail(true);
                } else if (code === null) {
                    resp.setError(`Program exited unexpectedly: ${signal}`);
                } else {
                    resp.setError(`Program exited with non-zero exit code: ${code}`);
                }
                callback(null, resp);
            });
        });
    },

    about(call, callback) {
        const resp = new langproto.AboutResponse();
        resp.setExecutable(process.execPath);
        resp.setVersion(process.version);
        resp.getMetadataMap().set("packagemanager", "npm");
        callback(null, resp);
    },

    getProgramDependencies(call, callback) {
        try {
            const info = programInfo(call.request);
            const resp = new langproto.GetProgramDependenciesResponse();
            let pkg = {};
            try {
                pkg = JSON.parse(fs.readFileSync(path.join(info.programDirectory, "package.json"), "utf8"));
            } catch (e) {
                pkg = {};
            }
            const names = Object.keys({ ...(pkg.dependencies || {}), ...(pkg.devDependencies || {}) });
            const deps = [];
            for (const n of names) {
                const pj = resolveFrom(`${n}/package.json`, [info.programDirectory]);
                let version = "";
                if (pj) {
                    try {
                        version = JSON.parse(fs.readFileSync(pj, "utf8")).version || "";
                    } catch (e) {
                        version = "";
                    }
                }
                const d = new langproto.DependencyInfo();
                d.setName(n);
                d.setVersion(version);
                deps.push(d);
            }
            resp.setDependenciesList(deps);
            callback(null, resp);
        } catch (e) {
            callback(e);
        }
    },

    runtimeOptionsPrompts(call, callback) {
        callback(null, new langproto.RuntimeOptionsResponse());
    },

    template(call, callback) {
        callback(null, new langproto.TemplateResponse());
    },

    cancel(call, callback) {
        for (const c of running) {
            c.kill("SIGINT");
        }
        callback(null, new (require(resolveFrom("google-protobuf/google/protobuf/empty_pb.js", [sdkDir])).Empty)());
    },

    installDependencies: unimplemented("InstallDependencies"),
    runPlugin: unimplemented("RunPlugin"),
    generateProgram: unimplemented("GenerateProgram"),
    generateProject: unimplemented("GenerateProject"),
    generatePackage: unimplemented("GeneratePackage"),
    pack: unimplemented("Pack"),
    link: unimplemented("Link"),
};

const server = new grpc.Server({
    "grpc.max_receive_message_length": 400 * 1024 * 1024,
    "grpc.max_send_message_length": 400 * 1024 * 1024,
});
server.addService(langrpc.LanguageRuntimeService, impl);
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) {
        process.stderr.write(`could not start language host RPC server: ${err.message}\n`);
        process.exit(1);
    }
    process.stdout.write(`${port}\n`);
});

// The engine stops plugins by sending SIGINT to their process group, then kills them after 5 s.
const shutdown = () => {
    for (const c of running) {
        c.kill("SIGINT");
    }
    server.forceShutdown();
    process.exit(0);
};
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
JS
}

install_command_standin() {
    install_text "$1" <<'JS'
#!/usr/bin/env node
// pulumi-resource-command (mpi-hosts stand-in, speaks for @pulumi/command 1.2.1)
//
// The Go provider github.com/pulumi/pulumi-command/provider is not served by the module proxy that
// this project can reach, so this small Node.js implementation of Pulumi's ResourceProvider gRPC
// service stands in for it. It implements the resources the 1.2.1 SDK sends and mpi-hosts uses:
//   command:local:Command   create/update/delete, dir, environment, interpreter, stdin, triggers,
//                            logging, addPreviousOutputInEnv (assetPaths/archivePaths: not supported)
//   command:remote:Command  the same over SSH (ssh2 from the program's node_modules): host, port,
//                            user, password, privateKey(+Password), agentSocketPath/SSH_AUTH_SOCK,
//                            hostKey (authorized_keys format, checked exactly), dialErrorLimit,
//                            perDialTimeout (proxy: not supported)
//   command:local:run       invoke
// Semantics follow the 1.x provider: a change of `triggers` replaces, any other input change
// updates (runs `update`, else `create`); `delete` runs on delete; PULUMI_COMMAND_STDOUT/STDERR
// carry the previous outputs into update/delete unless addPreviousOutputInEnv is false; Read keeps
// the recorded state (commands cannot detect drift).
"use strict";
const childProcess = require("child_process");
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const VERSION = "1.2.1";
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VAL = "1b47061264138c4ac30d75fd1eb44270";

function resolveFrom(mod, dirs) {
    for (const d of dirs) {
        if (!d) {
            continue;
        }
        try {
            return require.resolve(mod, { paths: [d] });
        } catch (e) {
            // next
        }
    }
    return undefined;
}

const searchDirs = [process.cwd(), process.env.PULUMI_NODEJS_SDK_DIR];
const sdkPkg = resolveFrom("@pulumi/pulumi/package.json", searchDirs);
if (!sdkPkg) {
    process.stderr.write("pulumi-resource-command: @pulumi/pulumi is not installed in " + process.cwd() + "\n");
    process.exit(1);
}
const sdkDir = path.dirname(sdkPkg);
const grpc = require(resolveFrom("@grpc/grpc-js", [sdkDir]));
const structproto = require(resolveFrom("google-protobuf/google/protobuf/struct_pb.js", [sdkDir]));
const emptyproto = require(resolveFrom("google-protobuf/google/protobuf/empty_pb.js", [sdkDir]));
const provproto = require(path.join(sdkDir, "proto", "provider_pb.js"));
const provrpc = require(path.join(sdkDir, "proto", "provider_grpc_pb.js"));
const plugproto = require(path.join(sdkDir, "proto", "plugin_pb.js"));
const engineproto = require(path.join(sdkDir, "proto", "engine_pb.js"));
const enginerpc = require(path.join(sdkDir, "proto", "engine_grpc_pb.js"));

let engineAddress = "";
for (const a of process.argv.slice(2)) {
    if (!a.startsWith("-")) {
        engineAddress = a;
    }
}
let engineClient;
function engine() {
    if (!engineClient && engineAddress) {
        engineClient = new enginerpc.EngineClient(engineAddress, grpc.credentials.createInsecure());
    }
    return engineClient;
}
function log(urn, message, severity) {
    const client = engine();
    if (!client || !message) {
        return Promise.resolve();
    }
    const req = new engineproto.LogRequest();
    req.setSeverity(severity === undefined ? engineproto.LogSeverity.INFO : severity);
    req.setMessage(message);
    req.setUrn(urn || "");
    req.setStreamid(0);
    req.setEphemeral(false);
    return new Promise((resolve) => client.log(req, () => resolve()));
}

// ---- values: secrets and unknowns ----
function isSecret(v) {
    return v !== null && typeof v === "object" && !Array.isArray(v) && v[SECRET_SIG] === SECRET_VAL;
}
function containsSecret(v) {
    if (isSecret(v)) {
        return true;
    }
    if (Array.isArray(v)) {
        return v.some(containsSecret);
    }
    if (v !== null && typeof v === "object") {
        return Object.values(v).some(containsSecret);
    }
    return false;
}
function containsUnknown(v) {
    if (v === UNKNOWN) {
        return true;
    }
    if (Array.isArray(v)) {
        return v.some(containsUnknown);
    }
    if (v !== null && typeof v === "object") {
        return Object.values(v).some(containsUnknown);
    }
    return false;
}
function plain(v) {
    if (isSecret(v)) {
        return plain(v.value);
    }
    if (Array.isArray(v)) {
        return v.map(plain);
    }
    if (v !== null && typeof v === "object") {
        const o = {};
        for (const [k, x] of Object.entries(v)) {
            o[k] = plain(x);
        }
        return o;
    }
    return v;
}
function secret(v) {
    return { [SECRET_SIG]: SECRET_VAL, value: v };
}
function canonical(v) {
    // Deterministic JSON for comparisons: null/undefined fields dropped, keys sorted.
    const norm = (x) => {
        if (Array.isArray(x)) {
            return x.map(norm);
        }
        if (x !== null && typeof x === "object") {
            const o = {};
            for (const k of Object.keys(x).sort()) {
                if (x[k] !== null && x[k] !== undefined) {
                    o[k] = norm(x[k]);
                }
            }
            return o;
        }
        return x;
    };
    return JSON.stringify(norm(plain(v)) ?? null);
}
function toJS(s) {
    return s ? s.toJavaScript() : {};
}
function toStruct(o) {
    return structproto.Struct.fromJavaScript(JSON.parse(JSON.stringify(o)));
}

// ---- resource types ----
const TYPES = {
    "command:local:Command": {
        inputs: [
            "create",
            "update",
            "delete",
            "dir",
            "environment",
            "interpreter",
            "stdin",
            "triggers",
            "assetPaths",
            "archivePaths",
            "logging",
            "addPreviousOutputInEnv",
        ],
        commandInputs: ["create", "update", "delete", "environment", "stdin", "interpreter", "dir"],
    },
    "command:remote:Command": {
        inputs: [
            "connection",
            "create",
            "update",
            "delete",
            "environment",
            "stdin",
            "triggers",
            "logging",
            "addPreviousOutputInEnv",
        ],
        commandInputs: ["create", "update", "delete", "environment", "stdin", "connection"],
    },
};
function typeOf(urn) {
    // urn:pulumi:stack::project::[parent$]type::name
    const parts = urn.split("::");
    const types = parts[2] || "";
    const t = types.split("$").pop();
    return { type: t, name: parts.slice(3).join("::") };
}
function typeInfo(urn) {
    const { type } = typeOf(urn);
    const info = TYPES[type];
    if (!info) {
        throw new Error(`pulumi-resource-command (mpi-hosts stand-in) does not implement ${type}`);
    }
    return { type, info };
}

// ---- running commands ----
const running = new Set();

function makeLogger(urn, logging) {
    const mode = logging || "stdoutAndStderr";
    const buffers = { stdout: "", stderr: "" };
    const wants = (stream) =>
        mode === "stdoutAndStderr" || (mode === "stdout" && stream === "stdout") || (mode === "stderr" && stream === "stderr");
    const pending = [];
    return {
        write(stream, chunk) {
            if (!wants(stream)) {
                return;
            }
            buffers[stream] += chunk;
            let i;
            while ((i = buffers[stream].indexOf("\n")) >= 0) {
                pending.push(log(urn, buffers[stream].slice(0, i)));
                buffers[stream] = buffers[stream].slice(i + 1);
            }
        },
        async flush() {
            for (const s of ["stdout", "stderr"]) {
                if (buffers[s]) {
                    pending.push(log(urn, buffers[s]));
                    buffers[s] = "";
                }
            }
            await Promise.all(pending);
        },
    };
}

function commandEnv(props, previous) {
    const env = {};
    for (const [k, v] of Object.entries(plain(props.environment) || {})) {
        env[k] = `${v}`;
    }
    if (previous && props.addPreviousOutputInEnv !== false) {
        if (previous.stdout) {
            env.PULUMI_COMMAND_STDOUT = plain(previous.stdout);
        }
        if (previous.stderr) {
            env.PULUMI_COMMAND_STDERR = plain(previous.stderr);
        }
    }
    return env;
}

function finish(cmd, code, signal, out, err, all) {
    if (code === 0) {
        return { stdout: out.replace(/\n$/, ""), stderr: err.replace(/\n$/, "") };
    }
    const status = code === null ? `signal: ${signal}` : `exit status ${code}`;
    throw new Error(`${status}: running ${JSON.stringify(cmd)}:\n${all}`);
}

function runLocal(urn, props, cmd, previous) {
    const p = plain(props);
    if ((p.assetPaths && p.assetPaths.length) || (p.archivePaths && p.archivePaths.length)) {
        return Promise.reject(new Error("assetPaths/archivePaths are not supported by the mpi-hosts command stand-in"));
    }
    const interpreter = p.interpreter && p.interpreter.length ? p.interpreter : ["/bin/sh", "-c"];
    const logger = makeLogger(urn, p.logging);
    return new Promise((resolve, reject) => {
        const child = childProcess.spawn(interpreter[0], [...interpreter.slice(1), cmd], {
            cwd: p.dir || process.cwd(),
            env: { ...process.env, ...commandEnv(props, previous) },
            stdio: ["pipe", "pipe", "pipe"],
        });
        running.add(child);
        let out = "";
        let err = "";
        let all = "";
        child.stdout.setEncoding("utf8");
        child.stderr.setEncoding("utf8");
        child.stdout.on("data", (d) => {
            out += d;
            all += d;
            logger.write("stdout", d);
        });
        child.stderr.on("data", (d) => {
            err += d;
            all += d;
            logger.write("stderr", d);
        });
        child.on("error", (e) => {
            running.delete(child);
            reject(e);
        });
        child.on("close", async (code, signal) => {
            running.delete(child);
            await logger.flush();
            try {
                resolve(finish(cmd, code, signal, out, err, all));
            } catch (e) {
                reject(e);
            }
        });
        child.stdin.on("error", () => {
            // the command may exit without reading stdin
        });
        if (p.stdin) {
            child.stdin.end(p.stdin);
        } else {
            child.stdin.end();
        }
    });
}

function parseHostKey(s) {
    const fields = `${s}`.trim().split(/\s+/);
    // authorized_keys / known_hosts style: [markers/host] type base64 [comment]
    for (let i = 0; i < fields.length; i++) {
        if (/^(ssh-|ecdsa-|sk-)/.test(fields[i]) && fields[i + 1]) {
            return Buffer.from(fields[i + 1], "base64");
        }
    }
    return Buffer.from(fields[0], "base64");
}

function connectSSH(conn) {
    const ssh2path = resolveFrom("ssh2", [process.cwd(), process.env.PULUMI_NODEJS_SDK_DIR]);
    if (!ssh2path) {
        throw new Error("command:remote:Command needs the ssh2 package in the program's node_modules");
    }
    const { Client } = require(ssh2path);
    if (conn.proxy) {
        throw new Error("connection.proxy is not supported by the mpi-hosts command stand-in");
    }
    const limit = conn.dialErrorLimit === undefined || conn.dialErrorLimit === null ? 10 : conn.dialErrorLimit;
    const perDial = conn.perDialTimeout === undefined || conn.perDialTimeout === null ? 15 : conn.perDialTimeout;
    const expected = conn.hostKey ? parseHostKey(conn.hostKey) : undefined;
    const agent = conn.agentSocketPath || process.env.SSH_AUTH_SOCK || undefined;
    const options = {
        host: conn.host,
        port: conn.port || 22,
        username: conn.user || "root",
        readyTimeout: perDial > 0 ? perDial * 1000 : 24 * 3600 * 1000,
        tryKeyboard: !!conn.password,
    };
    if (conn.privateKey) {
        options.privateKey = conn.privateKey;
        if (conn.privateKeyPassword) {
            options.passphrase = conn.privateKeyPassword;
        }
    }
    if (conn.password) {
        options.password = conn.password;
    }
    if (agent) {
        options.agent = agent;
    }
    let hostKeyMismatch = false;
    if (expected) {
        options.hostVerifier = (key) => {
            const ok = Buffer.isBuffer(key) && key.equals(expected);
            hostKeyMismatch = !ok;
            return ok;
        };
    }
    return new Promise((resolve, reject) => {
        let dials = 0;
        const attempt = () => {
            dials++;
            const client = new Client();
            client.on("keyboard-interactive", (_n, _i, _l, prompts, finishPrompts) => {
                finishPrompts(prompts.map(() => conn.password || ""));
            });
            client.once("ready", () => resolve(client));
            client.once("error", (e) => {
                client.end();
                if (hostKeyMismatch) {
                    reject(new Error(`ssh: handshake failed: host key mismatch for ${conn.host}`));
                } else if (e.level === "client-authentication") {
                    reject(new Error(`ssh: handshake failed: ${e.message}`));
                } else if (limit >= 0 && dials > limit) {
                    reject(e);
                } else {
                    setTimeout(attempt, Math.min(5000, 500 * dials));
                }
            });
            client.connect(options);
        };
        attempt();
    });
}

async function runRemote(urn, props, cmd, previous) {
    const p = plain(props);
    const logger = makeLogger(urn, p.logging);
    const client = await connectSSH(p.connection || {});
    try {
        return await new Promise((resolve, reject) => {
            client.exec(cmd, { env: commandEnv(props, previous) }, (e, stream) => {
                if (e) {
                    reject(e);
                    return;
                }
                let out = "";
                let err = "";
                let all = "";
                let code = null;
                let signal = null;
                stream.setEncoding("utf8");
                stream.stderr.setEncoding("utf8");
                stream.on("data", (d) => {
                    out += d;
                    all += d;
                    logger.write("stdout", d);
                });
                stream.stderr.on("data", (d) => {
                    err += d;
                    all += d;
                    logger.write("stderr", d);
                });
                stream.on("exit", (c, s) => {
                    code = c;
                    signal = s;
                });
                stream.on("close", async () => {
                    await logger.flush();
                    try {
                        resolve(finish(cmd, code === null && !signal ? 0 : code, signal, out, err, all));
                    } catch (x) {
                        reject(x);
                    }
                });
                if (p.stdin) {
                    stream.end(p.stdin);
                } else {
                    stream.end();
                }
            });
        });
    } finally {
        client.end();
    }
}

function run(type, urn, props, cmd, previous) {
    return type === "command:remote:Command" ? runRemote(urn, props, cmd, previous) : runLocal(urn, props, cmd, previous);
}

function outputs(info, inputs, result) {
    const outs = {};
    for (const k of info.inputs) {
        if (inputs[k] !== undefined && inputs[k] !== null) {
            outs[k] = inputs[k];
        }
    }
    const sensitive = info.commandInputs.some((k) => k !== "connection" && containsSecret(inputs[k]));
    outs.stdout = sensitive ? secret(result.stdout) : result.stdout;
    outs.stderr = sensitive ? secret(result.stderr) : result.stderr;
    return outs;
}

function grpcError(e) {
    const err = new Error(e && e.message ? e.message : `${e}`);
    err.code = grpc.status.UNKNOWN;
    err.details = err.message;
    return err;
}

function handle(fn) {
    return (call, callback) => {
        Promise.resolve()
            .then(() => fn(call.request))
            .then(
                (r) => callback(null, r),
                (e) => callback(grpcError(e)),
            );
    };
}

const impl = {
    getPluginInfo: handle(() => {
        const r = new plugproto.PluginInfo();
        r.setVersion(VERSION);
        return r;
    }),
    getSchema: handle(() => {
        const r = new provproto.GetSchemaResponse();
        r.setSchema(JSON.stringify({ name: "command", version: VERSION }));
        return r;
    }),
    checkConfig: handle((req) => {
        const r = new provproto.CheckResponse();
        r.setInputs(req.getNews());
        return r;
    }),
    diffConfig: handle(() => {
        const r = new provproto.DiffResponse();
        r.setChanges(provproto.DiffResponse.DiffChanges.DIFF_NONE);
        return r;
    }),
    configure: handle(() => {
        const r = new provproto.ConfigureResponse();
        r.setAcceptsecrets(true);
        r.setAcceptresources(false);
        r.setSupportspreview(false);
        r.setAcceptoutputs(false);
        return r;
    }),
    check: handle((req) => {
        const { type } = typeInfo(req.getUrn());
        const news = toJS(req.getNews());
        const r = new provproto.CheckResponse();
        const failures = [];
        if (type === "command:remote:Command") {
            const c = news.connection;
            if (c === undefined || c === null) {
                failures.push(["connection", "missing required property 'connection'"]);
            } else if (!containsUnknown(c) && !plain(c).host) {
                failures.push(["connection.host", "missing required property 'connection.host'"]);
            }
        }
        r.setInputs(toStruct(news));
        r.setFailuresList(
            failures.map(([p, why]) => {
                const f = new provproto.CheckFailure();
                f.setProperty(p);
                f.setReason(why);
                return f;
            }),
        );
        return r;
    }),
    diff: handle((req) => {
        const { info } = typeInfo(req.getUrn());
        const olds = toJS(req.getOldInputs ? req.getOldInputs() : undefined);
        const oldState = toJS(req.getOlds());
        const base = Object.keys(olds).length ? olds : oldState;
        const news = toJS(req.getNews());
        const changed = info.inputs.filter((k) => canonical(base[k]) !== canonical(news[k]));
        const replaces = changed.filter((k) => k === "triggers");
        const r = new provproto.DiffResponse();
        r.setChanges(changed.length ? provproto.DiffResponse.DiffChanges.DIFF_SOME : provproto.DiffResponse.DiffChanges.DIFF_NONE);
        r.setDiffsList(changed);
        r.setReplacesList(replaces);
        r.setHasdetaileddiff(true);
        const detailed = r.getDetaileddiffMap();
        for (const k of changed) {
            const d = new provproto.PropertyDiff();
            const had = base[k] !== undefined && base[k] !== null;
            const has = news[k] !== undefined && news[k] !== null;
            const K = provproto.PropertyDiff.Kind;
            let kind = had && has ? K.UPDATE : has ? K.ADD : K.DELETE;
            if (k === "triggers") {
                kind = had && has ? K.UPDATE_REPLACE : has ? K.ADD_REPLACE : K.DELETE_REPLACE;
            }
            d.setKind(kind);
            d.setInputdiff(true);
            detailed.set(k, d);
        }
        return r;
    }),
    create: handle(async (req) => {
        const urn = req.getUrn();
        const { type, info } = typeInfo(urn);
        const inputs = toJS(req.getProperties());
        const id = `${typeOf(urn).name}${crypto.randomBytes(4).toString("hex")}`;
        let result = { stdout: "", stderr: "" };
        const cmd = plain(inputs.create);
        if (!req.getPreview() && cmd) {
            result = await run(type, urn, inputs, cmd, undefined);
        }
        const r = new provproto.CreateResponse();
        r.setId(id);
        r.setProperties(toStruct(outputs(info, inputs, result)));
        return r;
    }),
    read: handle((req) => {
        const r = new provproto.ReadResponse();
        r.setId(req.getId());
        r.setProperties(req.getProperties());
        if (req.getInputs()) {
            r.setInputs(req.getInputs());
        }
        return r;
    }),
    update: handle(async (req) => {
        const urn = req.getUrn();
        const { type, info } = typeInfo(urn);
        const olds = toJS(req.getOlds());
        const news = toJS(req.getNews());
        let result = { stdout: olds.stdout ?? "", stderr: olds.stderr ?? "" };
        const cmd = plain(news.update) || plain(news.create);
        if (!req.getPreview() && cmd) {
            result = await run(type, urn, news, cmd, { stdout: olds.stdout, stderr: olds.stderr });
        } else {
            result = { stdout: plain(result.stdout), stderr: plain(result.stderr) };
        }
        const r = new provproto.UpdateResponse();
        r.setProperties(toStruct(outputs(info, news, result)));
        return r;
    }),
    delete: handle(async (req) => {
        const urn = req.getUrn();
        const { type } = typeInfo(urn);
        const props = toJS(req.getProperties());
        const cmd = plain(props.delete);
        if (cmd) {
            await run(type, urn, props, cmd, { stdout: props.stdout, stderr: props.stderr });
        }
        return new emptyproto.Empty();
    }),
    invoke: handle(async (req) => {
        const tok = req.getTok();
        if (tok !== "command:local:run") {
            throw new Error(`pulumi-resource-command (mpi-hosts stand-in) does not implement ${tok}`);
        }
        const args = toJS(req.getArgs());
        const result = await runLocal("", args, plain(args.command), undefined);
        const r = new provproto.InvokeResponse();
        r.setReturn(toStruct({ ...args, stdout: result.stdout, stderr: result.stderr }));
        return r;
    }),
    cancel: handle(() => {
        for (const c of running) {
            c.kill("SIGTERM");
        }
        return new emptyproto.Empty();
    }),
};

const server = new grpc.Server({
    "grpc.max_receive_message_length": 400 * 1024 * 1024,
    "grpc.max_send_message_length": 400 * 1024 * 1024,
});
server.addService(provrpc.ResourceProviderService, impl);
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) {
        process.stderr.write(`could not start provider RPC server: ${err.message}\n`);
        process.exit(1);
    }
    process.stdout.write(`${port}\n`);
});
// The engine stops plugins by sending SIGINT to their process group, then kills them after 5 s.
const shutdown = () => {
    for (const c of running) {
        c.kill("SIGTERM");
    }
    server.forceShutdown();
    process.exit(0);
};
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
JS
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
            log "using the embedded Node.js language host instead"
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
            log "using the embedded Node.js stand-in for the command $COMMAND_VERSION provider instead"
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
