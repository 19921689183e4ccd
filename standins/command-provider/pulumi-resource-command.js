#!/usr/bin/env node
/* global Buffer, setTimeout, clearTimeout, setImmediate */
// pulumi-resource-command (mpi-hosts stand-in, speaks for @pulumi/command 1.2.1)
//
// The Go provider github.com/pulumi/pulumi-command/provider is not served by the module proxy that
// this project can reach, so this small Node.js implementation of Pulumi's ResourceProvider gRPC
// service stands in for it. It implements the resources the 1.2.1 SDK sends and mpi-hosts uses:
//   command:local:Command   create/update/delete, dir, environment, interpreter, stdin, triggers,
//                            logging, addPreviousOutputInEnv (assetPaths/archivePaths: not supported)
//   command:remote:Command  the same over SSH (ssh2 from the program's node_modules): host, port,
//                            user, password, privateKey(+Password), agentSocketPath/SSH_AUTH_SOCK,
//                            hostKey (authorized_keys format, checked exactly; only its type negotiated), dialErrorLimit,
//                            perDialTimeout, proxy (a bastion: dialed first, the host through it)
//   command:local:run       invoke
// Semantics follow the 1.x provider: a change of `triggers` replaces, any other input change
// updates (runs `update`, else `create`); `delete` runs on delete; PULUMI_COMMAND_STDOUT/STDERR
// carry the previous outputs into update/delete unless addPreviousOutputInEnv is false; Read keeps
// the recorded state (commands cannot detect drift).
"use strict";
const childProcess = require("child_process");
const crypto = require("crypto");
const fs = require("fs");
const os = require("os");
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
  if (require.main !== module) {
    throw new Error("pulumi-resource-command: @pulumi/pulumi is not installed in " + process.cwd());
  }
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

// Errors read like the official provider's: "<Go error>: running <command>:\n<stdout and stderr so far>"
// (provider/pkg/provider/{local,remote}/commandOutputs.go). The stand-in adds where the command ran
// (user@host:port) and, for a lost session, why and after how long; the output so far ends the message, so its
// last lines say how far the command got.
function commandError(status, cmd, where, cause, all) {
  const at = where ? ` on ${where}` : "";
  const why = cause ? ` (${cause})` : "";
  return new Error(`${status}: running ${JSON.stringify(cmd)}${at}${why}:\n${all}`);
}

function seconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

// What Go's os.ProcessState.String() prints for a local command (syscall's signal table on Linux): the official
// local provider reports "exit status 3" or "signal: terminated".
const GO_SIGNAL_TEXT = [
  "",
  "hangup",
  "interrupt",
  "quit",
  "illegal instruction",
  "trace/breakpoint trap",
  "aborted",
  "bus error",
  "floating point exception",
  "killed",
  "user defined signal 1",
  "segmentation fault",
  "user defined signal 2",
  "broken pipe",
  "alarm clock",
  "terminated",
  "stack fault",
  "child exited",
  "continued",
  "stopped (signal)",
  "stopped",
  "stopped (tty input)",
  "stopped (tty output)",
  "urgent I/O condition",
  "CPU time limit exceeded",
  "file size limit exceeded",
  "virtual timer expired",
  "profiling timer expired",
  "window changed",
  "I/O possible",
  "power failure",
  "bad system call",
];
function localStatus(code, signal) {
  if (code !== null && code !== undefined) {
    return `exit status ${code}`;
  }
  const n = os.constants.signals[signal];
  return `signal: ${GO_SIGNAL_TEXT[n] || `signal ${n || signal}`}`;
}

// Go's texts for a command that could not start (os/exec Start, os.StartProcess).
function startError(e, program, dir) {
  if (e.code !== "ENOENT") {
    return e.message;
  }
  if (dir && !fs.existsSync(dir)) {
    return `chdir ${dir}: no such file or directory`;
  }
  return program.includes("/")
    ? `fork/exec ${program}: no such file or directory`
    : `exec: ${JSON.stringify(program)}: executable file not found in $PATH`;
}

// The official provider runs a local command with exec.CommandContext: at the deadline of customTimeouts, or on
// Cancel, Go kills it with SIGKILL, and the error is the killed process's ("signal: killed").
function runLocal(urn, props, cmd, previous, opts = {}) {
  const p = plain(props);
  if ((p.assetPaths && p.assetPaths.length) || (p.archivePaths && p.archivePaths.length)) {
    return Promise.reject(new Error("assetPaths/archivePaths are not supported by the mpi-hosts command stand-in"));
  }
  const interpreter = p.interpreter && p.interpreter.length ? p.interpreter : ["/bin/sh", "-c"];
  const logger = makeLogger(urn, p.logging);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = childProcess.spawn(interpreter[0], [...interpreter.slice(1), cmd], {
      cwd: p.dir || process.cwd(),
      env: { ...process.env, ...commandEnv(props, previous) },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let killedBecause;
    const kill = (why) => {
      if (!killedBecause) {
        killedBecause = why;
        child.kill("SIGKILL");
      }
    };
    running.add(kill);
    const timer = opts.deadline
      ? setTimeout(
          () => kill(`customTimeouts: killed at the deadline, after ${seconds(Date.now() - started)}`),
          Math.max(0, opts.deadline - Date.now()),
        )
      : undefined;
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
    const done = () => {
      running.delete(kill);
      clearTimeout(timer);
    };
    child.on("error", (e) => {
      done();
      reject(commandError(startError(e, interpreter[0], p.dir), cmd, "", "", all));
    });
    child.on("close", async (code, signal) => {
      done();
      await logger.flush();
      if (code === 0) {
        resolve({ stdout: out.replace(/\n$/, ""), stderr: err.replace(/\n$/, "") });
      } else {
        reject(commandError(localStatus(code, signal), cmd, "", killedBecause, all));
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

/** The key's type as x/crypto's PublicKey.Type() names it ("ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"), or undefined. */
function hostKeyType(s) {
  const fields = `${s}`.trim().split(/\s+/);
  return fields.find((f, i) => /^(ssh-|ecdsa-|sk-)/.test(f) && fields[i + 1]);
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

// Go's x/crypto/ssh (v0.48.0, ssh/session.go) texts for how a remote command ended, which the official
// provider puts first in its error: an exit-signal counts as status 128 + the signal's number (128 for a signal
// outside this table); a session that ends with neither exit-status nor exit-signal is ExitMissingError, also
// when the connection dies under it (the mux closes every channel: ssh/mux.go loop).
const SSH_SIGNAL_NUMBERS = { ABRT: 6, ALRM: 14, FPE: 8, HUP: 1, ILL: 4, INT: 2, KILL: 9, PIPE: 13, QUIT: 3, SEGV: 11, TERM: 15 };
const EXIT_MISSING = "wait: remote command exited without exit status or exit signal";
function remoteStatus(code, signal, message) {
  let status = code;
  if ((status === null || status === undefined) && signal) {
    status = 128 + (SSH_SIGNAL_NUMBERS[signal] || 0);
  }
  let s = `Process exited with status ${status}`;
  if (signal) {
    s += ` from signal ${signal}`;
  }
  if (message) {
    s += `. Reason was: ${message}`;
  }
  return s;
}

// The official provider dials with Go's net.Dial, which turns on TCP keepalive (Go >= 1.23: 15 s idle, then 9
// probes 15 s apart), so a connection whose peer went silent fails about 150 s after the last packet. Node cannot
// set the probe interval or count (libuv sets only the idle time; Linux then waits 75 s x 9), so the stand-in
// asks at the SSH level instead, with the same budget: a keepalive request every 15 s, and the connection given up
// when 9 in a row go unanswered (ssh2 counts from the last answer: 10 x 15 s = 150 s).
const KEEPALIVE_INTERVAL_MS = 15000;
const KEEPALIVE_COUNT_MAX = 9;

// pulumi/sdk go/common/util/retry.Until defaults, which the official dial loop uses between attempts.
const DIAL_DELAY_MS = 100;
const DIAL_BACKOFF = 1.5;
const DIAL_MAX_DELAY_MS = 5000;

function endpointOf(conn) {
  return `${conn.user || "root"}@${conn.host}:${conn.port || 22}`;
}

// Dials like the official provider (remote/connection.go Dial/dialWithRetry): up to dialErrorLimit retries
// (-1: no limit), Go's back-off between them, and the deadline of customTimeouts checked between attempts (then
// "context deadline exceeded"). Differences kept on purpose: an authentication failure or a host key mismatch
// fails at once instead of being retried, and perDialTimeout bounds the SSH handshake as well as the TCP connect.
// With connection.proxy (connection.go Dial): the bastion is dialed first with its own settings (proxyConnection.go:
// user, port, keys, hostKey, dialErrorLimit, perDialTimeout), then the host through a channel the bastion opens to
// host:port; every failure of either is prefixed "proxy: ", as there. The bastion's session ends with the host's.
async function connectSSH(conn, opts = {}) {
  if (!conn.proxy) {
    return dialSSH(conn, opts);
  }
  let bastion;
  try {
    bastion = await dialSSH(conn.proxy, opts);
  } catch (e) {
    throw new Error(`proxy: ${e.message}`);
  }
  try {
    const client = await dialSSH({ ...conn, proxy: undefined }, opts, bastion);
    client.on("close", () => bastion.end());
    return client;
  } catch (e) {
    bastion.end();
    throw new Error(`proxy: ${e.message}`);
  }
}

// One SSH connection with the dial loop above; `through`: an ssh2 Client of the bastion to reach the host through.
function dialSSH(conn, opts, through) {
  const ssh2path = resolveFrom("ssh2", [process.cwd(), process.env.PULUMI_NODEJS_SDK_DIR]);
  if (!ssh2path) {
    throw new Error("command:remote:Command needs the ssh2 package in the program's node_modules");
  }
  const { Client } = require(ssh2path);
  const limit = conn.dialErrorLimit === undefined || conn.dialErrorLimit === null ? 10 : conn.dialErrorLimit;
  const perDial = conn.perDialTimeout === undefined || conn.perDialTimeout === null ? 15 : conn.perDialTimeout;
  const expected = conn.hostKey ? parseHostKey(conn.hostKey) : undefined;
  const agent = conn.agentSocketPath || process.env.SSH_AUTH_SOCK || undefined;
  const endpoint = endpointOf(conn);
  const options = {
    host: conn.host,
    port: conn.port || 22,
    username: conn.user || "root",
    readyTimeout: perDial > 0 ? perDial * 1000 : 24 * 3600 * 1000,
    tryKeyboard: !!conn.password,
    keepaliveInterval: keepaliveOf(opts).interval,
    keepaliveCountMax: keepaliveOf(opts).count,
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
    // connection.go SSHConfig: HostKeyAlgorithms = [publicKey.Type()], so the host must present a key of the pinned
    // key's type, and an rsa key asks for `ssh-rsa` (SHA-1) only, which OpenSSH >= 8.8 no longer offers.
    const type = hostKeyType(conn.hostKey);
    if (type) options.algorithms = { serverHostKey: [type] };
    options.hostVerifier = (key) => {
      const ok = Buffer.isBuffer(key) && key.equals(expected);
      hostKeyMismatch = !ok;
      return ok;
    };
  }
  return new Promise((resolve, reject) => {
    let dials = 0;
    let delay = DIAL_DELAY_MS;
    let lastError = "";
    let waiting;
    let stopped;
    // Cancel (and the plugin's shutdown) ends the wait between attempts, as the context's end does in Go.
    const stop = (why) => {
      stopped = why;
      if (waiting) {
        clearTimeout(waiting);
        waiting = undefined;
        fail(new Error(`context canceled (${why}; dialing ${endpoint}, ${dials} attempts failed, the last: ${lastError})`));
      }
    };
    running.add(stop);
    const fail = (e) => {
      running.delete(stop);
      reject(e);
    };
    const attempt = () => {
      waiting = undefined;
      dials++;
      const client = new Client();
      let settled = false;
      client.on("keyboard-interactive", (_n, _i, _l, prompts, finishPrompts) => {
        finishPrompts(prompts.map(() => conn.password || ""));
      });
      client.once("ready", () => {
        settled = true;
        running.delete(stop);
        resolve(client);
      });
      // Always listening: ssh2 emits "error" more than once for one failed dial, and an unheard one would end the
      // plugin. After "ready", runRemote takes over what the errors mean.
      const onDialError = (e) => {
        if (settled) {
          return;
        }
        settled = true;
        client.end();
        lastError = e.message;
        const pause = Math.min(delay, DIAL_MAX_DELAY_MS);
        delay *= DIAL_BACKOFF;
        if (hostKeyMismatch) {
          fail(new Error(`ssh: handshake failed: ssh: host key mismatch (dialing ${endpoint}: its key is not the connection's hostKey)`));
        } else if (e.level === "client-authentication") {
          fail(new Error(`ssh: handshake failed: ${e.message} (dialing ${endpoint})`));
        } else if (limit > -1 && dials > limit) {
          fail(new Error(`after ${dials - 1} failed attempts: dial ${endpoint}: ${e.message}`));
        } else if (stopped) {
          fail(new Error(`context canceled (${stopped}; dialing ${endpoint}, ${dials} attempts failed, the last: ${e.message})`));
        } else if (opts.deadline && Date.now() + pause >= opts.deadline) {
          waiting = setTimeout(
            () =>
              fail(
                new Error(
                  `context deadline exceeded (customTimeouts: dialing ${endpoint}, ${dials} attempts failed, the last: ${e.message})`,
                ),
              ),
            Math.max(0, opts.deadline - Date.now()),
          );
        } else {
          waiting = setTimeout(attempt, pause);
        }
      };
      client.on("error", onDialError);
      if (!through) {
        client.connect(options);
        return;
      }
      // Go: proxyClient.Dial("tcp", endpoint), then ssh.NewClientConn over it.
      through.forwardOut("127.0.0.1", 0, conn.host, conn.port || 22, (err, channel) => {
        if (err) {
          onDialError(new Error(`dial from proxy to ${conn.host}:${conn.port || 22}: ${err.message}`));
          return;
        }
        client.connect({ ...options, sock: channel });
      });
    };
    attempt();
  });
}

// Runs cmd over SSH like the official remote/commandOutputs.go run: success only on exit-status 0; anything else
// (a non-zero status, a signal, a session or connection that ended without an exit status, a host that stopped
// answering) fails with Go's text for it, where it ran, and the output so far. The deadline of customTimeouts
// bounds only the dial, as in the official provider (its session.Run does not watch the context).
async function runRemote(urn, props, cmd, previous, opts = {}) {
  const p = plain(props);
  const conn = p.connection || {};
  const endpoint = endpointOf(conn);
  const logger = makeLogger(urn, p.logging);
  const client = await connectSSH(conn, opts);
  const started = Date.now();
  // How the connection ended, if it did before the command's exit was known.
  let lost;
  client.on("error", (e) => {
    if (!lost) {
      lost =
        e.message === "Keepalive timeout"
          ? `${endpoint} stopped answering: no reply to ${keepaliveOf(opts).count} ssh keepalives ${keepaliveOf(opts).interval / 1000} s apart, the connection given up ${seconds(Date.now() - started)} into the run`
          : `the ssh connection to ${endpoint} failed ${seconds(Date.now() - started)} into the run: ${e.message}`;
    }
  });
  client.on("close", () => {
    if (!lost) {
      lost = `the ssh connection to ${endpoint} was closed by the host ${seconds(Date.now() - started)} into the run`;
    }
  });
  try {
    return await new Promise((resolve, reject) => {
      client.exec(cmd, { env: commandEnv(props, previous) }, (e, stream) => {
        if (e) {
          reject(new Error(`${e.message} (opening a session on ${endpoint}${lost ? `: ${lost}` : ""})`));
          return;
        }
        let out = "";
        let err = "";
        let all = "";
        let exit;
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
        stream.on("exit", (code, signal, _dump, message) => {
          if (!exit) {
            exit = { code, signal: signal ? `${signal}`.replace(/^SIG/, "") : "", message: message || "" };
          }
        });
        stream.on("error", () => {
          // a write to a closed channel (stdin); how the session ended is decided on "close"
        });
        stream.on("close", () => {
          // ssh2 closes the channel before it reports the connection's end: let those events land first.
          setImmediate(async () => {
            await logger.flush();
            if (exit && exit.code === 0) {
              resolve({ stdout: out.replace(/\n$/, ""), stderr: err.replace(/\n$/, "") });
            } else if (exit) {
              reject(commandError(remoteStatus(exit.code, exit.signal, exit.message), cmd, endpoint, "", all));
            } else {
              const why = lost || `the host closed the session ${seconds(Date.now() - started)} into the run without an exit status`;
              reject(commandError(EXIT_MISSING, cmd, endpoint, why, all));
            }
          });
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

function keepaliveOf(opts) {
  return { interval: opts.keepaliveIntervalMs || KEEPALIVE_INTERVAL_MS, count: opts.keepaliveCountMax || KEEPALIVE_COUNT_MAX };
}

function run(type, urn, props, cmd, previous, opts) {
  return type === "command:remote:Command" ? runRemote(urn, props, cmd, previous, opts) : runLocal(urn, props, cmd, previous, opts);
}

// customTimeouts arrive as the request's timeout in seconds (0: none); the official provider (pulumi-go-provider
// middleware/cancel) turns them into the context deadline of create, update and delete.
function deadlineOf(req) {
  const t = req.getTimeout ? req.getTimeout() : 0;
  return { deadline: t > 0 ? Date.now() + t * 1000 : undefined };
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
      result = await run(type, urn, inputs, cmd, undefined, deadlineOf(req));
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
      result = await run(type, urn, news, cmd, { stdout: olds.stdout, stderr: olds.stderr }, deadlineOf(req));
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
      await run(type, urn, props, cmd, { stdout: props.stdout, stderr: props.stderr }, deadlineOf(req));
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
    // The official provider cancels every operation's context: local commands are killed (exec.CommandContext),
    // dial loops stop; a remote command that already runs is not stopped (session.Run does not watch it).
    for (const stop of running) {
      stop("cancelled (the engine's Cancel)");
    }
    return new emptyproto.Empty();
  }),
};

function serve() {
  for (const a of process.argv.slice(2)) {
    if (!a.startsWith("-")) {
      engineAddress = a;
    }
  }
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
    for (const stop of running) {
      stop("the provider was shut down");
    }
    server.forceShutdown();
    process.exit(0);
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

if (require.main === module) {
  serve();
} else {
  // Required as a module (the lab tests drive the SSH and local runs directly); the engine runs this file.
  module.exports = { runRemote, runLocal, connectSSH, KEEPALIVE_INTERVAL_MS, KEEPALIVE_COUNT_MAX };
}
