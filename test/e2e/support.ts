/**
 * End-to-end tests drive the real engine on a lab: one lab, one stack, one file backend and one
 * snapshot of the project per test file (so that two test files, or two engineers, never share
 * state, and edits to the checkout during a run do not change the program under test), all
 * removed in afterAll.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { projectDir, PulumiRun, removeStack, runPulumi, runPulumiOk, stackConfigPath } from "../../cli/pulumiRunner";
import { Lab, LabOptions, renderLabStack, startLab, stopLab } from "../../lab/lab";
import type { Release } from "../../lab/image";
import { PROVIDER_VERSION } from "../../components/provider/resourceTypes";
import { rootOk } from "../../lab/harness/labHelpers";
import { snapshot } from "../lab/support/hostState";

export interface EngineLab {
  lab: Lab;
  stack: string;
  /** Environment of every pulumi and drift run: the test's own project snapshot and backend. */
  env: NodeJS.ProcessEnv;
  /** The snapshot of the checkout that pulumi runs (MPI_HOSTS_PROJECT); the backend is inside. */
  project: string;
  stateDir: string;
}

/** Top-level entries of the checkout that a pulumi run does not need (or that are big, or state). */
const NOT_COPIED = new Set([".git", "node_modules", ".pulumi-state", "rendered", "coverage", "bin"]);

/** Copies the checkout as it is now (tracked or not) into a fresh directory, node_modules linked. */
export function snapshotProject(name: string): string {
  const project = fs.mkdtempSync(path.join(os.tmpdir(), `mpi-hosts-${name}-`));
  const checkout = projectDir({});
  fs.cpSync(checkout, project, {
    recursive: true,
    filter: (src) => {
      const rel = path.relative(checkout, src);
      const top = rel.split(path.sep)[0];
      return !NOT_COPIED.has(top) && !/^Pulumi\..+\.yaml$/.test(rel);
    },
  });
  fs.symlinkSync(path.join(checkout, "node_modules"), path.join(project, "node_modules"));
  return project;
}

/**
 * The engine runs the provider plugin installed in PULUMI_HOME, which runs the checkout that installed it: fails
 * unless that is this checkout (another worktree's code would be tested).
 */
export function expectPluginOfThisCheckout(env: NodeJS.ProcessEnv = process.env): void {
  const home = env.PULUMI_HOME || path.join(os.homedir(), ".pulumi");
  const launcher = path.join(home, "plugins", `resource-mpi-hosts-v${PROVIDER_VERSION}`, "pulumi-resource-mpi-hosts");
  const text = fs.existsSync(launcher) ? fs.readFileSync(launcher, "utf8") : "";
  const checkout = projectDir({});
  if (!text.includes(`checkout='${checkout}'`)) {
    const found = /^checkout='(.*)'$/m.exec(text)?.[1];
    throw new Error(
      `the mpi-hosts provider plugin in ${launcher} ${found ? `runs the checkout ${found}` : "is not installed"}, not ${checkout}: ` +
        `run scripts/install-plugin.sh in ${checkout}`,
    );
  }
}

/** Starts a lab (with `options`, e.g. behindBastion), writes its stack file and creates the stack in a fresh backend. */
export async function startEngineLab(name: string, hosts: number, release: Release, options: LabOptions = {}): Promise<EngineLab> {
  expectPluginOfThisCheckout();
  const project = snapshotProject(name);
  const stateDir = path.join(project, ".pulumi-state");
  // The lab default passphrase applies (lab stack file); PULUMI_BACKEND_URL would override MPI_HOSTS_STATE.
  const env: NodeJS.ProcessEnv = { ...process.env, MPI_HOSTS_PROJECT: project, MPI_HOSTS_STATE: stateDir };
  delete env.PULUMI_BACKEND_URL;
  delete env.PULUMI_CONFIG_PASSPHRASE;
  delete env.PULUMI_CONFIG_PASSPHRASE_FILE;
  try {
    const lab = await startLab({ ...options, name, hosts, release });
    fs.writeFileSync(stackConfigPath(name, env), renderLabStack(lab));
    await runPulumiOk(["stack", "init", name], { stack: name, env });
    return { lab, stack: name, env, project, stateDir };
  } catch (err) {
    fs.rmSync(project, { recursive: true, force: true });
    throw err;
  }
}

/** Everything the test made goes, whatever happened: the lab, the stack (state and config), the backend. */
export async function stopEngineLab(e: EngineLab | undefined, name: string): Promise<void> {
  const errors: unknown[] = [];
  await stopLab(name).catch((err) => errors.push(err));
  if (e) {
    await removeStack(e.stack, { stack: e.stack, env: e.env, keepConfig: false }).catch((err) => errors.push(err));
    fs.rmSync(e.project, { recursive: true, force: true });
  }
  if (errors.length) throw errors[0];
}

/** `pulumi ARGS --stack S` in the test's backend. */
export function pulumi(e: EngineLab, args: string[]): Promise<PulumiRun> {
  return runPulumi([...args, "--stack", e.stack], { stack: e.stack, env: e.env });
}

/** `npm run COMMAND -- --stack S [ARGS]`, the real command line, in the test's project snapshot. */
export function mpiHosts(e: EngineLab, command: string, args: string[] = []): Promise<PulumiRun> {
  return new Promise((resolve, reject) => {
    const child = spawn("npx", ["--no-install", "ts-node", "--transpile-only", "cli/main.ts", command, "--stack", e.stack, ...args], {
      cwd: e.project,
      env: e.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** `npm run drift -- --stack S [ARGS]`. */
export function drift(e: EngineLab, args: string[] = []): Promise<PulumiRun> {
  return mpiHosts(e, "drift", args);
}

/** Root on the host, no SSH; fails the test on a non-zero exit (the lab tests' rootOk). */
export function root(lab: Lab, host: string, script: string): Promise<string> {
  return rootOk(lab, host, script);
}

/**
 * A host as plain tools see it: every file, link and directory under /home/mpi and /opt (mode,
 * owner, sha256) and the firewall (iptables-save without counters, nft -s). Equal means restored.
 */
export async function hostBaseline(lab: Lab, host: string): Promise<string> {
  const files = await snapshot(lab, host, { roots: ["/home/mpi", "/opt"] });
  const firewall = await root(
    lab,
    host,
    `iptables-save | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]//'; echo '--- nft'; nft -s list ruleset 2>&1 | grep -v '^# Warning'`,
  );
  return `${files}--- iptables-save\n${firewall}`;
}

/** The stack's state as the backend keeps it (secrets encrypted), for checks that nothing leaks. */
export function stateFileText(e: EngineLab): string {
  const file = path.join(e.stateDir, ".pulumi", "stacks", "mpi-hosts", `${e.stack}.json`);
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
}

/** The id of each resource in the stack, by name, from `pulumi stack export` (ids are not secret). */
export async function resourceIds(e: EngineLab): Promise<Record<string, string>> {
  const out = await pulumi(e, ["stack", "export"]);
  if (out.code !== 0) throw new Error(out.stderr);
  const deployment = JSON.parse(out.stdout) as { deployment: { resources?: { urn: string; id?: string }[] } };
  return Object.fromEntries((deployment.deployment.resources ?? []).filter((r) => r.id).map((r) => [r.urn.split("::").pop()!, r.id!]));
}

/** Wall time of each step, printed at the end of the file (they go in the closing note): the lab tests' class. */
export { Timings } from "../lab/support/timings";

/** A run's output, readable in the test output. */
export function explain(r: PulumiRun): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout.slice(-6000)}\n--- stderr\n${r.stderr.slice(-4000)}`;
}

/** Fails with the run's whole story (not only the exit code) when it did not exit as expected. */
export function expectExit(r: PulumiRun, code: number | "non-zero"): void {
  const ok = code === "non-zero" ? r.code !== 0 : r.code === code;
  if (!ok) throw new Error(`expected exit ${code}, got ${explain(r)}`);
}
