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
    } catch {
      // try the next directory
    }
  }
  return undefined;
}

const searchDirs = [process.cwd(), process.env.PULUMI_NODEJS_SDK_DIR];
const sdkPkg = resolveFrom("@pulumi/pulumi/package.json", searchDirs);
if (!sdkPkg) {
  process.stderr.write("It looks like the Pulumi SDK has not been installed. Have you run npm install or yarn install?\n");
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
    } catch {
      return;
    }
    if (seen.has(real)) {
      return;
    }
    seen.add(real);
    let pkg;
    try {
      pkg = JSON.parse(fs.readFileSync(path.join(real, "package.json"), "utf8"));
    } catch {
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
    } catch {
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
        } catch {
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
      process.env.PULUMI_LANGUAGE_NODEJS_RUN_PATH || resolveFrom("@pulumi/pulumi/cmd/run", [info.programDirectory, process.cwd()]);
    if (!runPath) {
      resp.setError("It looks like the Pulumi SDK has not been installed. Have you run npm install or yarn install?");
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
      } catch {
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
          } catch {
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
