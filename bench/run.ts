/**
 * The benchmark: mpi-hosts (Pulumi) against an equivalent Ansible playbook, on fresh lab hosts of this
 * machine, for several cluster sizes, side by side in one run. Per size and repeat:
 *   1. lab A: `pulumi up` from nothing (verification off), then a no-change `pulumi preview --refresh
 *      --expect-no-changes`, then `npm run drift`;
 *   2. lab B: `ansible-playbook` converge from nothing, `--check` (the no-change check), a second run;
 *   3. lab C: `pulumi up` from nothing with the verification job on.
 * Each operation is timed (wall clock, and CPU of the whole process tree when /usr/bin/time exists) and
 * followed by a read of the per-host SSH counters (bench/counters.ts). In the first repeat, host1 of lab A
 * and of lab B are compared with plain tools (bench/equivalence.ts).
 *
 * Pulumi runs in a snapshot copy of the project taken at the start (the repository is edited by others
 * while a long benchmark runs), against a file backend in a temporary directory. Every lab, stack and
 * temporary directory is removed at the end, also on failure or Ctrl-C.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import { loadCluster, readStackFile } from "../components/config/load";
import { Lab, renderLabStack, startLab, stopLab } from "../lab/lab";
import { Release } from "../lab/image";
import { writeAnsibleProject } from "./ansible/inventory";
import { HostCount, installCounters, readCounters } from "./counters";
import { compareSnapshots, snapshotHost } from "./equivalence";
import { formatCount, formatSeconds, spread, Spread } from "./stats";
import { benchLabName } from "./labName";

export type OperationId =
  "pulumi.up" | "pulumi.upVerify" | "pulumi.preview" | "mpi-hosts.drift" | "ansible.converge" | "ansible.check" | "ansible.second";

export const OPERATIONS: Record<OperationId, string> = {
  "pulumi.up": "pulumi up from nothing, verification off",
  "pulumi.upVerify": "pulumi up from nothing, verification on",
  "pulumi.preview": "pulumi preview --refresh, no change",
  "mpi-hosts.drift": "npm run drift, no change",
  "ansible.converge": "ansible-playbook from nothing",
  "ansible.check": "ansible-playbook --check, no change",
  "ansible.second": "ansible-playbook second run, no change",
};

export interface BenchOptions {
  sizes: number[];
  repeat: number;
  /** Where the project is; a snapshot copy of it is what runs. */
  repoDir: string;
  release: Release;
  /** `pulumi up --skip-preview` (the default runs the preview pass first, as users do). */
  skipPreview: boolean;
  /** Operation groups to run: pulumi, verify, ansible (default all). */
  groups: Set<"pulumi" | "verify" | "ansible">;
  /** Kills an operation after this long. */
  timeoutSeconds: number;
  /** Extra environment for every pulumi and drift command (e.g. PULUMI_SKIP_CHECKPOINTS=true), recorded in the result. */
  pulumiEnv?: Record<string, string>;
  /** Leave the hosts as they are (no login-shell wrapper, no iptables counter): to rule out that counting changes a result. */
  noCounters?: boolean;
  log: (line: string) => void;
  /** After every sample: what has been measured so far (an interrupted run keeps its numbers). */
  onProgress?: (samples: Sample[], problems: string[]) => void;
}

export interface Sample {
  size: number;
  repeat: number;
  op: OperationId;
  seconds: number;
  cpuUserSeconds?: number;
  cpuSystemSeconds?: number;
  exitCode: number;
  /** Exit 0 and, for the no-change operations, no change reported. */
  ok: boolean;
  note?: string;
  perHost: { connections: Spread; sessions: Spread; accepted: Spread };
  /** Session commands of host1, abbreviated (what each round trip was). */
  host1Commands: string[];
  log: string;
}

export interface Summary {
  size: number;
  op: OperationId;
  what: string;
  seconds?: Spread;
  failures: number;
  connectionsPerHost?: Spread;
  sessionsPerHost?: Spread;
}

export interface BenchResult {
  startedAt: string;
  finishedAt: string;
  machine: Record<string, unknown>;
  versions: Record<string, string>;
  settings: Record<string, unknown>;
  samples: Sample[];
  summary: Summary[];
  equivalence: Record<string, { same: boolean; differences: string[] }>;
  targets: Array<{ target: string; measured: string; met?: boolean }>;
  problems: string[];
}

interface Tools {
  workDir: string;
  projectDir: string;
  env: NodeJS.ProcessEnv;
  hasTime: boolean;
}

interface Timed {
  seconds: number;
  code: number;
  cpuUserSeconds?: number;
  cpuSystemSeconds?: number;
  output: string;
}

/** Runs a command with its output in logFile; wall time from here, CPU of the tree from /usr/bin/time. */
function timed(
  tools: Tools,
  command: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; logFile: string; timeoutSeconds: number },
): Promise<Timed> {
  const timeFile = `${opts.logFile}.time`;
  const [cmd, argv] = tools.hasTime ? ["/usr/bin/time", ["-q", "-f", "%e %U %S", "-o", timeFile, command, ...args]] : [command, args];
  return new Promise((resolve, reject) => {
    const out = fs.openSync(opts.logFile, "w");
    const started = process.hrtime.bigint();
    const child = spawn(cmd, argv, { cwd: opts.cwd, env: opts.env ?? tools.env, stdio: ["ignore", out, out], detached: true });
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // gone already
      }
    }, opts.timeoutSeconds * 1000);
    child.on("error", (e) => {
      clearTimeout(timer);
      fs.closeSync(out);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      fs.closeSync(out);
      let cpuUserSeconds: number | undefined;
      let cpuSystemSeconds: number | undefined;
      if (tools.hasTime && fs.existsSync(timeFile)) {
        const last = fs.readFileSync(timeFile, "utf8").trim().split("\n").pop() ?? "";
        const [, u, s] = last.split(" ").map(Number);
        if (Number.isFinite(u)) [cpuUserSeconds, cpuSystemSeconds] = [u, s];
      }
      resolve({
        seconds,
        code: code ?? (signal ? 128 : 1),
        cpuUserSeconds,
        cpuSystemSeconds,
        output: fs.readFileSync(opts.logFile, "utf8"),
      });
    });
  });
}

export function runQuiet(
  command: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(command, args, { cwd: opts.cwd, env: opts.env, input: opts.input, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status ?? 1, stdout: r.stdout ?? "", stderr: r.stderr ?? (r.error ? String(r.error) : "") };
}

/** The environment scripts/engine-env.sh sets up (PATH to the cached engine, offline settings). */
export function engineEnv(repoDir: string, workDir: string): NodeJS.ProcessEnv {
  const r = runQuiet("bash", ["-c", ". scripts/engine-env.sh >&2 && env -0"], { cwd: repoDir });
  if (r.code !== 0) throw new Error(`bench: no Pulumi engine: ${r.stderr.trim()} (run scripts/build-engine.sh)`);
  const env: NodeJS.ProcessEnv = {};
  for (const pair of r.stdout.split("\0")) {
    const i = pair.indexOf("=");
    if (i > 0) env[pair.slice(0, i)] = pair.slice(i + 1);
  }
  // The backend goes in the environment, not through `pulumi login`, which would change everyone's current login.
  env.PULUMI_BACKEND_URL = `file://${path.join(workDir, "state")}`;
  env.PULUMI_CONFIG_PASSPHRASE = "mpi-hosts-bench";
  env.PULUMI_SKIP_CONFIRMATIONS = "true";
  fs.mkdirSync(path.join(workDir, "state"), { recursive: true });
  return env;
}

const SNAPSHOT_SKIP = new Set([".git", "node_modules", "bin", "rendered", "coverage", "standins", "test", "bench"]);

/** A copy of the project's working tree (node_modules linked), so that edits made meanwhile do not leak into the run. */
export function snapshotProject(repoDir: string, target: string): void {
  fs.mkdirSync(target, { recursive: true });
  for (const entry of fs.readdirSync(repoDir)) {
    if (SNAPSHOT_SKIP.has(entry) || /^Pulumi\..+\.yaml$/.test(entry) || entry.endsWith(".tmp.ts")) continue;
    fs.cpSync(path.join(repoDir, entry), path.join(target, entry), { recursive: true });
  }
  fs.symlinkSync(path.join(repoDir, "node_modules"), path.join(target, "node_modules"));
}

function gitInfo(repoDir: string): Record<string, string> {
  const head = runQuiet("git", ["rev-parse", "--short", "HEAD"], { cwd: repoDir }).stdout.trim();
  const dirty = runQuiet("git", ["status", "--porcelain", "--", "index.ts", "components", "templates", "cli", "Pulumi.yaml"], {
    cwd: repoDir,
  })
    .stdout.split("\n")
    .filter(Boolean)
    .map((l) => l.trim());
  return { "mpi-hosts commit": head, "uncommitted in the measured tree": dirty.length ? dirty.join(", ") : "none" };
}

function versionOf(command: string, args: string[], env?: NodeJS.ProcessEnv): string {
  const r = runQuiet(command, args, { env });
  return (r.stdout || r.stderr).trim().split("\n")[0] || "not found";
}

function packageVersion(repoDir: string, name: string): string {
  try {
    return JSON.parse(fs.readFileSync(path.join(repoDir, "node_modules", name, "package.json"), "utf8")).version;
  } catch {
    return "not found";
  }
}

export function machineInfo(): Record<string, unknown> {
  const debian = fs.existsSync("/etc/debian_version") ? fs.readFileSync("/etc/debian_version", "utf8").trim() : "?";
  return {
    cpu: os.cpus()[0]?.model ?? "?",
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    debian,
    note: "shared machine: other engineers' tests ran at the same time; medians and min–max, not means",
  };
}

function spreadOf(counts: HostCount[], key: "connections" | "sessions" | "accepted"): Spread {
  return spread(counts.map((c) => c[key]))!;
}

/** PLAY RECAP totals of an ansible-playbook run. */
export function ansibleRecap(output: string): { changed: number; failed: number; unreachable: number; hosts: number } {
  const totals = { changed: 0, failed: 0, unreachable: 0, hosts: 0 };
  const recap = output.slice(output.lastIndexOf("PLAY RECAP"));
  for (const line of recap.split("\n")) {
    const m = /changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/.exec(line);
    if (!m) continue;
    totals.hosts++;
    totals.changed += Number(m[1]);
    totals.unreachable += Number(m[2]);
    totals.failed += Number(m[3]);
  }
  return totals;
}

class Bench {
  readonly samples: Sample[] = [];
  readonly problems: string[] = [];
  readonly equivalence: BenchResult["equivalence"] = {};
  private readonly snapshots = new Map<number, { pulumi?: string; ansible?: string }>();
  private readonly liveLabs = new Set<string>();
  private readonly liveStacks = new Set<string>();

  constructor(
    private readonly opts: BenchOptions,
    private readonly tools: Tools,
  ) {}

  private async lab(name: string, size: number): Promise<Lab> {
    this.liveLabs.add(name);
    const lab = await startLab({ name, hosts: size, release: this.opts.release });
    if (!this.opts.noCounters) await installCounters(lab);
    return lab;
  }

  private async dropLab(name: string): Promise<void> {
    await stopLab(name);
    this.liveLabs.delete(name);
  }

  private writeStack(lab: Lab, stack: string, verify: boolean): string {
    const doc = parse(renderLabStack(lab)) as { config: Record<string, Record<string, unknown>> };
    doc.config["mpi-hosts:verify"] = { ...doc.config["mpi-hosts:verify"], enabled: verify };
    const file = path.join(this.tools.projectDir, `Pulumi.${stack}.yaml`);
    fs.writeFileSync(file, `# mpi-hosts bench (temporary)\n${stringify(doc, { lineWidth: 0 })}`);
    return file;
  }

  private pulumi(args: string[]): { code: number; stdout: string; stderr: string } {
    return runQuiet("pulumi", args, { cwd: this.tools.projectDir, env: this.tools.env });
  }

  private initStack(stack: string): void {
    this.liveStacks.add(stack);
    const r = this.pulumi(["stack", "init", stack, "--non-interactive"]);
    if (r.code !== 0) throw new Error(`bench: pulumi stack init ${stack} failed: ${r.stderr.trim()}`);
  }

  private removeStack(stack: string): void {
    this.pulumi(["stack", "rm", stack, "--force", "--yes", "--non-interactive"]);
    fs.rmSync(path.join(this.tools.projectDir, `Pulumi.${stack}.yaml`), { force: true });
    this.liveStacks.delete(stack);
  }

  private async measure(
    lab: Lab,
    size: number,
    repeat: number,
    op: OperationId,
    command: string,
    args: string[],
    judge: (t: Timed) => { ok: boolean; note?: string },
    extra: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
  ): Promise<Sample> {
    if (!this.opts.noCounters) await readCounters(lab); // zero
    const logFile = path.join(this.tools.workDir, "logs", `${size}-${repeat}-${op}.log`);
    const t = await timed(this.tools, command, args, {
      cwd: extra.cwd ?? this.tools.projectDir,
      env: extra.env,
      logFile,
      timeoutSeconds: this.opts.timeoutSeconds,
    });
    const counts = this.opts.noCounters
      ? lab.hosts.map((h) => ({ host: h.name, connections: NaN, sessions: NaN, accepted: NaN, commands: [] }))
      : await readCounters(lab);
    const { ok, note } = judge(t);
    const sample: Sample = {
      size,
      repeat,
      op,
      seconds: t.seconds,
      cpuUserSeconds: t.cpuUserSeconds,
      cpuSystemSeconds: t.cpuSystemSeconds,
      exitCode: t.code,
      ok,
      note,
      perHost: {
        connections: spreadOf(counts, "connections"),
        sessions: spreadOf(counts, "sessions"),
        accepted: spreadOf(counts, "accepted"),
      },
      host1Commands: counts[0]?.commands ?? [],
      log: logFile,
    };
    this.samples.push(sample);
    this.opts.onProgress?.(this.samples, this.problems);
    const cpu = t.cpuUserSeconds !== undefined ? `, cpu ${(t.cpuUserSeconds + (t.cpuSystemSeconds ?? 0)).toFixed(1)} s` : "";
    this.opts.log(
      `  ${size} hosts #${repeat + 1} ${op}: ${t.seconds.toFixed(1)} s${cpu}, per host ${formatCount(sample.perHost.connections)} conn / ${formatCount(sample.perHost.sessions)} sessions${ok ? "" : `  FAILED (${note ?? `exit ${t.code}`}; log ${logFile})`}`,
    );
    if (!ok) this.problems.push(`${size} hosts, repeat ${repeat + 1}, ${op}: ${note ?? `exit ${t.code}`} (log ${logFile})`);
    return sample;
  }

  private exitOk = (t: Timed) => ({ ok: t.code === 0, note: t.code === 0 ? undefined : `exit ${t.code}: ${lastLines(t.output)}` });

  private async pulumiGroup(size: number, repeat: number): Promise<void> {
    const name = benchLabName(`bench-p${size}`);
    try {
      const lab = await this.lab(name, size);
      this.writeStack(lab, name, false);
      this.initStack(name);
      const upArgs = ["up", "--yes", "--stack", name, "--non-interactive", ...(this.opts.skipPreview ? ["--skip-preview"] : [])];
      await this.measure(lab, size, repeat, "pulumi.up", "pulumi", upArgs, this.exitOk);
      await this.measure(
        lab,
        size,
        repeat,
        "pulumi.preview",
        "pulumi",
        ["preview", "--refresh", "--expect-no-changes", "--stack", name, "--non-interactive"],
        (t) => (t.code === 0 ? { ok: true } : { ok: false, note: `exit ${t.code} (changes found, or an error): ${lastLines(t.output)}` }),
      );
      await this.measure(lab, size, repeat, "mpi-hosts.drift", "npm", ["run", "-s", "drift", "--", "--stack", name], this.exitOk);
      if (repeat === 0) this.snapshot(size).pulumi = await snapshotHost(lab, "host1");
    } finally {
      this.removeStack(name);
      await this.dropLab(name);
    }
  }

  private async verifyGroup(size: number, repeat: number): Promise<void> {
    const name = benchLabName(`bench-v${size}`);
    try {
      const lab = await this.lab(name, size);
      this.writeStack(lab, name, true);
      this.initStack(name);
      const upArgs = ["up", "--yes", "--stack", name, "--non-interactive", ...(this.opts.skipPreview ? ["--skip-preview"] : [])];
      await this.measure(lab, size, repeat, "pulumi.upVerify", "pulumi", upArgs, this.exitOk);
    } finally {
      this.removeStack(name);
      await this.dropLab(name);
    }
  }

  private async ansibleGroup(size: number, repeat: number): Promise<void> {
    const name = benchLabName(`bench-a${size}`);
    const dir = path.join(this.tools.workDir, `ansible-${size}-${repeat}`);
    let lab: Lab | undefined;
    const controlDirs: string[] = [];
    try {
      lab = await this.lab(name, size);
      const stackFile = path.join(dir, `Pulumi.${name}.yaml`);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(stackFile, renderLabStack(lab));
      const { cluster, problems } = loadCluster(readStackFile(stackFile));
      if (!cluster) throw new Error(`bench: the lab's stack config does not load: ${problems.map((p) => p.message).join("; ")}`);
      const project = writeAnsibleProject({ cluster, dir, knownHostsPath: lab.knownHostsPath, keyComment: `mpi-hosts cluster ${name}` });
      const run = async (op: OperationId, extraArgs: string[], expectNoChange: boolean) => {
        const controlDir = path.join(dir, `cp-${op}`);
        controlDirs.push(controlDir);
        // A control directory per run: each run starts cold, with its own connections, like a pulumi command.
        const env = { ...this.tools.env, ANSIBLE_CONFIG: project.config, ANSIBLE_SSH_CONTROL_PATH_DIR: controlDir, ANSIBLE_NOCOLOR: "1" };
        await this.measure(
          lab!,
          size,
          repeat,
          op,
          "ansible-playbook",
          ["-f", String(size), ...extraArgs, project.playbook],
          (t) => {
            const recap = ansibleRecap(t.output);
            if (t.code !== 0 || recap.failed || recap.unreachable)
              return {
                ok: false,
                note: `exit ${t.code}, failed=${recap.failed}, unreachable=${recap.unreachable}: ${lastLines(t.output)}`,
              };
            if (expectNoChange && recap.changed) return { ok: false, note: `reported changed=${recap.changed} on a converged cluster` };
            return { ok: true };
          },
          { cwd: dir, env },
        );
        this.closeMasters(lab!, controlDir);
      };
      await run("ansible.converge", [], false);
      await run("ansible.check", ["--check"], true);
      await run("ansible.second", [], true);
      if (repeat === 0) this.snapshot(size).ansible = await snapshotHost(lab, "host1");
    } finally {
      if (lab) for (const d of controlDirs) this.closeMasters(lab, d);
      await this.dropLab(name);
    }
  }

  /** Ends the ControlPersist masters of one run (ssh processes this bench started), by their control sockets. */
  private closeMasters(lab: Lab, controlDir: string): void {
    if (!fs.existsSync(controlDir)) return;
    for (const h of lab.hosts) {
      runQuiet("ssh", ["-o", `ControlPath=${controlDir}/%C`, "-p", String(h.port), "-O", "exit", `${h.user}@${h.address}`]);
    }
  }

  private snapshot(size: number) {
    let s = this.snapshots.get(size);
    if (!s) this.snapshots.set(size, (s = {}));
    return s;
  }

  async run(): Promise<void> {
    for (const size of this.opts.sizes) {
      for (let repeat = 0; repeat < this.opts.repeat; repeat++) {
        this.opts.log(`bench: ${size} hosts, repeat ${repeat + 1} of ${this.opts.repeat}`);
        const groups: Array<[string, () => Promise<void>]> = [
          ["pulumi", () => this.pulumiGroup(size, repeat)],
          ["ansible", () => this.ansibleGroup(size, repeat)],
          ["verify", () => this.verifyGroup(size, repeat)],
        ];
        for (const [group, fn] of groups) {
          if (!this.opts.groups.has(group as "pulumi")) continue;
          try {
            await fn();
          } catch (err) {
            const message = `${size} hosts, repeat ${repeat + 1}, ${group}: ${(err as Error).message}`;
            this.problems.push(message);
            this.opts.log(`  FAILED ${message}`);
          }
        }
      }
      const s = this.snapshots.get(size);
      if (s?.pulumi && s.ansible) {
        const differences = compareSnapshots(s.pulumi, s.ansible);
        this.equivalence[`${size} hosts`] = { same: differences.length === 0, differences };
        this.opts.log(
          `  ${size} hosts: host1 after pulumi up vs after ansible-playbook: ${differences.length ? `${differences.length} differing lines` : "same"}`,
        );
      }
    }
  }

  async cleanup(): Promise<void> {
    for (const stack of [...this.liveStacks]) this.removeStack(stack);
    for (const lab of [...this.liveLabs]) await stopLab(lab).catch(() => undefined);
    this.liveLabs.clear();
  }
}

function lastLines(text: string, n = 3): string {
  return text.trim().split("\n").slice(-n).join(" | ").slice(0, 400);
}

export function summarize(samples: Sample[], sizes: number[]): Summary[] {
  const out: Summary[] = [];
  for (const op of Object.keys(OPERATIONS) as OperationId[]) {
    for (const size of sizes) {
      const mine = samples.filter((s) => s.op === op && s.size === size);
      if (!mine.length) continue;
      const good = mine.filter((s) => s.ok);
      out.push({
        size,
        op,
        what: OPERATIONS[op],
        seconds: spread(good.map((s) => s.seconds)),
        failures: mine.length - good.length,
        // Per host, over every host of every repeat: the worst host matters for a round-trip target.
        connectionsPerHost: spread(mine.flatMap((s) => [s.perHost.connections.min, s.perHost.connections.max])),
        sessionsPerHost: spread(mine.flatMap((s) => [s.perHost.sessions.min, s.perHost.sessions.max])),
      });
    }
  }
  return out;
}

function median(summary: Summary[], op: OperationId, size: number): number | undefined {
  return summary.find((s) => s.op === op && s.size === size)?.seconds?.median;
}

/** The lead's targets, as measured (only those the run had the numbers for). */
export function checkTargets(summary: Summary[], sizes: number[]): BenchResult["targets"] {
  const targets: BenchResult["targets"] = [];
  const mid = sizes.includes(20) ? 20 : sizes[Math.floor(sizes.length / 2)];
  const small = Math.min(...sizes);
  const large = Math.max(...sizes);
  const check = median(summary, "ansible.check", mid);
  for (const op of ["pulumi.preview", "mpi-hosts.drift"] as OperationId[]) {
    const ours = median(summary, op, mid);
    if (ours !== undefined && check !== undefined) {
      targets.push({
        target: `${OPERATIONS[op]} at least 2x faster than ansible-playbook --check on ${mid} hosts`,
        measured: `${ours.toFixed(1)} s vs ${check.toFixed(1)} s: ${(check / ours).toFixed(2)}x`,
        met: check / ours >= 2,
      });
    }
    const a = median(summary, op, small);
    const b = median(summary, op, large);
    if (a !== undefined && b !== undefined && large > small) {
      targets.push({
        target: `${OPERATIONS[op]}: ${large} hosts under 3x the ${small}-host time`,
        measured: `${b.toFixed(1)} s vs ${a.toFixed(1)} s: ${(b / a).toFixed(2)}x`,
        met: b / a < 3,
      });
    }
  }
  const up = median(summary, "pulumi.up", mid);
  const converge = median(summary, "ansible.converge", mid);
  if (up !== undefined && converge !== undefined) {
    targets.push({
      target: `pulumi up from nothing faster than ansible-playbook on ${mid} hosts`,
      measured: `${up.toFixed(1)} s vs ${converge.toFixed(1)} s`,
      met: up < converge,
    });
  }
  for (const op of ["pulumi.preview", "mpi-hosts.drift"] as OperationId[]) {
    const rows = summary.filter((s) => s.op === op);
    if (!rows.length) continue;
    const worst = Math.max(...rows.map((r) => r.sessionsPerHost?.max ?? Infinity));
    targets.push({
      target: `${OPERATIONS[op]}: at most 2 SSH round trips per host`,
      measured: `${worst} at most (${rows.map((r) => `${r.size} hosts: ${formatCount(r.sessionsPerHost)}`).join("; ")})`,
      met: worst <= 2,
    });
  }
  return targets;
}

export function formatTable(result: Pick<BenchResult, "summary" | "settings">, sizes: number[]): string {
  const rows: string[][] = [["operation", ...sizes.map((n) => `${n} hosts`)]];
  const ssh: string[][] = [["SSH per host: connections / sessions", ...sizes.map((n) => `${n} hosts`)]];
  for (const op of Object.keys(OPERATIONS) as OperationId[]) {
    const mine = result.summary.filter((s) => s.op === op);
    if (!mine.length) continue;
    const cell = (n: number) => {
      const s = mine.find((x) => x.size === n);
      if (!s) return "-";
      return `${formatSeconds(s.seconds)}${s.failures ? ` [${s.failures} failed]` : ""}`;
    };
    rows.push([OPERATIONS[op], ...sizes.map(cell)]);
    ssh.push([
      OPERATIONS[op],
      ...sizes.map((n) => {
        const s = mine.find((x) => x.size === n);
        return s ? `${formatCount(s.connectionsPerHost)} / ${formatCount(s.sessionsPerHost)}` : "-";
      }),
    ]);
  }
  const render = (table: string[][]) => {
    const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
    const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
    return [line(table[0]), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...table.slice(1).map(line)].join("\n");
  };
  return `${render(rows)}\n\n${render(ssh)}\n`;
}

export async function runBench(opts: BenchOptions): Promise<BenchResult> {
  const startedAt = new Date().toISOString();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "mpi-hosts-bench-"));
  fs.mkdirSync(path.join(workDir, "logs"));
  const projectDir = path.join(workDir, "project");
  snapshotProject(opts.repoDir, projectDir);
  const env = { ...engineEnv(opts.repoDir, workDir), ...(opts.pulumiEnv ?? {}) };
  const tools: Tools = {
    workDir,
    projectDir,
    env,
    hasTime: fs.existsSync("/usr/bin/time"),
  };
  if (opts.groups.has("ansible") && runQuiet("ansible-playbook", ["--version"]).code !== 0) {
    throw new Error("bench: ansible-playbook not found; run scripts/bench-setup.sh (installs ansible-core from Debian)");
  }
  const versions: Record<string, string> = {
    node: process.version,
    pulumi: versionOf("pulumi", ["version"], env),
    "@pulumi/pulumi": packageVersion(opts.repoDir, "@pulumi/pulumi"),
    "@pulumi/command": packageVersion(opts.repoDir, "@pulumi/command"),
    ssh2: packageVersion(opts.repoDir, "ssh2"),
    "ansible-core": versionOf("ansible-playbook", ["--version"]),
    "OpenSSH client": versionOf("ssh", ["-V"]),
    "lab hosts": `Debian ${opts.release}`,
    ...gitInfo(opts.repoDir),
  };
  opts.log(
    `bench: work dir ${workDir}; project snapshot of ${versions["mpi-hosts commit"]} (uncommitted: ${versions["uncommitted in the measured tree"]})`,
  );
  const bench = new Bench(opts, tools);
  const onSignal = () => {
    opts.log("bench: interrupted, cleaning up labs and stacks...");
    bench.cleanup().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    await bench.run();
  } finally {
    await bench.cleanup();
    // Stacks were removed one by one; the snapshot, the backend and the Ansible projects (cluster keys) go too.
    // Only the per-operation logs stay, and only when something failed, to read why.
    fs.rmSync(projectDir, { recursive: true, force: true });
    fs.rmSync(path.join(workDir, "state"), { recursive: true, force: true });
    for (const d of fs.readdirSync(workDir).filter((d) => d.startsWith("ansible-")))
      fs.rmSync(path.join(workDir, d), { recursive: true, force: true });

    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  }
  const summary = summarize(bench.samples, opts.sizes);
  const result: BenchResult = {
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: machineInfo(),
    versions,
    settings: {
      sizes: opts.sizes,
      repeat: opts.repeat,
      release: opts.release,
      pulumiUp: opts.skipPreview ? "pulumi up --yes --skip-preview" : "pulumi up --yes (with its preview pass)",
      noChangeCheck: "pulumi preview --refresh --expect-no-changes; ansible-playbook --check (and a second real run)",
      ansible: "forks = hosts, pipelining, ControlPersist with a fresh control dir per run, gather_facts off, interpreter fixed",
      counting:
        "connections: iptables mangle PREROUTING --syn counter on each host; sessions: login-shell wrapper (one line per session channel)",
      pulumiEnv: opts.pulumiEnv ?? {},
      workDir,
    },
    samples: bench.samples,
    summary,
    equivalence: bench.equivalence,
    targets: checkTargets(summary, opts.sizes),
    problems: bench.problems,
  };
  if (!bench.problems.length) fs.rmSync(workDir, { recursive: true, force: true });
  else opts.log(`bench: logs of the failed operations are kept in ${path.join(workDir, "logs")}`);
  return result;
}
