/** `npm run bench`: mpi-hosts against an equivalent Ansible playbook on lab hosts (see docs/performance.md). */
import * as fs from "fs";
import * as path from "path";
import { requireClone } from "./clone";
import { ParsedArgs, UsageError } from "./args";
import { defineCommand, runnerOf } from "./command";
import { isRelease } from "../lab/image";

const help = `usage: npm run bench -- [--sizes 5,20,50] [--repeat 3] [--out FILE] [--only pulumi,ansible,verify]
                       [--release trixie|bookworm] [--skip-preview] [--timeout SECONDS] [--pulumi-env K=V,...] [--no-counters]
       npm run bench -- profile [--sizes 5,20,50] [--out FILE]

Starts fresh lab hosts (needs root) and measures, per size and repeat: pulumi up from nothing (verification
off, then on), a no-change pulumi preview --refresh, npm run drift, and the same converge
and no-change check (--check, and a second run) done by bench/ansible/site.yml; with SSH connections and
session channels (round trips) counted on every host. Prints a table and writes JSON (default
bench/results/<date>.json). Not part of npm test: it takes tens of minutes for 5,20,50.
Needs ansible-playbook: scripts/bench-setup.sh installs it from Debian's packages.

profile: where the time of a no-change preview --refresh goes (engine, program start-up, ts-node, provider,
SSH handshake, script run time), see bench/profile.ts.
`;

function positiveInts(text: string, what: string): number[] {
  const values = text.split(",").map((s) => Number(s.trim()));
  if (!values.length || values.some((v) => !Number.isInteger(v) || v < 1))
    throw new UsageError(`${what} must be positive integers, got '${text}'`);
  return values;
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

export const command = defineCommand({
  name: "bench",
  help,
  flags: ["skip-preview", "no-counters"],
  values: ["sizes", "repeat", "out", "only", "release", "timeout", "pulumi-env"],
  positionals: true, // `profile`
  exitCodes: {
    0: "measured, no problem",
    1: "a problem in a run (listed, and in the JSON), a usage error, or run from the installed package",
  },
  run: runBenchCommand,
});

export const run = runnerOf(command);

async function runBenchCommand(parsed: ParsedArgs): Promise<number> {
  requireClone("bench");
  const o = parsed.options;
  const repoDir = path.resolve(__dirname, "..");
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const sizes = positiveInts(typeof o.sizes === "string" ? o.sizes : "5,20,50", "--sizes");
  const release = typeof o.release === "string" ? o.release : "trixie";
  if (!isRelease(release)) throw new UsageError(`--release must be trixie or bookworm, got '${release}'`);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  if (parsed.positionals[0] === "profile") {
    const { runProfile, formatProfile } = await import("../bench/profile");
    const result = await runProfile({ sizes, repoDir, release, log });
    const out = typeof o.out === "string" ? o.out : path.join(repoDir, "bench", "results", `profile-${stamp}.json`);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    await writeJson(out, result);
    process.stdout.write(`${formatProfile(result)}\nwritten: ${out}\n`);
    return 0;
  }
  if (parsed.positionals.length) throw new UsageError(`unexpected argument '${parsed.positionals[0]}'`);
  const repeat = positiveInts(typeof o.repeat === "string" ? o.repeat : "3", "--repeat")[0];
  const groupNames = (typeof o.only === "string" ? o.only : "pulumi,ansible,verify").split(",").map((s) => s.trim());
  const bad = groupNames.filter((g) => !["pulumi", "ansible", "verify"].includes(g));
  if (bad.length) throw new UsageError(`--only takes pulumi, ansible and verify, got '${bad.join(",")}'`);
  const timeoutSeconds = typeof o.timeout === "string" ? positiveInts(o.timeout, "--timeout")[0] : 1800;
  const { runBench, formatTable } = await import("../bench/run");
  const out = typeof o.out === "string" ? o.out : path.join(repoDir, "bench", "results", `${stamp}.json`);
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
