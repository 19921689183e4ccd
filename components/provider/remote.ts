/**
 * Runs shell scripts on a host over SSH (ssh2), one connection per host reused across scripts.
 * Self-contained (requires inside functions) because the facet provider is serialized into the
 * Pulumi state and calls this from there.
 */

export interface Connection {
  /** Host alias, for messages. */
  name: string;
  address: string;
  port: number;
  user: string;
  privateKey: string;
  /** Pinned host key, "type base64". */
  hostKey: string;
  connectTimeoutSeconds: number;
}

export interface RunOptions {
  sudo?: boolean;
  /** Secret values, exported to the script without touching any command line. */
  env?: Record<string, string>;
  timeoutSeconds?: number;
  /** What the script does, for messages ("firewall apply"). */
  step: string;
  /** Each line of stderr as it arrives (progress). */
  onStderrLine?: (line: string) => void;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class RemoteError extends Error {
  constructor(
    message: string,
    readonly host: string,
    readonly result?: RunResult,
  ) {
    super(message);
    this.name = "RemoteError";
  }
}

interface Session {
  client: import("ssh2").Client;
  socket: import("net").Socket;
  busy: number;
}

type Pool = Map<string, Promise<Session>>;
/** Shared by every facet resource in one provider process. */
function pool(): Pool {
  const g = globalThis as { __mpiHostsSshPool?: Pool };
  g.__mpiHostsSshPool ??= new Map();
  return g.__mpiHostsSshPool;
}

export function fingerprint(keyBlob: Buffer): string {
  const crypto = require("crypto") as typeof import("crypto");
  return `SHA256:${crypto.createHash("sha256").update(keyBlob).digest("base64").replace(/=+$/, "")}`;
}

export function hostKeyBlob(hostKey: string): Buffer {
  return Buffer.from(hostKey.trim().split(/\s+/)[1] ?? "", "base64");
}

function connect(conn: Connection): Promise<Session> {
  const ssh2 = require("ssh2") as typeof import("ssh2");
  const net = require("net") as typeof import("net");
  const where = `${conn.name} (${conn.user}@${conn.address}:${conn.port})`;
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    const socket = net.connect({ host: conn.address, port: conn.port });
    let settled = false;
    let keyProblem: string | undefined;
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(new RemoteError(message, conn.name));
    };
    const timer = setTimeout(
      () => fail(`${where}: no SSH answer within ${conn.connectTimeoutSeconds}s (is the host up, and the address and port right?)`),
      conn.connectTimeoutSeconds * 1000,
    );
    socket.on("error", (err) => {
      clearTimeout(timer);
      fail(`${where}: cannot connect: ${err.message}`);
    });
    client.on("error", (err) => {
      clearTimeout(timer);
      if (keyProblem) fail(keyProblem);
      else if (/authentication/i.test(err.message)) {
        fail(`${where}: the key was refused for user ${conn.user} (is its public key in ~${conn.user}/.ssh/authorized_keys?)`);
      } else fail(`${where}: ${err.message}`);
    });
    client.on("close", () => pool().delete(poolKey(conn)));
    client.on("ready", () => {
      clearTimeout(timer);
      settled = true;
      resolve({ client, socket, busy: 0 });
    });
    const expected = hostKeyBlob(conn.hostKey);
    try {
      client.connect({
        sock: socket,
        username: conn.user,
        privateKey: conn.privateKey,
        readyTimeout: conn.connectTimeoutSeconds * 1000,
        keepaliveInterval: 15000,
        hostVerifier: (key: Buffer) => {
          if (Buffer.compare(key, expected) === 0) return true;
          keyProblem =
            `${where}: host key mismatch: expected ${fingerprint(expected)} (pinned), got ${fingerprint(key)}. ` +
            `If the host was reinstalled, check the new key out of band and update its hostKey in the stack config.`;
          return false;
        },
      });
    } catch (err) {
      clearTimeout(timer);
      fail(`${where}: ${(err as Error).message}`);
    }
  });
}

function poolKey(conn: Connection): string {
  return `${conn.user}@${conn.address}:${conn.port}/${conn.hostKey}`;
}

async function session(conn: Connection): Promise<Session> {
  const key = poolKey(conn);
  let pending = pool().get(key);
  if (!pending) {
    pending = connect(conn);
    pool().set(key, pending);
    pending.catch(() => pool().delete(key));
  }
  return pending;
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Runs `script` with sh on the host (through `sudo -n` when asked); resolves with its exit code. */
export async function runScript(conn: Connection, script: string, options: RunOptions): Promise<RunResult> {
  const s = await session(conn);
  const exports = Object.entries(options.env ?? {})
    .map(([name, value]) => `${name}=${shellQuote(value)}; export ${name}\n`)
    .join("");
  const command = options.sudo ? "sudo -n -H sh -s" : "sh -s";
  s.busy++;
  s.socket.ref();
  try {
    return await new Promise<RunResult>((resolve, reject) => {
      s.client.exec(command, (err, channel) => {
        if (err) {
          reject(new RemoteError(`${conn.name}: cannot start ${options.step}: ${err.message}`, conn.name));
          return;
        }
        let stdout = "";
        let stderr = "";
        let partial = "";
        const timeout = options.timeoutSeconds
          ? setTimeout(() => {
              channel.close();
              reject(new RemoteError(`${conn.name}: ${options.step} did not finish within ${options.timeoutSeconds}s`, conn.name, { code: -1, stdout, stderr }));
            }, options.timeoutSeconds * 1000)
          : undefined;
        channel.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
        channel.stderr.on("data", (chunk: Buffer) => {
          const text = chunk.toString("utf8");
          stderr += text;
          if (options.onStderrLine) {
            partial += text;
            const lines = partial.split("\n");
            partial = lines.pop() ?? "";
            lines.forEach(options.onStderrLine);
          }
        });
        channel.on("exit", () => undefined);
        channel.on("close", (code: number | null) => {
          if (timeout) clearTimeout(timeout);
          if (partial && options.onStderrLine) options.onStderrLine(partial);
          const result = { code: code ?? -1, stdout, stderr };
          if (options.sudo && result.code !== 0 && /^sudo: /m.test(stderr) && !stdout) {
            reject(
              new RemoteError(
                `${conn.name}: ${options.step} needs root, and \`sudo -n\` failed for ${conn.user}: ${stderr.trim().split("\n")[0]} ` +
                  `(give ${conn.user} passwordless sudo on ${conn.name}, e.g. a file in /etc/sudoers.d)`,
                conn.name,
                result,
              ),
            );
            return;
          }
          resolve(result);
        });
        channel.end(`${exports}${script}`);
      });
    });
  } finally {
    s.busy--;
    if (s.busy === 0) s.socket.unref();
  }
}

/** Closes every pooled connection (CLI and tests; the provider process is simply ended). */
export async function closeAll(): Promise<void> {
  const sessions = [...pool().values()];
  pool().clear();
  await Promise.all(sessions.map((p) => p.then((s) => s.client.end(), () => undefined)));
}
