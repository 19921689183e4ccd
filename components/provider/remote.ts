/**
 * Runs shell scripts on a host over SSH (ssh2), one connection per host reused across scripts.
 */
import * as crypto from "crypto";
import * as net from "net";
import * as ssh2 from "ssh2";
import { Duplex } from "stream";
import { shellQuote } from "../templates/shellQuote";
import { LoginAttempt, loginAttempt, LoginSources } from "./credentials";
import { hostKeyAlgorithms, keyType } from "./hostKeys";

export interface Connection {
  /** Host alias, for messages. */
  name: string;
  address: string;
  port: number;
  user: string;
  /**
   * Where the login comes from (ssh-agent, key file, secret key: ./credentials), resolved at run time. Never part of a
   * resource's inputs: the facet provider sets it from the stack config it is configured with, the CLI and tests from
   * theirs. Unset: ssh-agent (SSH_AUTH_SOCK) only.
   */
  login?: LoginSources;
  /** Every key the host may present, "type base64" (pinned, or listed for it in known_hosts); only their algorithms are negotiated. */
  hostKeys: string[];
  /** Keys refused as revoked (known_hosts `@revoked`), with the line that revokes each. */
  revokedKeys?: { key: string; where: string }[];
  /** Where hostKeys came from, for messages: "pinned" (stack config) or a known_hosts file. */
  hostKeysFrom?: string;
  connectTimeoutSeconds: number;
  /** The bastion the host is reached through (ProxyJump); unset: directly. */
  jump?: JumpConnection;
}

/** A bastion, as a Connection names it: where it is and how its host key is checked. It logs in as the host does. */
export type JumpConnection = Pick<Connection, "name" | "address" | "port" | "user" | "hostKeys" | "revokedKeys" | "hostKeysFrom">;

export interface RunOptions {
  sudo?: boolean;
  /** Secret values, exported to the script without touching any command line. */
  env?: Record<string, string>;
  timeoutSeconds?: number;
  /** What the script does, for messages ("firewall apply"). */
  step: string;
  /** Each line of stderr as it arrives (progress). */
  onStderrLine?: (line: string) => void;
  /**
   * Hold the host's lock while the script runs (apply and remove; probes stay concurrent): a second run waits up
   * to waitSeconds for it, then fails naming who holds it. See hostLockFrame.
   */
  lock?: HostLock;
}

export interface HostLock {
  waitSeconds: number;
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
  /** The TCP connection to the host, or the channel the bastion opened to it. */
  socket: Duplex;
  /** The bastion's session, for a host reached through one. */
  via?: Session;
  busy: number;
}

/**
 * A script is running over the session: keep the process alive for it (the TCP socket, the bastion's for a host behind
 * one, stays referenced), until release.
 */
function hold(s: Session): void {
  s.busy++;
  if (s.socket instanceof net.Socket) s.socket.ref();
  if (s.via) hold(s.via);
}

function release(s: Session): void {
  s.busy--;
  if (s.busy === 0 && s.socket instanceof net.Socket) s.socket.unref();
  if (s.via) release(s.via);
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

/**
 * The connection's known keys. None at all (a connection written by hand, a damaged state) is refused here, naming
 * the host, rather than later as a TypeError.
 */
export function knownKeysOf(conn: Connection): string[] {
  const keys = ((conn.hostKeys as unknown[] | undefined) ?? []).filter((k): k is string => typeof k === "string" && k.trim() !== "");
  if (keys.length === 0) {
    throw new Error(
      `${conn.name} (${conn.user}@${conn.address}:${conn.port}): the connection has no host key to check the host against; nothing ran. ` +
        `Pin the host's key in hostKey or list it in known_hosts (ssh-keyscan -p ${conn.port} ${conn.address}, checked out of band), then run pulumi up.`,
    );
  }
  return keys;
}

function describeKey(key: string): string {
  return `${fingerprint(hostKeyBlob(key))} (${keyType(key)})`;
}

/**
 * How the host's key is checked, as OpenSSH checks known_hosts: any known key is accepted; a revoked one is refused
 * as revoked; anything else is a mismatch naming both sides. Only the known keys' algorithms are offered, so a host
 * with several key types presents one we know rather than the one ssh2 prefers (issue 12: a false mismatch).
 */
function hostKeyCheck(
  conn: Connection,
  where: string,
): { algorithms: string[]; verify: (key: Buffer) => boolean; problem: () => string | undefined; noCommonType: () => string } {
  const known = knownKeysOf(conn);
  const expected = known.map(hostKeyBlob);
  const from = conn.hostKeysFrom ?? "pinned";
  let problem: string | undefined;
  return {
    algorithms: hostKeyAlgorithms(known),
    verify: (key: Buffer) => {
      const revoked = (conn.revokedKeys ?? []).find((r) => Buffer.compare(hostKeyBlob(r.key), key) === 0);
      if (revoked) {
        problem =
          `${where}: host key ${fingerprint(key)} is revoked (@revoked at ${revoked.where}); nothing ran. ` +
          `The host must get a new host key: check it out of band and add it to known_hosts or hostKey.`;
        return false;
      }
      if (expected.some((blob) => Buffer.compare(key, blob) === 0)) return true;
      problem =
        `${where}: host key mismatch: expected ${known.map(describeKey).join(" or ")} (${from}), got ${fingerprint(key)}. ` +
        `If the host was reinstalled, check the new key out of band and update its hostKey in the stack config or its line in known_hosts.`;
      return false;
    },
    problem: () => problem,
    noCommonType: () =>
      `${where}: the host offers none of the host key types known for it (${[...new Set(known.map(keyType))].join(", ")}; ${from}). ` +
      `If it was reinstalled with other key types, check its keys out of band (ssh-keyscan -p ${conn.port} ${conn.address}) and update hostKey or known_hosts.`,
  };
}

/** How ssh2 authenticates: the agent's keys, then the key file or secret key (./credentials), as OpenSSH orders them. */
function authOptions(conn: Connection): LoginAttempt {
  return loginAttempt(conn.user, conn.login ?? { agentSocket: process.env.SSH_AUTH_SOCK || undefined });
}

/** The message when every authentication method was refused: host, user, each method tried and what was not usable. */
function authRefusal(conn: Connection, login: LoginAttempt, where: string): string {
  return login.refusal(where, conn.user);
}

/** The bastion's own connection: its address, port, user and host keys; the host's login and timeout. */
export function bastionConnection(conn: Connection): Connection | undefined {
  if (!conn.jump) return undefined;
  return { ...conn, revokedKeys: undefined, hostKeysFrom: undefined, ...conn.jump, jump: undefined };
}

/**
 * The stream the SSH session runs over: a TCP connection to the host, or, through a bastion (ProxyJump), a channel the
 * bastion's session (pooled like any other, so hosts behind one bastion share it) opens to the host's address and port,
 * as `ssh -J` does. A failure on the bastion's side names the bastion.
 */
async function openStream(conn: Connection): Promise<{ stream: Duplex; via?: Session }> {
  const bastion = bastionConnection(conn);
  if (!bastion) return { stream: net.connect({ host: conn.address, port: conn.port }) };
  const host = `${conn.name} (${conn.user}@${conn.address}:${conn.port})`;
  const through = `cannot reach ${host} through bastion`;
  let via: Session;
  try {
    via = await session(bastion);
  } catch (err) {
    // The bastion's own message starts with where it is: "b1 (user@addr:port): ...".
    throw new RemoteError(`${through} ${(err as Error).message}`, conn.name);
  }
  const bastionWhere = `${bastion.name} (${bastion.user}@${bastion.address}:${bastion.port})`;
  hold(via);
  try {
    const stream = await new Promise<Duplex>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new RemoteError(
              `${through} ${bastionWhere}: the bastion did not open a connection to ${conn.address}:${conn.port} within ${conn.connectTimeoutSeconds}s`,
              conn.name,
            ),
          ),
        conn.connectTimeoutSeconds * 1000,
      );
      via.client.forwardOut("127.0.0.1", 0, conn.address, conn.port, (err, channel) => {
        clearTimeout(timer);
        if (!err) return resolve(channel);
        const hint = /prohibited/i.test(err.message)
          ? " (its sshd refuses to forward: AllowTcpForwarding or DisableForwarding in its sshd_config)"
          : /connect failed|refused|unreachable/i.test(err.message)
            ? ` (is ${conn.address}:${conn.port} right, and reachable from the bastion?)`
            : "";
        reject(
          new RemoteError(
            `${through} ${bastionWhere}: the bastion could not open a connection to ${conn.address}:${conn.port}: ${err.message}${hint}`,
            conn.name,
          ),
        );
      });
    });
    return { stream, via };
  } finally {
    release(via);
  }
}

async function connect(conn: Connection): Promise<Session> {
  const where = `${conn.name} (${conn.user}@${conn.address}:${conn.port})`;
  const { stream: socket, via } = await openStream(conn);
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    const hostKey = hostKeyCheck(conn, where);
    const login = authOptions(conn);
    let settled = false;
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
      // ssh2 reports an agent that fails to sign, then goes on with the next key or method.
      if ((err as { level?: string }).level === "agent") return login.noteAgentError(err.message);
      clearTimeout(timer);
      const keyProblem = hostKey.problem();
      if (keyProblem) fail(keyProblem);
      else if (/no matching host key format/.test(err.message)) fail(hostKey.noCommonType());
      else if (/authentication/i.test(err.message)) fail(authRefusal(conn, login, where));
      else fail(`${where}: ${err.message}`);
    });
    client.on("close", () => pool().delete(poolKey(conn)));
    client.on("ready", () => {
      clearTimeout(timer);
      settled = true;
      resolve({ client, socket, via, busy: 0 });
    });
    try {
      client.connect({
        sock: socket,
        username: conn.user,
        authHandler: login.authHandler,
        readyTimeout: conn.connectTimeoutSeconds * 1000,
        keepaliveInterval: 15000,
        hostVerifier: hostKey.verify,
        ...(hostKey.algorithms.length ? { algorithms: { serverHostKey: hostKey.algorithms as ssh2.ServerHostKeyAlgorithm[] } } : {}),
      });
    } catch (err) {
      clearTimeout(timer);
      fail(`${where}: ${(err as Error).message}`);
    }
  });
}

/** One per host and login, and per bastion: what the connection pool (and the facet provider's probe cache) is keyed by. */
export function poolKey(conn: Connection): string {
  const bastion = bastionConnection(conn);
  if (bastion) return `${directKey(conn)} via ${poolKey(bastion)}`;
  return directKey(conn);
}

function directKey(conn: Connection): string {
  return `${conn.user}@${conn.address}:${conn.port}/${knownKeysOf(conn).join(",")}`;
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

/**
 * The names reach the shell unquoted (a name cannot be quoted), and a state can hold any secretEnv names: anything but
 * a plain variable name would run as a command on the host, so it is refused before anything connects.
 */
function exportLines(env: Record<string, string> | undefined): string {
  return Object.entries(env ?? {})
    .map(([name, value]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
        throw new Error(`environment variable name ${JSON.stringify(name)} is not a shell variable name; nothing ran`);
      return `${name}=${shellQuote(value)}; export ${name}\n`;
    })
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

/** Seconds between TERM and KILL when a script outlives its limit on the host. */
export const KILL_GRACE_SECONDS = 5;
/** How much longer than the host's own limit (lock wait + limit + KILL grace) the provider waits for an answer. */
const ANSWER_MARGIN_SECONDS = 10;
/** What the host says on stderr when its watchdog ended a script, and when the host lock stayed busy. */
const TIMEOUT_MARK = "@@mpi-hosts-timeout";
const LOCK_BUSY_MARK = "@@mpi-hosts-lock-busy";
const LOCK_BUSY_CODE = 75;
/** The host lock, under the login user's home: every step runs as that user or through its sudo. */
export const LOCK_PATH = "~/.mpi-hosts/lock";
/** perl by absolute path (the login PATH may hold a conda prefix): /usr/bin/perl on macOS and Debian (perl-base is essential). */
const PERL = "/usr/bin/perl";
const FLOCK = "/usr/bin/flock";

/**
 * The watchdog around every script with a limit (issue 15, item 6). Closing the SSH channel ends nothing on the host:
 * without a pty sshd sends no signal, and a script that does not write to the closed pipes never notices; sudo
 * forwards what it receives to its command only, not to what that command started, and ignores signals sent from its
 * own process group. So the limit is kept on the host, by a process that runs as the script does (root under sudo):
 * the script runs in a process group of its own; at the limit the watchdog says so on stderr (TIMEOUT_MARK), sends
 * TERM to the group (so that scripts' cleanup traps run), waits up to KILL_GRACE_SECONDS for the whole group to end,
 * KILLs what is left, and exits 124. perl, not GNU `timeout -k`: macOS has no `timeout`, and `timeout` returns as
 * soon as its child ends, leaving the rest of the group (a child that ignores TERM) running. A process that makes a
 * group or session of its own (`setsid`, a daemon) is not in the group, on purpose: it was meant to outlive the step.
 * Where there is no /usr/bin/perl the script runs without a watchdog, as before.
 */
const WATCHDOG_PERL = [
  `use POSIX ":sys_wait_h";`,
  `my ($limit, $grace, $mark) = splice(@ARGV, 0, 3);`,
  `my $pid = fork;`,
  `defined $pid or die "mpi-hosts: fork: $!\\n";`,
  `if (!$pid) { setpgrp(0, 0); exec { $ARGV[0] } @ARGV or die "mpi-hosts: cannot run $ARGV[0]: $!\\n" }`,
  `setpgrp($pid, $pid);`,
  `my $status;`,
  `eval { local $SIG{ALRM} = sub { die "limit\\n" }; alarm $limit; waitpid($pid, 0); $status = $?; alarm 0 };`,
  `if (defined $status) { exit($status & 127 ? 128 + ($status & 127) : $status >> 8) }`,
  `print STDERR "$mark\\n";`,
  `kill "TERM", -$pid;`,
  `for (my $i = 0; $i < $grace * 10 && kill(0, -$pid); $i++) { waitpid($pid, WNOHANG); select(undef, undef, undef, 0.1) }`,
  `kill "KILL", -$pid;`,
  `waitpid($pid, 0);`,
  `exit 124;`,
].join("\n");

/**
 * Shell text that runs `body` with /bin/sh under the watchdog, for `sh -s` (as the user or through sudo). It reads its
 * limit in seconds from `mh_limit`, which the text fed before it sets; 0 or less: the step is out of time already.
 */
export function guardedScript(body: string): string {
  const mark = shellQuote(TIMEOUT_MARK);
  return [
    `mh_body=${shellQuote(body)}`,
    `if [ "$mh_limit" -le 0 ]; then printf '%s\\n' ${mark} >&2; exit 124; fi`,
    `if [ -x ${PERL} ]; then`,
    `  printf '%s' "$mh_body" | ${PERL} -e ${shellQuote(WATCHDOG_PERL)} "$mh_limit" ${KILL_GRACE_SECONDS} ${mark} ${SH} -s`,
    `else`,
    `  printf '%s' "$mh_body" | ${SH_COMMAND}`,
    `fi`,
    ``,
  ].join("\n");
}

/**
 * Shell text for the frame (run as the login user) that takes the host lock, or exits LOCK_BUSY_CODE after
 * `waitSeconds` saying who holds it (LOCK_BUSY_MARK, then "pid since step"). The lock is taken by the login user, in
 * their home, for root steps too (which run inside the frame through sudo): root writes nothing there, so no link
 * planted in the home can turn the lock into a root write elsewhere. flock(1) where there is one (util-linux, Linux):
 * the kernel drops the lock when the frame ends, however it ends; the steps run with the descriptor closed, so a
 * daemon they start does not keep the lock. Elsewhere (macOS) a directory made with mkdir, removed when the frame
 * exits; one whose holder is no longer running is stale and taken over (renamed away first, so only one waiter
 * removes it). `flock` names the flock(1) to use (tests pass a missing one to get the mkdir lock).
 */
export function hostLockFrame(step: string, waitSeconds: number, flock = FLOCK): string {
  const wait = Math.max(0, Math.floor(waitSeconds));
  const busy = (holder: string) => `printf '%s %s\\n' ${shellQuote(LOCK_BUSY_MARK)} "${holder}" >&2; exit ${LOCK_BUSY_CODE}`;
  return [
    `mh_lockdir=$HOME/${LOCK_PATH.slice(2, LOCK_PATH.lastIndexOf("/"))}`,
    `mh_step=${shellQuote(step)}`,
    `if [ -x ${shellQuote(flock)} ]; then`,
    // The lock is the home directory itself, so that nothing of it stays on the host after the run (destroy gives
    // the home back as it was); the holder's line is removed by the frame's EXIT trap, while the lock is still held.
    `  exec 9<"$HOME"`,
    `  if ! ${shellQuote(flock)} -w ${wait} 9; then`,
    `    mh_seen=$(cat "$mh_lockdir/lock.holder" 2>/dev/null) || mh_seen=`,
    `    ${busy("$mh_seen")}`,
    `  fi`,
    `  (umask 077 && mkdir -p "$mh_lockdir") || exit 1`,
    `  mh_holder=$mh_lockdir/lock.holder`,
    `  printf '%s %s %s\\n' "$$" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$mh_step" >"$mh_holder"`,
    `else`,
    `  mh_waited=0`,
    // The holder before removes ~/.mpi-hosts once it is empty: make it again on every try.
    `  until (umask 077 && mkdir -p "$mh_lockdir") && mkdir "$mh_lockdir/lock.d" 2>/dev/null; do`,
    `    mh_seen=$(cat "$mh_lockdir/lock.d/holder" 2>/dev/null) || mh_seen=`,
    `    mh_pid=\${mh_seen%% *}`,
    `    if [ -n "$mh_pid" ] && ! kill -0 "$mh_pid" 2>/dev/null; then`,
    `      if mv "$mh_lockdir/lock.d" "$mh_lockdir/lock.stale.$$" 2>/dev/null; then rm -rf "$mh_lockdir/lock.stale.$$"; fi`,
    `      continue`,
    `    fi`,
    `    if [ "$mh_waited" -ge ${wait} ]; then ${busy("$mh_seen")}; fi`,
    `    sleep 1`,
    `    mh_waited=$((mh_waited + 1))`,
    `  done`,
    `  mh_lockd=$mh_lockdir/lock.d`,
    `  printf '%s %s %s\\n' "$$" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$mh_step" >"$mh_lockd/holder"`,
    `fi`,
    ``,
  ].join("\n");
}

/** A step that ran out of time, as the error runScript and runParts give. */
function timedOut(conn: Connection, step: string, timeoutSeconds: number, result: RunResult): RemoteError {
  return new RemoteError(
    `${conn.name}: ${step} did not finish within ${timeoutSeconds}s; ended it on ${conn.name} ` +
      `(TERM to its process group, KILL ${KILL_GRACE_SECONDS}s later to what was left)`,
    conn.name,
    { ...result, stderr: result.stderr.split(`${TIMEOUT_MARK}\n`).join("") },
  );
}

/** The lock stayed busy: who holds it, and what to do. */
function lockBusy(conn: Connection, step: string, lock: HostLock, stderr: string): RemoteError {
  const line = stderr.split("\n").find((l) => l.startsWith(`${LOCK_BUSY_MARK} `)) ?? "";
  const [pid, since, ...holderStep] = line
    .slice(LOCK_BUSY_MARK.length + 1)
    .trim()
    .split(" ");
  const holder = pid
    ? `pid ${pid} on ${conn.name} (${holderStep.join(" ") || "a step"}) holds it since ${since}`
    : `its holder did not say who it is`;
  return new RemoteError(
    `${conn.name}: ${step} waited ${lock.waitSeconds}s for the host lock (of ${conn.user}'s home on ${conn.name}), ` +
      `held by another mpi-hosts run: ${holder}. Run one pulumi up or destroy per host at a time; ` +
      `if no other run is going on, look at what that pid is on ${conn.name}.`,
    conn.name,
    { code: LOCK_BUSY_CODE, stdout: "", stderr },
  );
}

interface ExecOptions {
  step: string;
  /** Give up after this long (the host's own limits plus a margin); undefined: wait for ever. */
  answerSeconds?: number;
  /** The limit the step was given, for the message when the host does not answer. */
  timeoutSeconds?: number;
  onStderrLine?: (line: string) => void;
}

/** Runs `command` on the host with `input` on its standard input; resolves with its exit code and output. */
async function exec(conn: Connection, command: string, input: string, options: ExecOptions): Promise<RunResult> {
  const s = await session(conn);
  hold(s);
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
        const timeout = options.answerSeconds
          ? setTimeout(() => {
              channel.close();
              reject(
                new RemoteError(
                  `${conn.name}: ${options.step} did not finish within ${options.timeoutSeconds}s, and ${conn.name} did not ` +
                    `answer within ${options.answerSeconds}s (is the connection lost? what the step started may still run there)`,
                  conn.name,
                  { code: -1, stdout, stderr },
                ),
              );
            }, options.answerSeconds * 1000)
          : undefined;
        channel.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
        channel.stderr.on("data", (chunk: Buffer) => {
          const text = chunk.toString("utf8");
          stderr += text;
          if (options.onStderrLine) {
            partial += text;
            const lines = partial.split("\n");
            partial = lines.pop() ?? "";
            lines.filter((l) => l !== TIMEOUT_MARK).forEach(options.onStderrLine);
          }
        });
        channel.on("exit", () => undefined);
        channel.on("close", (code: number | null) => {
          if (timeout) clearTimeout(timeout);
          if (partial && options.onStderrLine) options.onStderrLine(partial);
          resolve({ code: code ?? -1, stdout, stderr });
        });
        channel.end(input);
      });
    });
  } finally {
    release(s);
  }
}

/** How long the provider waits for the host to answer a step with these limits. */
function answerSeconds(timeoutSeconds: number | undefined, lock: HostLock | undefined): number | undefined {
  if (!timeoutSeconds) return undefined;
  return (lock?.waitSeconds ?? 0) + timeoutSeconds + KILL_GRACE_SECONDS + ANSWER_MARGIN_SECONDS;
}

/**
 * Runs `script` with /bin/sh on the host (through `/usr/bin/sudo -n` when asked); resolves with its exit code. With
 * timeoutSeconds, the host ends the script and what it started at that limit (guardedScript), and this rejects;
 * with `lock`, the script runs holding the host lock (hostLockFrame).
 */
export async function runScript(conn: Connection, script: string, options: RunOptions): Promise<RunResult> {
  if (options.lock) {
    const [result] = await runFramed(conn, [{ script, sudo: options.sudo, env: options.env, step: options.step }], {
      timeoutSeconds: options.timeoutSeconds,
      lock: options.lock,
    });
    const refused = options.sudo ? sudoRefusal(conn, options.step, result) : undefined;
    if (refused) throw refused;
    return result;
  }
  const body = `${exportLines(options.env)}${script}`;
  const limit = options.timeoutSeconds;
  const input = limit ? `mh_limit=${Math.ceil(limit)}\n${guardedScript(body)}` : body;
  const result = await exec(conn, options.sudo ? SUDO_SH_COMMAND : SH_COMMAND, input, {
    step: options.step,
    answerSeconds: answerSeconds(limit, undefined),
    timeoutSeconds: limit,
    onStderrLine: options.onStderrLine,
  });
  if (limit && result.code === 124 && result.stderr.includes(`${TIMEOUT_MARK}\n`)) throw timedOut(conn, options.step, limit, result);
  const refused = options.sudo ? sudoRefusal(conn, options.step, result) : undefined;
  if (refused) throw refused;
  return result;
}

export interface Part {
  script: string;
  sudo?: boolean;
  env?: Record<string, string>;
  step: string;
}

export interface PartsOptions {
  /** Hold the host lock for all the parts (see RunOptions.lock). */
  lock?: HostLock;
}

const FRAME = "@@mpi-hosts-parts";

/**
 * Runs several scripts in one exec (one round trip): each in its own shell, privileged ones
 * through `sudo -n`. A part's failure is its own: the others still run. Check each privileged
 * result with `sudoRefusal`. All the parts together get `timeoutSeconds` (each under the watchdog with what is left);
 * with `lock`, they run holding the host lock, and the time starts once it is taken.
 *
 * Each part's stdout and stderr go to files; at the end one line gives the exit codes, `wc -c`
 * the sizes, and one base64 of all the files together every byte (four programs per batch,
 * not four per part: at 50 lab hosts on one machine the hosts' process starts are what a
 * refresh waits for).
 */
export async function runParts(conn: Connection, parts: Part[], timeoutSeconds: number, options: PartsOptions = {}): Promise<RunResult[]> {
  if (parts.length === 1 && !options.lock) {
    const [p] = parts;
    return [await runScript(conn, p.script, { sudo: p.sudo, env: p.env, step: p.step, timeoutSeconds })];
  }
  return runFramed(conn, parts, { timeoutSeconds, lock: options.lock });
}

interface FrameOptions {
  timeoutSeconds?: number;
  lock?: HostLock;
  /** The flock(1) to use (tests: a missing one, for the mkdir lock). */
  flock?: string;
}

/** The frame that runs `parts` in one `sh -s` as the login user (runParts); exported for tests. */
export function partsScript(parts: Part[], options: FrameOptions): string {
  const limit = options.timeoutSeconds ? Math.ceil(options.timeoutSeconds) : undefined;
  const steps = parts.map((p) => p.step).join(", ");
  const files = parts.flatMap((_, i) => [`o${i}`, `e${i}`]);
  const body = parts
    .map((p, i) => {
      const shell = p.sudo ? SUDO_SH_COMMAND : SH_COMMAND;
      const text = exportLines(p.env) + p.script;
      // The lock's descriptor (9) stays with the frame: a daemon a step starts must not keep the lock.
      const feed = limit ? `{ printf 'mh_limit=%s\\n' "$((mh_end - $(date +%s)))"; printf '%s' "$part"; }` : `printf '%s' "$part"`;
      return [
        `part=${shellQuote(limit ? guardedScript(text) : text)}`,
        `${feed} | ${shell} 9>&- >"$dir/o${i}" 2>"$dir/e${i}" && c${i}=0 || c${i}=$?`,
      ].join("\n");
    })
    .join("\n");
  const codes = parts.map((_, i) => `$c${i}`).join(" ");
  return [
    `PATH=${SYSTEM_PATH}:$PATH`,
    `export PATH`,
    `mh_lockd=`,
    `mh_holder=`,
    `trap 'rm -rf "$dir"; if [ -n "$mh_lockd" ]; then rm -rf "$mh_lockd"; fi; if [ -n "$mh_holder" ]; then rm -f "$mh_holder"; fi; if [ -n "$mh_lockd$mh_holder" ]; then rmdir "$mh_lockdir" 2>/dev/null; fi' EXIT`,
    `trap 'exit 129' HUP`,
    `trap 'exit 130' INT`,
    `trap 'exit 143' TERM`,
    options.lock ? hostLockFrame(steps, options.lock.waitSeconds, options.flock) : ``,
    `dir=$(mktemp -d)`,
    limit ? `mh_end=$(($(date +%s) + ${limit}))` : ``,
    body,
    `printf '${FRAME} codes %s\\n' "${codes}"`,
    `printf '${FRAME} sizes\\n'`,
    `(cd "$dir" && wc -c ${files.join(" ")})`,
    `printf '${FRAME} data '`,
    `(cd "$dir" && cat ${files.join(" ")}) | base64 | tr -d '\\n\\r'`,
    `echo`,
    ``,
  ].join("\n");
}

async function runFramed(conn: Connection, parts: Part[], options: FrameOptions): Promise<RunResult[]> {
  const limit = options.timeoutSeconds ? Math.ceil(options.timeoutSeconds) : undefined;
  const steps = parts.map((p) => p.step).join(", ");
  const combined = await exec(conn, SH_COMMAND, partsScript(parts, options), {
    step: steps,
    answerSeconds: answerSeconds(limit, options.lock),
    timeoutSeconds: limit,
  });
  if (options.lock && combined.code === LOCK_BUSY_CODE && combined.stderr.includes(`${LOCK_BUSY_MARK} `)) {
    throw lockBusy(conn, steps, options.lock, combined.stderr);
  }
  const results = decodeParts(combined.stdout, parts.length).map(
    (r, i) =>
      r ?? { code: -1, stdout: "", stderr: `${steps}: no result for ${parts[i].step} (exit ${combined.code}): ${combined.stderr.trim()}` },
  );
  const late = results.findIndex((r) => r.code === 124 && r.stderr.includes(`${TIMEOUT_MARK}\n`));
  if (limit && late >= 0) throw timedOut(conn, parts[late].step, limit, results[late]);
  return results;
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
