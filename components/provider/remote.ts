/**
 * Runs shell scripts on a host over SSH (ssh2), one connection per host reused across scripts.
 */
import * as crypto from "crypto";
import * as net from "net";
import * as ssh2 from "ssh2";

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
    // Set explicitly: when this class travelled inside the serialized provider, closure
    // serialization made it a function calling Error(...), which sets nothing on `this`, and the
    // engine reported "Unknown Error". Cheap insurance should the class ever be serialized again.
    this.message = message;
    this.name = "RemoteError";
    this.stack ??= `RemoteError: ${message}`;
  }

  toString(): string {
    return `${this.name}: ${this.message}`;
  }
}

interface Session {
  client: ssh2.Client;
  socket: net.Socket;
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
  return `SHA256:${crypto.createHash("sha256").update(keyBlob).digest("base64").replace(/=+$/, "")}`;
}

export function hostKeyBlob(hostKey: string): Buffer {
  return Buffer.from(hostKey.trim().split(/\s+/)[1] ?? "", "base64");
}

function connect(conn: Connection): Promise<Session> {
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

/** One per host and login: what the connection pool (and the facet provider's probe cache) is keyed by. */
export function poolKey(conn: Connection): string {
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

function exportLines(env: Record<string, string> | undefined): string {
  return Object.entries(env ?? {})
    .map(([name, value]) => `${name}=${shellQuote(value)}; export ${name}\n`)
    .join("");
}

/**
 * sudo and sh by absolute path: the login shell runs the command with the user's PATH, which the python facet puts the
 * conda prefix in front of (~/.bashrc, ~/.zshenv), so `sudo` by name is whatever <prefix>/bin/sudo is (issue 15).
 * /usr/bin/sudo on macOS and on Linux distributions alike; /bin/sh everywhere.
 */
export const SUDO = "/usr/bin/sudo";
export const SH = "/bin/sh";
const SH_COMMAND = `${SH} -s`;
const SUDO_SH_COMMAND = `${SUDO} -n -H ${SH} -s`;
/** The directories of system tools first (as the scripts' shell library sets them), for the frame of runParts. */
const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** A failed `sudo -n` (no passwordless sudo, or no sudo at all) as a clear error, or undefined. */
export function sudoRefusal(conn: Connection, step: string, result: RunResult): RemoteError | undefined {
  if (result.code === 127 && !result.stdout && result.stderr.includes(`${SUDO}: `)) {
    return new RemoteError(
      `${conn.name}: ${step} needs root, and there is no ${SUDO} on ${conn.name}: ${result.stderr.trim().split("\n")[0]} ` +
        `(install sudo there and give ${conn.user} passwordless sudo, e.g. a file in /etc/sudoers.d)`,
      conn.name,
      result,
    );
  }
  if (result.code === 0 || result.stdout || !/^sudo: /m.test(result.stderr)) return undefined;
  return new RemoteError(
    `${conn.name}: ${step} needs root, and \`sudo -n\` failed for ${conn.user}: ${result.stderr.trim().split("\n")[0]} ` +
      `(give ${conn.user} passwordless sudo on ${conn.name}, e.g. a file in /etc/sudoers.d)`,
    conn.name,
    result,
  );
}

/** Runs `script` with /bin/sh on the host (through `/usr/bin/sudo -n` when asked); resolves with its exit code. */
export async function runScript(conn: Connection, script: string, options: RunOptions): Promise<RunResult> {
  const s = await session(conn);
  const exports = exportLines(options.env);
  const command = options.sudo ? SUDO_SH_COMMAND : SH_COMMAND;
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
              reject(
                new RemoteError(`${conn.name}: ${options.step} did not finish within ${options.timeoutSeconds}s`, conn.name, {
                  code: -1,
                  stdout,
                  stderr,
                }),
              );
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
          const refused = options.sudo ? sudoRefusal(conn, options.step, result) : undefined;
          if (refused) reject(refused);
          else resolve(result);
        });
        channel.end(`${exports}${script}`);
      });
    });
  } finally {
    s.busy--;
    if (s.busy === 0) s.socket.unref();
  }
}

export interface Part {
  script: string;
  sudo?: boolean;
  env?: Record<string, string>;
  step: string;
}

const FRAME = "@@mpi-hosts-parts";

/**
 * Runs several scripts in one exec (one round trip): each in its own shell, privileged ones
 * through `sudo -n`. A part's failure is its own: the others still run. Check each privileged
 * result with `sudoRefusal`.
 *
 * Each part's stdout and stderr go to files; at the end one line gives the exit codes, `wc -c`
 * the sizes, and one base64 of all the files together every byte (four programs per batch,
 * not four per part: at 50 lab hosts on one machine the hosts' process starts are what a
 * refresh waits for).
 */
export async function runParts(conn: Connection, parts: Part[], timeoutSeconds: number): Promise<RunResult[]> {
  if (parts.length === 1) {
    const [p] = parts;
    return [await runScript(conn, p.script, { sudo: p.sudo, env: p.env, step: p.step, timeoutSeconds })];
  }
  const files = parts.flatMap((_, i) => [`o${i}`, `e${i}`]);
  const body = parts
    .map((p, i) => {
      const shell = p.sudo ? SUDO_SH_COMMAND : SH_COMMAND;
      return [
        `part=${shellQuote(exportLines(p.env) + p.script)}`,
        `printf '%s' "$part" | ${shell} >"$dir/o${i}" 2>"$dir/e${i}" && c${i}=0 || c${i}=$?`,
      ].join("\n");
    })
    .join("\n");
  const codes = parts.map((_, i) => `$c${i}`).join(" ");
  const script = [
    `PATH=${SYSTEM_PATH}:$PATH`,
    `export PATH`,
    `dir=$(mktemp -d)`,
    `trap 'rm -rf "$dir"' EXIT`,
    body,
    `printf '${FRAME} codes %s\\n' "${codes}"`,
    `printf '${FRAME} sizes\\n'`,
    `(cd "$dir" && wc -c ${files.join(" ")})`,
    `printf '${FRAME} data '`,
    `(cd "$dir" && cat ${files.join(" ")}) | base64 | tr -d '\\n\\r'`,
    `echo`,
    ``,
  ].join("\n");
  const steps = parts.map((p) => p.step).join(", ");
  const combined = await runScript(conn, script, { step: steps, timeoutSeconds });
  const results = decodeParts(combined.stdout, parts.length);
  return results.map(
    (r, i) =>
      r ?? { code: -1, stdout: "", stderr: `${steps}: no result for ${parts[i].step} (exit ${combined.code}): ${combined.stderr.trim()}` },
  );
}

/** The results framed by runParts' script, undefined for a part whose result did not come back whole. */
export function decodeParts(stdout: string, count: number): (RunResult | undefined)[] {
  let codes: number[] = [];
  const sizes = new Map<string, number>();
  let data: Buffer | undefined;
  let inSizes = false;
  for (const line of stdout.split("\n")) {
    // wc -c: "SIZE NAME" per file (GNU and BSD pad differently), then a total.
    const size = inSizes ? /^\s*(\d+)\s+([oe]\d+)\s*$/.exec(line) : null;
    if (size) sizes.set(size[2], Number(size[1]));
    if (!line.startsWith(`${FRAME} `)) continue;
    const [kind, ...rest] = line
      .slice(FRAME.length + 1)
      .trim()
      .split(/\s+/);
    inSizes = kind === "sizes";
    if (kind === "codes") codes = rest.map(Number);
    else if (kind === "data") data = Buffer.from(rest[0] ?? "", "base64");
  }
  const results: (RunResult | undefined)[] = [];
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const out = sizes.get(`o${i}`);
    const err = sizes.get(`e${i}`);
    if (data === undefined || out === undefined || err === undefined || !Number.isInteger(codes[i]) || offset + out + err > data.length) {
      results.push(undefined);
      continue;
    }
    const stdoutText = data.subarray(offset, offset + out).toString("utf8");
    const stderrText = data.subarray(offset + out, offset + out + err).toString("utf8");
    offset += out + err;
    results.push({ code: codes[i], stdout: stdoutText, stderr: stderrText });
  }
  return results;
}

/** Closes every pooled connection (CLI and tests; the provider process is simply ended). */
export async function closeAll(): Promise<void> {
  const sessions = [...pool().values()];
  pool().clear();
  await Promise.all(
    sessions.map((p) =>
      p.then(
        (s) => s.client.end(),
        () => undefined,
      ),
    ),
  );
}
