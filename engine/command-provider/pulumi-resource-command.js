#!/usr/bin/env node
/* global Buffer, setTimeout */
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
    } catch {
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
    inputs: ["connection", "create", "update", "delete", "environment", "stdin", "triggers", "logging", "addPreviousOutputInEnv"],
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
