/**
 * Soak: the verification job many times in a row on one healthy lab, counting the runs that fail at random
 * (issue 14: the concurrent pingpong mpiruns of a round took each other's runtime ports).
 *   npm run bench -- verify-soak [--rounds 20] [--hosts 5] [--release trixie|bookworm]
 *     [--tests helloworld,ringtest,pingpong] [--name NAME (default soak-<pid>)] [--out FILE]
 * Root (it starts a lab); not part of npm test. Prints each run and a summary and writes a JSON result (default
 * bench/results/verify-soak-<release>-<commit>.json). A measurement: exits 1 only when it could not run, never
 * because runs failed. The lab is stopped at the end, on error and on Ctrl-C.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { VerifyTest } from "../components/config/types";
import { closeAll, RemoteError } from "../components/provider/remote";
import { Failure } from "../components/verify/report";
import { runVerification } from "../components/verify/run";
import { Release } from "../lab/image";
import { Lab, rootExec, stopLab } from "../lab/lab";
import { sshExec } from "../lab/harness/labHelpers";
import { startVerifyLab } from "../lab/harness/verifyLab";
import { machineInfo, runQuiet } from "./run";
import { spread } from "./stats";

const repoDir = path.join(__dirname, "..");

interface SoakRun {
  run: number;
  ok: boolean;
  seconds: number;
  /** 1-minute load average of this machine when the run started. */
  load1: number;
  /** Processes of a run before that were still there when this one started (killed first; see killStrays). */
  strays: number;
  failedStage: string | null;
  /** The report's failure messages, or why there was no report. */
  failures: string[];
  /** Tests the job skipped, with why ("pingpong: ... needs mpi4py 4.0 or later"): a pass that did not test them. */
  skipped: string[];
  /** Pingpong pairs whose mpirun failed ("host1-host3"), from the report or the job's stderr. */
  failedPairs: string[];
  /** mpiruns the job tried once more after a runtime launch failure, and how the second try ended (jobs since issue 14). */
  retries: string[];
  /** Failed runs: the job's stderr lines that quote mpirun's output, or its last stderr lines when it gave no report. */
  mpirunTail?: string[];
}

// The job's shells and MPI processes, as the lab user (sshd's own processes are not among these names).
const STRAYS = "-u mpi -x 'sh|timeout|mpirun|prterun|orterun|prted|orted|python3'";

/**
 * A run that hangs past the job's overall limit can leave its processes behind (before issue 14 the job's `timeout`
 * sent SIGTERM only, which a stuck prterun survives). They would hold ports and slots in every run after, so each
 * run starts on a healthy lab: kill them on every host and count them (a count above 0 is printed with the run).
 */
async function killStrays(lab: Lab): Promise<number> {
  const counts = await Promise.all(
    lab.hosts.map(async (h) => Number((await rootExec(lab, h.name, `pgrep -c ${STRAYS}; pkill -KILL ${STRAYS}; true`)).stdout.trim()) || 0),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/** Each distinct item with how often it occurs, most frequent first. */
function countOf(items: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[item] = (counts[item] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)));
}

const loadavg = () => fs.readFileSync("/proc/loadavg", "utf8").trim();
const log = (line: string) => process.stdout.write(`${line}\n`);

export interface SoakOptions {
  /** Verification runs, one after the other. */
  rounds: number;
  hosts: number;
  release: Release;
  tests: VerifyTest[];
  /** The lab's name. */
  name: string;
  /** The JSON result; default bench/results/verify-soak-<release>-<commit>.json. */
  out?: string;
}

/** JSON as the repository's prettier formats it (as cli/bench.ts writes results), so that it passes `npm run lint`. */
async function writeJson(file: string, value: unknown): Promise<void> {
  const prettier = await import("prettier");
  const config = await prettier.resolveConfig(file);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, await prettier.format(JSON.stringify(value), { ...config, parser: "json" }));
}

/** A measurement: returns 0 when it ran, whatever the runs found; throws when it could not run. */
export async function runVerifySoak(opts: SoakOptions): Promise<number> {
  const commit = runQuiet("git", ["rev-parse", "--short", "HEAD"], { cwd: repoDir }).stdout.trim();
  const uncommitted = runQuiet("git", ["status", "--porcelain", "--", "components", "templates", "lab", "cli", "index.ts"], {
    cwd: repoDir,
  })
    .stdout.split("\n")
    .filter(Boolean)
    .map((l) => l.trim());
  const out = opts.out ?? path.join(repoDir, "bench", "results", `verify-soak-${opts.release}-${commit}.json`);
  // Rewritten after every run, so that an interrupted soak still leaves its figures.
  const partial = out.replace(/(\.json)?$/, ".partial.json");
  const startedAt = new Date().toISOString();
  const loadAtStart = loadavg();
  const runs: SoakRun[] = [];
  let versions = { openmpi: "?", mpi4py: "?" };
  const resultNow = () => {
    const failed = runs.filter((r) => !r.ok);
    return {
      startedAt,
      finishedAt: new Date().toISOString(),
      commit,
      "uncommitted in the measured tree": uncommitted.length ? uncommitted.join(", ") : "none",
      machine: { ...machineInfo(), nproc: os.availableParallelism(), loadavgAtStart: loadAtStart, loadavgAtEnd: loadavg() },
      versions: { node: process.version, ...versions },
      settings: { rounds: opts.rounds, hosts: opts.hosts, release: opts.release, tests: opts.tests, lab: opts.name },
      failures: failed.length,
      runsDone: runs.length,
      seconds: spread(runs.map((r) => r.seconds)),
      failureMessages: countOf(failed.flatMap((r) => r.failures)),
      failedPairs: countOf(failed.flatMap((r) => r.failedPairs)),
      skipped: countOf(runs.flatMap((r) => r.skipped)),
      retries: countOf(runs.flatMap((r) => r.retries)),
      runs,
    };
  };

  // Once: Ctrl-C ends the run in progress, whose `finally` would stop the lab a second time meanwhile.
  let stopping: Promise<void> | undefined;
  const cleanup = () => (stopping ??= closeAll().then(() => stopLab(opts.name)));
  const onSignal = () => {
    log(`soak: interrupted, stopping lab '${opts.name}'${runs.length ? `; the runs so far are in ${partial}` : ""}`);
    cleanup().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  log(`soak: starting lab '${opts.name}' (${opts.hosts} ${opts.release} hosts) and applying every facet... (load ${loadAtStart})`);
  try {
    const { lab, cluster } = await startVerifyLab({ name: opts.name, hosts: opts.hosts, release: opts.release });
    const key = fs.readFileSync(lab.privateKeyPath, "utf8");
    const v = await sshExec(lab, "host1", "mpirun --version 2>&1 | head -n 1; python3 -c 'import mpi4py; print(mpi4py.__version__)'");
    const [openmpi = "?", mpi4py = "?"] = v.stdout.trim().split("\n");
    versions = { openmpi, mpi4py };
    log(`soak: ${versions.openmpi}, mpi4py ${versions.mpi4py}; commit ${commit}; ${opts.rounds} runs of ${opts.tests.join(",")}`);
    // Reports name a failed pair in from/to; before issue 14 the job named it only where it quoted mpirun's output
    // on stderr, as "mpi-hosts:   A-B | ...".
    const pairNames = cluster.hosts.flatMap((a) => cluster.hosts.map((b) => `${a.name}-${b.name}`));
    const failedPairsIn = (stderr: string[], failures: Failure[]) =>
      pairNames.filter(
        (p) =>
          failures.some((f) => f.stage === "pingpong" && `${f.from}-${f.to}` === p) ||
          stderr.some((l) => l.startsWith(`mpi-hosts:   ${p} | `)),
      );

    for (let i = 1; i <= opts.rounds; i++) {
      const load1 = Number(loadavg().split(" ")[0]);
      const strays = await killStrays(lab);
      if (strays) await closeAll();
      const started = Date.now();
      let run: SoakRun;
      try {
        const r = await runVerification(cluster, { privateKey: key }, { tests: opts.tests });
        const ok = r.code === 0 && r.report?.ok === true;
        const stderr = r.stderr.split("\n");
        run = {
          run: i,
          ok,
          seconds: r.seconds,
          load1,
          strays,
          failedStage: r.report?.failedStage ?? (ok ? null : "(no report)"),
          failures: r.report?.failures.map((f) => f.message) ?? [r.problem ?? `exit ${r.code}, no report`],
          skipped: (r.report?.stages ?? []).filter((st) => st.status === "skip").map((st) => `${st.name}: ${st.detail ?? "skipped"}`),
          failedPairs: failedPairsIn(stderr, r.report?.failures ?? []),
          retries: (r.report?.retries ?? []).map(
            (t) => `${t.stage} ${t.to ? `${t.from}-${t.to}` : `from ${t.from}`}: ${t.reason} -> ${t.result}`,
          ),
          mpirunTail: ok ? undefined : stderr.filter((l) => l.startsWith("mpi-hosts:   ")).slice(0, 60),
        };
      } catch (err) {
        // No report: ssh to the head failed, or the job outlived its overall limit (a hang). Still a failed run.
        const seconds = (Date.now() - started) / 1000;
        const stderr = ((err as RemoteError).result?.stderr ?? "").trim().split("\n");
        run = {
          run: i,
          ok: false,
          seconds,
          load1,
          strays,
          failedStage: "(no report)",
          failures: [(err as Error).message],
          skipped: [],
          failedPairs: failedPairsIn(stderr, []),
          retries: [],
          mpirunTail: stderr.slice(-40),
        };
      }
      if (stopping) break; // cut short by Ctrl-C: not a run to count
      runs.push(run);
      fs.writeFileSync(partial, `${JSON.stringify(resultNow(), null, 2)}\n`);
      const what = run.ok ? run.skipped.map((m) => `  skipped ${m}`).join("") : `  ${run.failedStage}: ${run.failures.join(" | ")}`;
      const retried = run.retries.map((m) => `  tried once more: ${m}`).join("");
      const pairs = run.failedPairs.length ? ` [failed pairs: ${run.failedPairs.join(", ")}]` : "";
      log(
        `run ${String(i).padStart(2)}/${opts.rounds}  ${run.ok ? "pass" : "FAIL"}  ${run.seconds.toFixed(1)} s  (load ${load1}${strays ? `; killed ${strays} processes left by the run before` : ""})${what}${retried}${pairs}`,
      );
    }
  } finally {
    await cleanup();
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  }

  const result = resultNow();
  await writeJson(out, result);
  fs.rmSync(partial, { force: true });
  const { seconds, failureMessages: messages, failedPairs: pairs } = result;
  const loadAtEnd = result.machine.loadavgAtEnd;

  const f = (x: number) => x.toFixed(1);
  log("");
  log(
    `soak: ${opts.rounds} runs of ${opts.tests.join(",")} on ${opts.hosts} healthy ${opts.release} lab hosts (${versions.openmpi}, mpi4py ${versions.mpi4py}), commit ${commit}`,
  );
  log(`  failures: ${result.failures} of ${runs.length}`);
  if (seconds) log(`  seconds per run: median ${f(seconds.median)}, min ${f(seconds.min)}, max ${f(seconds.max)}`);
  log(
    `  load average (1/5/15 min): at start ${loadAtStart.split(" ").slice(0, 3).join(" ")}, at end ${loadAtEnd.split(" ").slice(0, 3).join(" ")}`,
  );
  for (const [m, n] of Object.entries(messages)) log(`  ${n}x ${m}`);
  for (const [m, n] of Object.entries(result.skipped)) log(`  skipped in ${n} runs: ${m}`);
  for (const [m, n] of Object.entries(result.retries)) log(`  ${n}x tried once more: ${m}`);
  if (Object.keys(pairs).length)
    log(
      `  failed pingpong pairs: ${Object.entries(pairs)
        .map(([p, n]) => `${p} ${n}x`)
        .join(", ")}`,
    );
  log(`written: ${out}`);
  return 0;
}
