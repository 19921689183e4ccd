/** Running the machine's tools (ip, nsenter, ssh-keygen, ...) from the lab, with their output captured. */
import { spawn, spawnSync } from "child_process";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  /** Kills the whole process group after this long; the result then has code 124, like timeout(1). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export function run(command: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    // Own process group, so a timeout kills what the command started too (nsenter forks, bash forks).
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"], detached: true, env: opts.env ?? process.env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            try {
              process.kill(-child.pid!, "SIGKILL");
            } catch {
              // already gone
            }
          }, opts.timeoutMs);
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) => {
      if (timer) clearTimeout(timer);
      reject(new Error(`could not run ${command}: ${e.message}`));
    });
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      const stderr = Buffer.concat(err).toString();
      resolve({
        code: timedOut ? 124 : (code ?? (signal ? 128 : 1)),
        stdout: Buffer.concat(out).toString(),
        stderr: timedOut ? `${stderr}${command}: killed after ${opts.timeoutMs} ms\n` : stderr,
      });
    });
    child.stdin.on("error", () => undefined); // a command that ignores its input may close stdin early
    child.stdin.end(opts.input ?? "");
  });
}

/** Runs the command and returns its stdout; throws with the command line and its stderr when it fails. */
export async function runOk(command: string, args: string[], opts: RunOptions = {}): Promise<string> {
  const result = await run(command, args, opts);
  if (result.code !== 0) {
    const detail = (result.stderr || result.stdout).trim();
    throw new Error(`'${[command, ...args].join(" ")}' failed (exit ${result.code})${detail ? `: ${detail}` : ""}`);
  }
  return result.stdout;
}

/** The lab changes network namespaces, mounts and bridges: only root may. */
export function requireRoot(what: string): void {
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    throw new Error(`${what} needs root (network namespaces, mounts, a bridge); run it with sudo`);
  }
}

const PACKAGE_OF: Record<string, string> = {
  ip: "iproute2",
  nsenter: "util-linux",
  unshare: "util-linux",
  pivot_root: "util-linux",
  mount: "mount",
  "ssh-keygen": "openssh-client",
  debootstrap: "debootstrap",
  sysctl: "procps",
};

/** Throws one error naming every missing tool and the Debian package that has it. */
export function requireTools(tools: string[]): void {
  const missing = tools.filter((tool) => spawnSync("sh", ["-c", 'command -v "$1"', "sh", tool]).status !== 0);
  if (missing.length === 0) return;
  const hints = missing.map((t) => (PACKAGE_OF[t] ? `${t} (package ${PACKAGE_OF[t]})` : t));
  throw new Error(`the lab needs these tools, which are not on PATH: ${hints.join(", ")}`);
}
