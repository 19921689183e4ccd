/**
 * `npm run bench`: mpi-hosts against an equivalent Ansible playbook on lab hosts (the default, see docs/performance.md),
 * and the measurements that each answer one question (`profile`, `concurrent-jobs`, `verify-failfast`, `verify-soak`).
 * Options are parsed here; bench/ takes them typed and imports nothing from cli/.
 */
import * as fs from "fs";
import * as path from "path";
import { requireClone } from "./clone";
import { ParsedArgs, UsageError } from "./args";
import { CommandGroup, CommandTable, defineCommand, formatCommandList, oneLineSubcommands, runnerOf } from "./command";
import { VERIFY_TEST_VALUES, VerifyTest } from "../components/config/types";
import { isRelease, Release, RELEASES } from "../lab/image";
import { commandLine, usageLines } from "./usage";
import { benchLabName } from "../bench/labName";

const RELEASE_CHOICES = RELEASES.join("|");

const SUBCOMMAND_HELP = {
  profile: `${usageLines("bench", `profile [--sizes 5,20,50] [--release ${RELEASE_CHOICES}] [--out FILE]`)}

Where the time of a no-change preview --refresh goes (engine, program start-up, ts-node, provider, SSH handshake,
script run time), per size, on fresh lab hosts (needs root), see bench/profile.ts. Prints a table and writes JSON
(default bench/results/profile-<date>.json).
`,
  "concurrent-jobs": `${usageLines("bench", `concurrent-jobs [--release ${RELEASE_CHOICES}] [--rounds 12] [--at-once 2]`)}

Concurrent mpiruns on 3 lab hosts configured by mpi-hosts, firewall on (needs root): with the runtime on ephemeral
ports (the default), then on a fixed range (oobPorts: 50100-50199, the default before issue 14). Each round starts
--at-once (1-4) \`mpirun -n 2 ... mpi4py.bench helloworld\` from host1 together, each killed at 40 s. Prints, per
setting, how many jobs failed and the first meaningful line of each failure; exit 1 only when it could not run.
`,
  "verify-failfast": `${usageLines("bench", "verify-failfast")}

How fast the verification job says what is wrong (docs/verify.md), on a 3-host trixie lab with every facet applied
(needs root): the healthy job's time, then with the BTL range dropped from host1 on host3 the job's time to fail
against plain \`mpirun --hostfile ... ringtest\` (killed at 60 s). Prints the figures; exit 1 when a figure is not
what it claims, or when it could not run.
`,
  "verify-soak": `${usageLines(
    "bench",
    `verify-soak [--rounds 20] [--hosts 5] [--release ${RELEASE_CHOICES}]`,
    `[--tests ${VERIFY_TEST_VALUES.join(",")}] [--name NAME] [--out FILE]`,
  )}

The verification job many times in a row on one healthy lab (needs root), counting the runs that fail at random.
Prints each run and a summary and writes JSON (default bench/results/verify-soak-<release>-<commit>.json). A
measurement: exit 1 only when it could not run, never because runs failed. The lab (--name, default soak-<pid>, so
that two soaks at once do not stop each other's) is stopped at the end, on error and on Ctrl-C.
`,
};

const subcommands: CommandTable = {
  profile: {
    summary: "where the time of a no-change preview --refresh goes, per size",
    load: async () =>
      measurement("profile", ["sizes", "release", "out"], { 0: "measured", 1: "it could not run, or a usage error" }, runProfileCommand),
  },
  "concurrent-jobs": {
    summary: "concurrent mpiruns from one host, runtime on ephemeral ports against a fixed range",
    load: async () =>
      measurement(
        "concurrent-jobs",
        ["release", "rounds", "at-once"],
        { 0: "measured (failed jobs are figures)", 1: "it could not run, or a usage error" },
        runConcurrentJobsCommand,
      ),
  },
  "verify-failfast": {
    summary: "how fast the verification job names a blocked pair, against plain mpirun",
    load: async () =>
      measurement(
        "verify-failfast",
        [],
        { 0: "measured, every figure as claimed", 1: "a figure not as claimed, it could not run, or a usage error" },
        async () => (await import("../bench/verify-failfast")).runVerifyFailfast(),
      ),
  },
  "verify-soak": {
    summary: "the verification job many times in a row on one healthy lab, counting random failures",
    load: async () =>
      measurement(
        "verify-soak",
        ["rounds", "hosts", "release", "tests", "name", "out"],
        { 0: "measured (failed runs are figures)", 1: "it could not run, or a usage error" },
        runVerifySoakCommand,
      ),
  },
};

const help = `${usageLines(
  "bench",
  "[--sizes 5,20,50] [--repeat 3] [--out FILE] [--only pulumi,ansible,verify]",
  `[--release ${RELEASE_CHOICES}] [--skip-preview] [--timeout SECONDS] [--pulumi-env K=V,...] [--no-counters]`,
)}
       ${commandLine("bench", "<subcommand> [options]")}

Starts fresh lab hosts (needs root) and measures, per size and repeat: pulumi up from nothing (verification
off, then on), a no-change pulumi preview --refresh, the drift command, and the same converge
and no-change check (--check, and a second run) done by bench/ansible/site.yml; with SSH connections and
session channels (round trips) counted on every host. Prints a table and writes JSON (default
bench/results/<date>.json). Not part of npm test: it takes tens of minutes for 5,20,50.
Needs ansible-playbook: scripts/bench-setup.sh installs it from Debian's packages.
Exit 0: measured, no problem; exit 1: a problem in a run (listed, and in the JSON), or a usage error.

subcommands (each starts its own lab; run one with --help for its options):
${formatCommandList(subcommands)}
`;

function positiveInts(text: string, what: string): number[] {
  const values = text.split(",").map((s) => Number(s.trim()));
  if (!values.length || values.some((v) => !Number.isInteger(v) || v < 1))
    throw new UsageError(`${what} must be positive integers, got '${text}'`);
  return values;
}

type Options = ParsedArgs["options"];

const text = (o: Options, key: string): string | undefined => (typeof o[key] === "string" ? o[key] : undefined);

function positiveInt(o: Options, key: string, fallback: number): number {
  const value = text(o, key);
  return value === undefined ? fallback : positiveInts(value, `--${key}`)[0];
}

function releaseOf(o: Options): Release {
  const release = text(o, "release") ?? "trixie";
  if (!isRelease(release)) throw new UsageError(`--release must be trixie or bookworm, got '${release}'`);
  return release;
}

/** JSON as the repository's prettier formats it, so that a committed result passes `npm run lint`. */
async function writeJson(file: string, value: unknown): Promise<void> {
  let text = `${JSON.stringify(value, null, 2)}\n`;
  try {
    const prettier = await import("prettier");
    text = await prettier.format(text, { parser: "json", printWidth: 140 });
  } catch {
    // prettier is a dev dependency: plain JSON is fine too
  }
  fs.writeFileSync(file, text);
}

function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of text.split(",").filter(Boolean)) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(pair.trim());
    if (!m) throw new UsageError(`--pulumi-env takes NAME=VALUE pairs separated by commas, got '${pair}'`);
    env[m[1]] = m[2];
  }
  return env;
}

/**
 * A measurement subcommand: its options are checked before anything starts (a usage error); what stops it once
 * started (a lab that does not come up) is said in one line, `bench <subcommand>: could not run: <message>`, exit 1.
 */
const oneLine = oneLineSubcommands("bench", SUBCOMMAND_HELP, { prefix: "could not run: " });
// Each measures this repository (its labs, its results folder): refused from the installed package, as the default is.
const measurement: typeof oneLine = (name, values, exitCodes, handler) =>
  oneLine(name, values, { ...exitCodes, 1: `${exitCodes[1]}, or run from the installed package` }, async (options) => {
    requireClone("bench");
    return handler(options);
  });

const repoDir = path.resolve(__dirname, "..");
const stamp = () => new Date().toISOString().replace(/[:.]/g, "-");

async function runProfileCommand(o: Options): Promise<number> {
  const sizes = positiveInts(text(o, "sizes") ?? "5,20,50", "--sizes");
  const release = releaseOf(o);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const { runProfile, formatProfile } = await import("../bench/profile");
  const result = await runProfile({ sizes, repoDir, release, log });
  const out = text(o, "out") ?? path.join(repoDir, "bench", "results", `profile-${stamp()}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  await writeJson(out, result);
  process.stdout.write(`${formatProfile(result)}\nwritten: ${out}\n`);
  return 0;
}

async function runConcurrentJobsCommand(o: Options): Promise<number> {
  const release = releaseOf(o);
  const rounds = positiveInt(o, "rounds", 12);
  const { runConcurrentJobs, MAX_AT_ONCE } = await import("../bench/concurrent-jobs");
  const atOnce = positiveInt(o, "at-once", 2);
  if (atOnce > MAX_AT_ONCE) throw new UsageError(`--at-once takes 1 to ${MAX_AT_ONCE}, got ${atOnce}`);
  await runConcurrentJobs({ release, rounds, atOnce });
  return 0;
}

async function runVerifySoakCommand(o: Options): Promise<number> {
  const tests = (text(o, "tests") ?? VERIFY_TEST_VALUES.join(",")).split(",") as VerifyTest[];
  if (tests.some((t) => !VERIFY_TEST_VALUES.includes(t)))
    throw new UsageError(`--tests takes a comma-separated list of ${VERIFY_TEST_VALUES.join(", ")}`);
  const options = {
    rounds: positiveInt(o, "rounds", 20),
    hosts: positiveInt(o, "hosts", 5),
    release: releaseOf(o),
    tests,
    name: text(o, "name") ?? benchLabName("soak"),
    out: text(o, "out"),
  };
  return (await import("../bench/verify-soak")).runVerifySoak(options);
}

/** The default: no subcommand named. */
const measure = defineCommand({
  name: "bench",
  help,
  flags: ["skip-preview", "no-counters"],
  values: ["sizes", "repeat", "out", "only", "release", "timeout", "pulumi-env"],
  exitCodes: {
    0: "measured, no problem",
    1: "a problem in a run (listed, and in the JSON), a usage error, or run from the installed package",
  },
  run: runBenchCommand,
});

export const command: CommandGroup = {
  name: "bench",
  noun: "subcommand",
  help,
  subcommands,
  default: { summary: "mpi-hosts against Ansible, per size", load: async () => measure },
};

export const run = runnerOf(command);

async function runBenchCommand(parsed: ParsedArgs): Promise<number> {
  requireClone("bench");
  const o = parsed.options;
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const sizes = positiveInts(typeof o.sizes === "string" ? o.sizes : "5,20,50", "--sizes");
  const release = releaseOf(o);
  const repeat = positiveInts(typeof o.repeat === "string" ? o.repeat : "3", "--repeat")[0];
  const groupNames = (typeof o.only === "string" ? o.only : "pulumi,ansible,verify").split(",").map((s) => s.trim());
  const bad = groupNames.filter((g) => !["pulumi", "ansible", "verify"].includes(g));
  if (bad.length) throw new UsageError(`--only takes pulumi, ansible and verify, got '${bad.join(",")}'`);
  const timeoutSeconds = typeof o.timeout === "string" ? positiveInts(o.timeout, "--timeout")[0] : 1800;
  const { runBench, formatTable } = await import("../bench/run");
  const out = typeof o.out === "string" ? o.out : path.join(repoDir, "bench", "results", `${stamp()}.json`);
  const partial = out.replace(/(\.json)?$/, ".partial.json");
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const result = await runBench({
    onProgress: (samples, problems) => fs.writeFileSync(partial, `${JSON.stringify({ samples, problems }, null, 2)}\n`),
    sizes,
    repeat,
    repoDir,
    release,
    skipPreview: o["skip-preview"] === true,
    noCounters: o["no-counters"] === true,
    groups: new Set(groupNames as Array<"pulumi" | "ansible" | "verify">),
    timeoutSeconds,
    pulumiEnv: parseEnv(typeof o["pulumi-env"] === "string" ? o["pulumi-env"] : ""),
    log,
  });
  await writeJson(out, result);
  fs.rmSync(partial, { force: true });
  const lines = [
    "",
    formatTable(result, sizes),
    ...result.targets.map((t) => `${t.met === undefined ? "?" : t.met ? "met" : "NOT met"}: ${t.target} (${t.measured})`),
    ...Object.entries(result.equivalence).map(
      ([k, v]) =>
        `equivalence, ${k}: ${v.same ? "pulumi and ansible left host1 the same" : `${v.differences.length} lines differ (see JSON)`}`,
    ),
    ...result.problems.map((p) => `problem: ${p}`),
    `written: ${out}`,
    "",
  ];
  process.stdout.write(lines.join("\n"));
  return result.problems.length ? 1 : 0;
}
