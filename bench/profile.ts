/**
 * Where the time of a no-change `pulumi preview --refresh` goes, per cluster size, measured before anyone
 * optimizes. On one fresh lab per size, after one `pulumi up` (verification off):
 *  - program variants: the default (ts-node with type checking, as Pulumi runs a TypeScript project),
 *    PULUMI_NODEJS_TRANSPILE_ONLY=true (ts-node without type checking), and plain JavaScript compiled by tsc
 *    into bin/ of a scratch copy whose Pulumi.yaml points at bin/index.js (never the repository's);
 *  - for each: `pulumi preview` (program + engine + diffs, no SSH) and `pulumi preview --refresh`
 *    (the same plus one read per facet over SSH); the difference is the cost of refreshing;
 *  - one more default run with V8's profiler preloaded into every node process (NODE_OPTIONS=--require): self time per package in the program's node and in
 *    the provider plugin's node (typescript, ts-node, @pulumi/pulumi, grpc, ssh2, ...), and each process's
 *    lifetime;
 *  - SSH from this machine with the provider's own code (components/provider/remote.ts): handshake, one
 *    empty exec (a round trip), each facet's probe alone, all probes in one exec; and handshakes to every
 *    host at once;
 *  - node start-up and `require("@pulumi/pulumi")`.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadCluster, readStackFile } from "../components/config/load";
import { renderHost } from "../components/facets/index";
import { closeAll, Connection, runParts, runScript } from "../components/provider/remote";
import { Release } from "../lab/image";
import { Lab, renderLabStack, startLab, stopLab } from "../lab/lab";
import { installCounters, readCounters } from "./counters";
import { engineEnv, machineInfo, runQuiet, snapshotProject } from "./run";
import { spread, Spread } from "./stats";
import { benchLabName } from "./labName";

export interface ProfileOptions {
  sizes: number[];
  repoDir: string;
  release: Release;
  log: (line: string) => void;
  /** Runs per measurement (median taken); default 2. */
  runs?: number;
}

type Variant = "ts-typecheck" | "ts-transpile-only" | "compiled-js";

export interface SizeProfile {
  size: number;
  resources: number;
  previews: Record<
    Variant,
    {
      preview: Spread;
      previewRefresh: Spread;
      previewCpu: Spread;
      previewRefreshCpu: Spread;
      refreshCost: number;
      sessionsPerHost?: Spread;
      noChanges: boolean;
    }
  >;
  cpuProfile: Array<{ process: string; wallSeconds: number; cpuSeconds: number; selfSecondsByPackage: Record<string, number> }>;
  ssh: {
    handshakeMs: Spread;
    emptyExecMs: Spread;
    probeMs: Record<string, Spread>;
    allProbesOneExecMs: Spread;
    allProbesOneExecSudoParts: number;
    parallelHandshakeAllHostsMs: number;
  };
}

export interface ProfileResult {
  startedAt: string;
  machine: Record<string, unknown>;
  node: { startupMs: Spread; requirePulumiMs: Spread };
  sizes: SizeProfile[];
  problems: string[];
}

/** Wall seconds, and CPU seconds (user + system) of the whole process tree from /usr/bin/time. */
function seconds(
  _repoDir: string,
  env: NodeJS.ProcessEnv,
  cwd: string,
  args: string[],
): { s: number; cpu: number; code: number; out: string } {
  const t = process.hrtime.bigint();
  const r = runQuiet("/usr/bin/time", ["-f", "@time %U %S", "pulumi", ...args], { cwd, env });
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  const m = /@time ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr);
  return { s, cpu: m ? Number(m[1]) + Number(m[2]) : NaN, code: r.code, out: r.stdout + r.stderr };
}

/** Loaded with NODE_OPTIONS=--require into every node process Pulumi starts (--cpu-prof is not allowed there):
 * V8's profiler from the first line, written on exit or on the SIGINT/SIGTERM the engine stops plugins with. */
const PRELOAD = `const inspector = require("inspector");
const fs = require("fs");
const path = require("path");
const dir = process.env.MPI_HOSTS_CPU_PROFILE_DIR;
if (dir) {
  const session = new inspector.Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 1000 });
  session.post("Profiler.start");
  let written = false;
  const write = (why) => {
    if (written) return;
    written = true;
    session.post("Profiler.stop", (err, result) => {
      if (!err) fs.writeFileSync(path.join(dir, process.pid + "-" + why + ".cpuprofile"), JSON.stringify({ ...result.profile, argv: process.argv }));
    });
  };
  process.on("exit", () => write("exit"));
  for (const sig of ["SIGINT", "SIGTERM"]) {
    process.prependListener(sig, () => {
      write(sig);
      if (process.listenerCount(sig) === 1) process.exit(128 + (sig === "SIGINT" ? 2 : 15));
    });
  }
}
`;

function ms(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/** A scratch copy of the project that Pulumi runs as plain JavaScript (tsc output in bin/). */
function compiledCopy(repoDir: string, target: string): void {
  snapshotProject(repoDir, target);
  const r = runQuiet(
    path.join(repoDir, "node_modules", ".bin", "tsc"),
    ["-p", "tsconfig.json", "--outDir", "bin", "--sourceMap", "false"],
    { cwd: target },
  );
  if (!fs.existsSync(path.join(target, "bin", "index.js")))
    throw new Error(`bench profile: tsc gave no bin/index.js: ${r.stdout}${r.stderr}`);
  // The compiled modules look for templates/ and schemas/ relative to themselves.
  for (const dir of ["templates", "schemas"])
    if (!fs.existsSync(path.join(target, "bin", dir))) fs.symlinkSync(path.join(target, dir), path.join(target, "bin", dir));
  const yaml = fs
    .readFileSync(path.join(target, "Pulumi.yaml"), "utf8")
    .replace(/typescript: true/, "typescript: false")
    .replace(/^main: .*$/m, "main: bin/index.js");
  fs.writeFileSync(
    path.join(target, "Pulumi.yaml"),
    yaml.includes("main: bin/index.js") ? yaml : `${yaml.trimEnd()}\nmain: bin/index.js\n`,
  );
}

function packageOf(url: string, functionName: string): string {
  if (!url) {
    if (/^\((garbage collector|idle|program|root)\)$/.test(functionName)) return functionName;
    return "(native/builtin)";
  }
  if (url.startsWith("node:")) return "node core";
  if (/\/engine\/v[\d.]+\/bin\//.test(url)) return "language host stand-in";
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (m) {
    if (m[1] === "@pulumi/pulumi" && /runtime\/closure/.test(url)) return "@pulumi/pulumi (closure serialization)";
    return m[1];
  }
  if (/\/(components|index\.ts|index\.js|bin\/)/.test(url)) return "mpi-hosts code";
  return "other";
}

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}

/** Self time per package, from a V8 .cpuprofile (samples x time deltas). */
/** Which process a profile came from, by its command line. */
function processKind(argv: string[]): string {
  const line = argv.join(" ");
  if (/pulumi-language-nodejs/.test(line)) return "language host (node)";
  if (/provider\/plugin\/server/.test(line)) return "mpi-hosts provider plugin (node, ts-node)";
  if (/cmd\/dynamic-provider/.test(line)) return "dynamic provider (node)";
  if (/cmd\/run/.test(line)) return "program (node, ts-node)";
  if (/pulumi-resource-command/.test(line)) return "command provider (node)";
  return `node ${path.basename(argv[1] ?? "?")}`;
}

/** Self time per package, from a V8 CPU profile (samples x time deltas); `argv` is added by the preload. */
export function analyzeCpuProfile(file: string): {
  process: string;
  wallSeconds: number;
  cpuSeconds: number;
  selfSecondsByPackage: Record<string, number>;
} {
  const p = JSON.parse(fs.readFileSync(file, "utf8")) as {
    nodes: CpuProfileNode[];
    samples: number[];
    timeDeltas: number[];
    startTime: number;
    endTime: number;
    argv?: string[];
  };
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self: Record<string, number> = {};
  p.samples.forEach((id, i) => {
    const n = byId.get(id);
    const key = n ? packageOf(n.callFrame.url, n.callFrame.functionName) : "?";
    self[key] = (self[key] ?? 0) + (p.timeDeltas[i] ?? 0) / 1e6;
  });
  const cpuSeconds = Object.entries(self)
    .filter(([k]) => k !== "(idle)")
    .reduce((a, [, v]) => a + v, 0);
  const rounded = Object.fromEntries(
    Object.entries(self)
      .sort(([, a], [, b]) => b - a)
      .map(([k, v]) => [k, Math.round(v * 100) / 100]),
  );
  return {
    process: processKind(p.argv ?? []),
    wallSeconds: (p.endTime - p.startTime) / 1e6,
    cpuSeconds: Math.round(cpuSeconds * 100) / 100,
    selfSecondsByPackage: rounded,
  };
}

async function sshProfile(lab: Lab, stackFile: string, runs: number): Promise<SizeProfile["ssh"]> {
  const { cluster } = loadCluster(readStackFile(stackFile));
  if (!cluster) throw new Error(`bench profile: ${stackFile} does not load`);
  const privateKey = fs.readFileSync(lab.privateKeyPath, "utf8");
  const connOf = (i: number): Connection => {
    const h = cluster.hosts[i];
    return {
      name: h.name,
      address: h.address,
      port: h.port,
      user: h.user,
      login: { privateKey },
      hostKeys: h.hostKeys,
      connectTimeoutSeconds: 20,
    };
  };
  const facets = renderHost(
    cluster,
    cluster.hosts[0],
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPLACEHOLDERPLACEHOLDERPLACEHOLDERPLACEHO profile",
  );
  const time = async (fn: () => Promise<unknown>) => {
    const t = process.hrtime.bigint();
    await fn();
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  const handshake: number[] = [];
  const empty: number[] = [];
  const probes: Record<string, number[]> = {};
  const combined: number[] = [];
  for (let r = 0; r < runs + 1; r++) {
    await closeAll();
    // The first exec pays for the handshake; the second is a bare round trip.
    handshake.push(await time(() => runScript(connOf(0), "true", { step: "handshake" })));
    empty.push(await time(() => runScript(connOf(0), "true", { step: "empty exec" })));
    for (const f of facets) {
      (probes[f.facet] ??= []).push(
        await time(() => runScript(connOf(0), f.scripts.probe, { sudo: f.privileged, step: `${f.facet} probe` })),
      );
    }
    combined.push(
      await time(() =>
        runParts(
          connOf(0),
          facets.map((f) => ({ script: f.scripts.probe, sudo: f.privileged, step: `${f.facet} probe` })),
          60,
        ),
      ),
    );
  }
  await closeAll();
  const parallel = await time(() => Promise.all(cluster.hosts.map((_, i) => runScript(connOf(i), "true", { step: "handshake" }))));
  await closeAll();
  // The first round is a warm-up (page cache, sshd's first fork).
  const s = (xs: number[]) => spread(xs.slice(1))!;
  return {
    handshakeMs: s(handshake),
    emptyExecMs: s(empty),
    probeMs: Object.fromEntries(Object.entries(probes).map(([k, v]) => [k, s(v)])),
    allProbesOneExecMs: s(combined),
    allProbesOneExecSudoParts: facets.filter((f) => f.privileged).length,
    parallelHandshakeAllHostsMs: Math.round(parallel),
  };
}

export async function runProfile(opts: ProfileOptions): Promise<ProfileResult> {
  const runs = opts.runs ?? 2;
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "mpi-hosts-profile-"));
  const env = engineEnv(opts.repoDir, workDir);
  const dirs: Record<Variant, string> = {
    "ts-typecheck": path.join(workDir, "project"),
    "ts-transpile-only": path.join(workDir, "project"),
    "compiled-js": path.join(workDir, "project-js"),
  };
  snapshotProject(opts.repoDir, dirs["ts-typecheck"]);
  compiledCopy(opts.repoDir, dirs["compiled-js"]);
  const envOf = (v: Variant): NodeJS.ProcessEnv => (v === "ts-transpile-only" ? { ...env, PULUMI_NODEJS_TRANSPILE_ONLY: "true" } : env);
  const node = process.execPath;
  const startup = Array.from({ length: 5 }, () => ms(() => runQuiet(node, ["-e", ""])));
  const requirePulumi = Array.from({ length: 3 }, () =>
    ms(() => runQuiet(node, ["-e", "require('@pulumi/pulumi')"], { cwd: opts.repoDir })),
  );
  const result: ProfileResult = {
    startedAt: new Date().toISOString(),
    machine: machineInfo(),
    node: { startupMs: spread(startup)!, requirePulumiMs: spread(requirePulumi)! },
    sizes: [],
    problems: [],
  };
  const live: string[] = [];
  const onSignal = () => {
    opts.log("profile: interrupted, stopping its labs...");
    Promise.all(live.map((name) => stopLab(name).catch(() => undefined))).finally(() => {
      fs.rmSync(workDir, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    for (const size of opts.sizes) {
      const name = benchLabName(`bench-f${size}`);
      opts.log(`profile: ${size} hosts`);
      live.push(name);
      const lab = await startLab({ name, hosts: size, release: opts.release });
      try {
        await installCounters(lab);
        const stackText = renderLabStack(lab).replace(/(mpi-hosts:verify:\n)/, "$1    enabled: false\n");
        for (const d of new Set(Object.values(dirs))) fs.writeFileSync(path.join(d, `Pulumi.${name}.yaml`), stackText);
        const init = runQuiet("pulumi", ["stack", "init", name, "--non-interactive"], { cwd: dirs["ts-typecheck"], env });
        if (init.code !== 0) throw new Error(`pulumi stack init: ${init.stderr}`);
        // Both copies share the stack (same project name, same backend): copy the salt over.
        fs.copyFileSync(path.join(dirs["ts-typecheck"], `Pulumi.${name}.yaml`), path.join(dirs["compiled-js"], `Pulumi.${name}.yaml`));
        const up = seconds(opts.repoDir, env, dirs["ts-typecheck"], [
          "up",
          "--yes",
          "--skip-preview",
          "--stack",
          name,
          "--non-interactive",
        ]);
        if (up.code !== 0) throw new Error(`pulumi up failed: ${up.out.slice(-800)}`);
        opts.log(`  pulumi up: ${up.s.toFixed(1)} s`);
        const previews = {} as SizeProfile["previews"];
        for (const v of Object.keys(dirs) as Variant[]) {
          const plain: number[] = [];
          const refresh: number[] = [];
          const plainCpu: number[] = [];
          const refreshCpu: number[] = [];
          let noChanges = true;
          let sessions: Spread | undefined;
          for (let r = 0; r < runs; r++) {
            const a = seconds(opts.repoDir, envOf(v), dirs[v], ["preview", "--stack", name, "--non-interactive"]);
            if (a.code !== 0) throw new Error(`${v} pulumi preview failed: ${a.out.slice(-800)}`);
            plain.push(a.s);
            plainCpu.push(a.cpu);
            await readCounters(lab);
            const b = seconds(opts.repoDir, envOf(v), dirs[v], [
              "preview",
              "--refresh",
              "--expect-no-changes",
              "--stack",
              name,
              "--non-interactive",
            ]);
            const counts = await readCounters(lab);
            sessions = spread(counts.map((c) => c.sessions));
            if (b.code !== 0) noChanges = false;
            refresh.push(b.s);
            refreshCpu.push(b.cpu);
          }
          const p = spread(plain)!;
          const rf = spread(refresh)!;
          previews[v] = {
            preview: p,
            previewRefresh: rf,
            previewCpu: spread(plainCpu)!,
            previewRefreshCpu: spread(refreshCpu)!,
            refreshCost: Math.round((rf.median - p.median) * 100) / 100,
            sessionsPerHost: sessions,
            noChanges,
          };
          opts.log(
            `  ${v}: preview ${p.median.toFixed(1)} s (cpu ${previews[v].previewCpu.median.toFixed(1)} s), preview --refresh ${rf.median.toFixed(1)} s (cpu ${previews[v].previewRefreshCpu.median.toFixed(1)} s)${noChanges ? "" : " (reported changes)"}`,
          );
        }
        const profDir = path.join(workDir, `cpuprof-${size}`);
        fs.mkdirSync(profDir);
        const preload = path.join(workDir, "cpu-profile-preload.js");
        fs.writeFileSync(preload, PRELOAD);
        const profiled = { ...env, NODE_OPTIONS: `--require ${preload}`, MPI_HOSTS_CPU_PROFILE_DIR: profDir };
        seconds(opts.repoDir, profiled, dirs["ts-typecheck"], ["preview", "--refresh", "--stack", name, "--non-interactive"]);
        const cpuProfile = fs
          .readdirSync(profDir)
          .filter((f) => f.endsWith(".cpuprofile"))
          .map((f) => analyzeCpuProfile(path.join(profDir, f)))
          .filter((p) => p.cpuSeconds > 0.05);
        const ssh = await sshProfile(lab, path.join(dirs["ts-typecheck"], `Pulumi.${name}.yaml`), runs + 1);
        result.sizes.push({ size, resources: 6 * size + 3, previews, cpuProfile, ssh });
        runQuiet("pulumi", ["stack", "rm", name, "--force", "--yes", "--non-interactive"], { cwd: dirs["ts-typecheck"], env });
      } catch (err) {
        result.problems.push(`${size} hosts: ${(err as Error).message}`);
        opts.log(`  FAILED: ${(err as Error).message}`);
      } finally {
        await stopLab(name);
        live.splice(live.indexOf(name), 1);
      }
    }
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    for (const name of live) await stopLab(name).catch(() => undefined);
    fs.rmSync(workDir, { recursive: true, force: true });
  }
  return result;
}

export function formatProfile(r: ProfileResult): string {
  const lines: string[] = [];
  const f = (x: number) => x.toFixed(1);
  lines.push(
    `node start-up ${r.node.startupMs.median.toFixed(0)} ms, require("@pulumi/pulumi") ${r.node.requirePulumiMs.median.toFixed(0)} ms (median)`,
  );
  for (const s of r.sizes) {
    lines.push(`\n${s.size} hosts (${s.resources} resources):`);
    for (const [v, p] of Object.entries(s.previews)) {
      lines.push(
        `  ${v.padEnd(18)} preview ${f(p.preview.median)} s, preview --refresh ${f(p.previewRefresh.median)} s (refresh adds ${f(p.refreshCost)} s)`,
      );
    }
    for (const c of s.cpuProfile) {
      const top = Object.entries(c.selfSecondsByPackage)
        .filter(([k]) => k !== "(idle)")
        .slice(0, 6)
        .map(([k, v]) => `${k} ${v.toFixed(2)}`)
        .join(", ");
      lines.push(`  cpu ${c.process}: alive ${f(c.wallSeconds)} s, busy ${f(c.cpuSeconds)} s: ${top}`);
    }
    const probes = Object.entries(s.ssh.probeMs)
      .map(([k, v]) => `${k} ${v.median.toFixed(0)}`)
      .join(", ");
    lines.push(
      `  ssh: handshake+first exec ${s.ssh.handshakeMs.median.toFixed(0)} ms, empty exec ${s.ssh.emptyExecMs.median.toFixed(0)} ms, probes alone (ms) ${probes}, all probes in one exec ${s.ssh.allProbesOneExecMs.median.toFixed(0)} ms, handshakes to all ${s.size} hosts at once ${s.ssh.parallelHandshakeAllHostsMs} ms`,
    );
  }
  for (const p of r.problems) lines.push(`problem: ${p}`);
  return lines.join("\n");
}
