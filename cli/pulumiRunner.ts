/**
 * Running the pulumi CLI as mpi-hosts does, in one place: which `pulumi` binary, which backend, which
 * passphrase, and the offline settings. Used by `npm run drift`, `mpi-hosts env` (scripts/demo.sh) and the e2e tests.
 *
 * - Backend: the one a plain `pulumi` would use (PULUMI_BACKEND_URL, backend.url in Pulumi.yaml, `pulumi login`),
 *   with MPI_HOSTS_STATE and the project's `.pulumi-state` as mpi-hosts' own defaults (./backend).
 * - Passphrase: PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE from the environment.
 *   Only for lab stacks (Pulumi.<stack>.yaml written by `npm run lab -- up`) does it default to
 *   `lab`: their hosts are throwaway namespaces on this machine, and their secrets (a lab key
 *   that dies with the lab) protect nothing. Any other stack without a passphrase is an error.
 * - Binary: a `pulumi` on PATH, else the one scripts/build-engine.sh left in the cache.
 *
 * From a shell: `eval "$(npm run --silent env -- --stack lab)"` (`mpi-hosts env` from the package) exports the
 * same settings (the passphrase only when it is the lab default, never one from your environment): cli/env.ts.
 */
import type { EngineEvent, PulumiCommand, Workspace } from "@pulumi/pulumi/automation";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { STACK_HEADER } from "../lab/stack";
import { Backend, resolveBackend } from "./backend";
import { runsFromClone } from "./clone";
import { CommandFailure } from "./command";
import { readIfExists } from "./readIfExists";
import { shellQuote } from "../components/templates/shellQuote";
import { commandLine } from "./usage";

export const PULUMI_VERSION = "3.248.0";
/** The passphrase of lab stacks when none is set (see the module comment). */
export const LAB_PASSPHRASE = "lab";

/** pulumi cannot be run as asked (none found, no passphrase): said as `<command>: <message>`, exit 1. */
export class PulumiRunError extends CommandFailure {}

/**
 * The Pulumi project pulumi runs in (Pulumi.yaml, index.ts, the stack files): $MPI_HOSTS_PROJECT (the e2e tests run
 * a snapshot of the checkout, immune to edits made meanwhile), else, run from a clone (TypeScript), this checkout, and
 * run from the installed package (compiled), the working directory: the user's own project, as for `pulumi`.
 */
export function projectDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MPI_HOSTS_PROJECT) return path.resolve(env.MPI_HOSTS_PROJECT);
  return runsFromClone() ? path.resolve(__dirname, "..") : process.cwd();
}

/**
 * The project of projectDir as helps and messages name it (the fallback backend is its .pulumi-state): this checkout,
 * or, run from the package, the project in the working directory.
 */
export function projectDescription(env: NodeJS.ProcessEnv = process.env, fromClone = runsFromClone()): string {
  if (env.MPI_HOSTS_PROJECT) return `the project in MPI_HOSTS_PROJECT (${path.resolve(env.MPI_HOSTS_PROJECT)})`;
  return fromClone ? "this checkout" : "the project in the working directory";
}

export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.MPI_HOSTS_STATE || path.join(projectDir(env), ".pulumi-state"));
}

export function backend(env: NodeJS.ProcessEnv = process.env): Backend {
  return resolveBackend(projectDir(env), env, readIfExists, projectDescription(env));
}

export function backendUrl(env: NodeJS.ProcessEnv = process.env): string {
  return backend(env).url;
}

/** Where scripts/build-engine.sh puts the engine (same defaults as scripts/engine-env.sh). */
export function cachedEngineBin(env: NodeJS.ProcessEnv = process.env): string {
  const cache = env.MPI_HOSTS_CACHE || "/var/cache/mpi-hosts";
  return path.join(cache, "engine", `v${env.MPI_HOSTS_PULUMI_VERSION || PULUMI_VERSION}`, "bin");
}

/** The directory holding the `pulumi` to run: PATH first, then the cache. */
export function findPulumi(env: NodeJS.ProcessEnv = process.env): string {
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, "pulumi"))) return dir;
  }
  const cached = cachedEngineBin(env);
  if (isExecutable(path.join(cached, "pulumi"))) return cached;
  throw new PulumiRunError(`no pulumi on PATH nor in ${cached}: run scripts/build-engine.sh (or bash scripts/setup.sh) first`);
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Where a stack's config is: Pulumi.<stack>.yaml in the project pulumi runs in. */
export function stackConfigPath(stack: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(projectDir(env), `Pulumi.${stack}.yaml`);
}

/** A stack config written by `npm run lab -- up` (its first line is the lab header). */
export function isLabStackFile(text: string): boolean {
  const first = text.split("\n", 1)[0];
  return first === `# ${STACK_HEADER}`;
}

/** The passphrase settings for a stack: what the environment has, or the lab default; throws otherwise. */
export function passphraseEnv(stack: string | undefined, env: NodeJS.ProcessEnv, readStackFile = readIfExists): Record<string, string> {
  if (env.PULUMI_CONFIG_PASSPHRASE !== undefined || env.PULUMI_CONFIG_PASSPHRASE_FILE) return {};
  const text = stack ? readStackFile(stackConfigPath(stack, env)) : undefined;
  if (text !== undefined && isLabStackFile(text)) return { PULUMI_CONFIG_PASSPHRASE: LAB_PASSPHRASE };
  throw new PulumiRunError(
    `PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) is not set${stack ? ` for stack ${stack}` : ""}: ` +
      `set it to the passphrase the stack was created with (the default '${LAB_PASSPHRASE}' applies only to lab stacks written by \`${commandLine("lab", "up")}\`)`,
  );
}

export interface PulumiSettings {
  /** The directory of pulumi, when it must go in front of PATH (the engine cache). */
  pathPrefix?: string;
  vars: Record<string, string>;
}

/** The settings mpi-hosts adds to the environment of every pulumi it runs. */
export function pulumiSettings(stack: string | undefined, env: NodeJS.ProcessEnv = process.env): PulumiSettings {
  const bin = findPulumi(env);
  const onPath = (env.PATH ?? "").split(path.delimiter).includes(bin);
  return {
    pathPrefix: onPath ? undefined : bin,
    vars: {
      PULUMI_BACKEND_URL: backendUrl(env),
      // Never call pulumi.com or GitHub: no update check, no plugin downloads (a missing plugin fails at once).
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      // Plugins from the plugin cache (ours: scripts/install-plugin.sh) and next to pulumi only: a pulumi-resource-*
      // on PATH would win otherwise (pulumi's plugins.go), and npm puts ./node_modules/.bin first on PATH.
      PULUMI_IGNORE_AMBIENT_PLUGINS: "true",
      // Type checking the program costs ~3 s CPU per command (docs/performance.md); `npm run typecheck` and CI do it.
      PULUMI_NODEJS_TRANSPILE_ONLY: env.PULUMI_NODEJS_TRANSPILE_ONLY ?? "true",
      PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
      ...passphraseEnv(stack, env),
    },
  };
}

/** The environment of a pulumi child process: `env` plus the settings. */
export function pulumiProcessEnv(stack: string | undefined, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const { pathPrefix, vars } = pulumiSettings(stack, env);
  return { ...env, ...vars, ...(pathPrefix ? { PATH: [pathPrefix, env.PATH].filter(Boolean).join(path.delimiter) } : {}) };
}

export interface PulumiRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunPulumiOptions {
  /** The stack the command is about (for the lab passphrase default). */
  stack?: string;
  env?: NodeJS.ProcessEnv;
  /** Output as it arrives (progress); it is collected either way. */
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  input?: string;
}

/** Runs `pulumi ARGS` in the project with mpi-hosts' settings; resolves with its exit code and output. */
export function runPulumi(args: string[], opts: RunPulumiOptions = {}): Promise<PulumiRun> {
  const base = opts.env ?? process.env;
  const dir = stateDir(base);
  const env = pulumiProcessEnv(opts.stack, base);
  if (env.PULUMI_BACKEND_URL === `file://${dir}`) fs.mkdirSync(dir, { recursive: true });
  return new Promise((resolve, reject) => {
    const child = spawn("pulumi", args, { cwd: projectDir(base), env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (d: string) => {
      stdout += d;
      opts.onStdout?.(d);
    });
    child.stderr.on("data", (d: string) => {
      stderr += d;
      opts.onStderr?.(d);
    });
    child.on("error", (err) => reject(new PulumiRunError(`cannot run pulumi: ${err.message}`)));
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.input ?? "");
  });
}

/**
 * The pulumi the Automation API runs: the one runPulumi runs (PATH, then the engine cache), checked by the SDK's
 * PulumiCommand.get (`pulumi version`; a major version other than the SDK's is refused) and here for at least
 * PULUMI_VERSION, the engine whose events cli/previewEvents.ts was checked against.
 */
export async function pulumiCommand(env: NodeJS.ProcessEnv = process.env): Promise<PulumiCommand> {
  const dir = findPulumi(env);
  const binary = path.join(dir, "pulumi");
  const { PulumiCommand } = await import("@pulumi/pulumi/automation");
  let command: PulumiCommand;
  try {
    command = await PulumiCommand.get({ root: path.basename(dir) === "bin" ? path.dirname(dir) : linkedRoot(binary) });
  } catch (err) {
    const failed = failedRun(err);
    throw new PulumiRunError(
      `${binary}: ${failed ? `\`pulumi version\` failed (exit ${failed.code}): ${failed.stderr.trim()}` : (err as Error).message}`,
    );
  }
  if (command.version && command.version.compare(PULUMI_VERSION) < 0) {
    throw new PulumiRunError(
      `${binary} is pulumi ${command.version.version}, older than ${PULUMI_VERSION} (the engine mpi-hosts is tested with): ` +
        "upgrade it, or take it off PATH so that the one scripts/build-engine.sh builds is used",
    );
  }
  return command;
}

/**
 * A root whose bin/pulumi is `binary`, for PulumiCommand.get, which runs <root>/bin/pulumi: pulumi installed elsewhere
 * (pulumi/actions puts it in <tool cache>/pulumi/<version>/x64, asdf and mise in shims) is linked from a private
 * temporary directory, removed when the process ends.
 */
function linkedRoot(binary: string): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "mpi-hosts-pulumi-"));
  process.once("exit", () => fs.rmSync(root, { recursive: true, force: true }));
  fs.mkdirSync(path.join(root, "bin"));
  fs.symlinkSync(fs.realpathSync(binary), path.join(root, "bin", "pulumi"));
  return root;
}

/** The names of the SDK's CommandError and its kinds (automation/errors.js). */
const COMMAND_ERRORS = new Set(["CommandError", "StackNotFoundError", "StackAlreadyExistsError", "ConcurrentUpdateError"]);

/**
 * What a pulumi command that the Automation API ran and that failed did: its exit code and output. The SDK (v3.248.0,
 * automation/cmd.js exec) wraps execa's error, which has them, in a CommandError (StackNotFoundError and
 * ConcurrentUpdateError are kinds of it, told apart by the same stderr) whose own code is always -2 and whose stdout
 * is empty; the execa error is its private commandResult.err. Undefined when pulumi did not run at all.
 */
export function failedRun(err: unknown): PulumiRun | undefined {
  if (!(err instanceof Error) || !COMMAND_ERRORS.has(err.name)) return undefined;
  const cause = (err as { commandResult?: { err?: unknown } }).commandResult?.err as
    { exitCode?: number; signal?: string; stdout?: string; stderr?: string } | undefined;
  // Neither an exit code nor a signal: pulumi did not start (execa's ENOENT, EACCES).
  if (!cause || (typeof cause.exitCode !== "number" && !cause.signal)) return undefined;
  return { code: cause.exitCode ?? 128, stdout: cause.stdout ?? "", stderr: cause.stderr ?? "" };
}

/** A workspace whose selectStack leaves the project's current stack alone (see previewStack). */
function withoutSelecting(workspace: Workspace): Workspace {
  return new Proxy(workspace, {
    get(target, key) {
      if (key === "selectStack") return async () => undefined;
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

export interface PreviewStackOptions {
  /** Refresh first (`pulumi preview --refresh`): every resource's read runs; for facets, their probe. */
  refresh?: boolean;
  /** Each engine event as it comes (the Automation API's onEvent). */
  onEvent: (event: EngineEvent) => void;
  env?: NodeJS.ProcessEnv;
}

/**
 * `pulumi preview [--refresh] --stack STACK` through the Automation API (LocalWorkspace, Stack.preview, onEvent) with
 * the settings of runPulumi: the same pulumi, environment (backend, passphrase, offline switches, PULUMI_HOME from
 * `env`), project directory and so stack file. Resolves with pulumi's exit code and output as runPulumi does, the
 * events having gone to onEvent; a pulumi that cannot run is a PulumiRunError.
 *
 * Stack.select would run `pulumi stack select`, which makes STACK the project's current stack for every later plain
 * `pulumi` command (PULUMI_HOME/workspaces); `pulumi preview --stack` does not, and a missing stack fails the preview
 * itself ("no stack named ... found", a StackNotFoundError), so selectStack is left out.
 */
export async function previewStack(stack: string, opts: PreviewStackOptions): Promise<PulumiRun> {
  // After the preview the SDK removes `tcp:/` recursively, relative to the current directory: the "directory" of its
  // event stream's address (automation/stack.js cleanUp; docs/pulumi.md). Refuse rather than lose such a directory.
  if (fs.existsSync("tcp:")) {
    throw new PulumiRunError(
      `${path.resolve("tcp:")} is there, and the Automation API of @pulumi/pulumi ${PULUMI_VERSION} deletes it after a preview ` +
        "(a bug of its cleanup): run from another directory",
    );
  }
  const base = opts.env ?? process.env;
  const dir = stateDir(base);
  const env = pulumiProcessEnv(stack, base);
  if (env.PULUMI_BACKEND_URL === `file://${dir}`) fs.mkdirSync(dir, { recursive: true });
  const command = await pulumiCommand(base);
  const { LocalWorkspace, Stack } = await import("@pulumi/pulumi/automation");
  // envVars go over the SDK's process.env (execa extends it), so pass them all: a variable unset in `env` stays unset
  // only when process.env lacks it too, which holds for the commands (they pass process.env).
  const envVars = Object.fromEntries(Object.entries(env).filter((kv): kv is [string, string] => kv[1] !== undefined));
  const workspace = await LocalWorkspace.create({ workDir: projectDir(base), pulumiCommand: command, envVars });
  const target = await Stack.select(stack, withoutSelecting(workspace));
  try {
    const result = await target.preview({ refresh: opts.refresh, color: "never", onEvent: opts.onEvent });
    return { code: 0, stdout: result.stdout, stderr: result.stderr };
  } catch (err) {
    const failed = failedRun(err);
    if (failed) return failed;
    throw new PulumiRunError(`cannot run pulumi: ${(err as Error).message}`);
  }
}

/** Like runPulumi, but a non-zero exit is an error carrying pulumi's own message. */
export async function runPulumiOk(args: string[], opts: RunPulumiOptions = {}): Promise<PulumiRun> {
  const result = await runPulumi(args, opts);
  if (result.code !== 0) {
    throw new PulumiRunError(
      `pulumi ${args.join(" ")} failed (exit ${result.code}):\n${(result.stderr.trim() || result.stdout.trim()).slice(-4000)}`,
    );
  }
  return result;
}

export async function stackExists(stack: string, opts: RunPulumiOptions = {}): Promise<boolean> {
  const ls = await runPulumiOk(["stack", "ls", "--json"], { ...opts, stack });
  const stacks = JSON.parse(ls.stdout) as { name: string }[];
  return stacks.some((s) => s.name === stack || s.name.endsWith(`/${stack}`));
}

/** Creates the stack in the backend when it is not there (its config file is kept as it is). */
export async function ensureStack(stack: string, opts: RunPulumiOptions = {}): Promise<"created" | "exists"> {
  if (await stackExists(stack, opts)) return "exists";
  await runPulumiOk(["stack", "init", stack], { ...opts, stack });
  return "created";
}

/**
 * Forgets the stack's state without touching any host (`pulumi stack rm --force`); keeps
 * Pulumi.<stack>.yaml unless asked. Quiet when there is no such stack.
 */
export async function removeStack(stack: string, opts: RunPulumiOptions & { keepConfig?: boolean } = {}): Promise<boolean> {
  if (!(await stackExists(stack, opts))) return false;
  await runPulumiOk(["stack", "rm", "--force", "--yes", ...(opts.keepConfig === false ? [] : ["--preserve-config"]), stack], {
    ...opts,
    stack,
  });
  return true;
}

/** `export NAME='value'` lines for a shell; pulumi's directory goes in front of the shell's own PATH. */
export function shellExports(settings: PulumiSettings): string {
  const prefix = settings.pathPrefix ? `export PATH=${shellQuote(settings.pathPrefix)}:"$PATH"\n` : "";
  return (
    prefix +
    Object.entries(settings.vars)
      .map(([k, v]) => `export ${k}=${shellQuote(v)}\n`)
      .join("")
  );
}
