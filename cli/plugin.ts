/**
 * `mpi-hosts plugin install`: installs pulumi-resource-mpi-hosts, the provider plugin that serves the facets and the
 * cluster key, into ${PULUMI_HOME:-~/.pulumi}/plugins (`pulumi plugin install resource mpi-hosts VERSION --file`), so
 * that the engine runs this code for `pulumi up`, refresh and destroy, from any project directory.
 *
 * Why a plugin installed from a fixed path (and not `plugins.providers[].path` in Pulumi.yaml, nor a plugin on PATH):
 * the code the engine runs is chosen here, once, by whoever installs it: not by the state (a provider record names
 * only a version), not by the working directory of a pulumi run (an ambient `pulumi-resource-*` on PATH, where npm puts
 * ./node_modules/.bin first, would be). What is installed is a launcher of a few lines (`launcherScript`) that runs
 * the code this command runs from, by absolute path, with the node running this command, by absolute path:
 * - from the npm package: the compiled plugin of the installed package (`package='...'`, plain node);
 * - from a clone (scripts/install-plugin.sh, npm run plugin): the checkout's TypeScript through ts-node
 *   (`checkout='...'`, the line test/e2e/support.ts looks for).
 * After `npm install` of a newer mpi-hosts in the same place, the launcher runs the new code: the plugin version stays
 * PROVIDER_VERSION, so states written by the older package are read by the newer one (a new version would be a second
 * default provider, docs/plans/issue15-item3.md 4.4).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runsFromClone } from "./clone";
import { CommandFailure, CommandGroup, CommandTable, defineCommand, formatCommandList, runnerOf } from "./command";
import { findPulumi } from "./pulumiRunner";
import { PROVIDER_PACKAGE, PROVIDER_VERSION } from "../components/provider/resourceTypes";
import { usageLines } from "./usage";

export const PLUGIN_BINARY = `pulumi-resource-${PROVIDER_PACKAGE}`;

/**
 * Variables that would let whoever sets them choose code inside the plugin's node, cleared by the launcher before it
 * sets its own: the engine can start a provider with variables remapped from a state's provider record
 * (envVarMappings, pulumi pkg/resource/deploy/providers/registry.go; docs/plans/issue15-item3.md R6a). Every TS_NODE_*
 * is cleared too (ts-node reads its options, `require` and `compiler` among them, from the environment).
 */
export const CLEARED_VARIABLES = [
  "NODE_OPTIONS",
  "NODE_PATH",
  "NODE_REPL_EXTERNAL_MODULE",
  "LD_PRELOAD",
  "LD_LIBRARY_PATH",
  "DYLD_INSERT_LIBRARIES",
  "DYLD_LIBRARY_PATH",
];

/** Which code the launcher runs: a clone's TypeScript, or the package's compiled JavaScript. */
export type PluginSource = { kind: "checkout"; dir: string } | { kind: "package"; dir: string };

/** The code this module runs from: compiled (dist/cli/plugin.js in the package) or TypeScript (a clone). */
export function sourceOfThisCode(file: string = __filename): PluginSource {
  const codeRoot = path.resolve(path.dirname(file), "..");
  if (runsFromClone(file)) return { kind: "checkout", dir: codeRoot };
  // The package's compiled code sits in <package>/dist.
  return { kind: "package", dir: path.dirname(codeRoot) };
}

/** The server the launcher starts, for each kind of source. */
export function serverOf(source: PluginSource): string {
  return source.kind === "checkout"
    ? path.join(source.dir, "components/provider/plugin/server.ts")
    : path.join(source.dir, "dist/components/provider/plugin/server.js");
}

/** A path written into the launcher inside single quotes: absolute, and without a quote or a newline. */
function launcherPath(what: string, p: string): string {
  if (!path.isAbsolute(p)) throw new CommandFailure(`${what} ${p} is not an absolute path`);
  if (/['\n\r]/.test(p)) throw new CommandFailure(`${what} ${JSON.stringify(p)} contains a quote or a newline: move it`);
  return p;
}

/** The launcher's text: POSIX sh, everything it runs fixed here. */
export function launcherScript(source: PluginSource, node: string): string {
  const dir = launcherPath(source.kind === "checkout" ? "the checkout's path" : "the package's path", source.dir);
  const nodePath = launcherPath("node's path", node);
  const server = serverOf(source).slice(dir.length + 1);
  const common = [
    "#!/bin/sh",
    `# ${PLUGIN_BINARY} ${PROVIDER_VERSION}: the mpi-hosts resource provider (Facet, ClusterKey) of the ${source.kind} below,`,
    "# installed by `mpi-hosts plugin install`. It runs that code, with the node below, and nothing else.",
    `unset ${CLEARED_VARIABLES.join(" ")}`,
    "for v in $(env | sed -n 's/^\\(TS_NODE_[A-Za-z0-9_]*\\)=.*/\\1/p'); do unset \"$v\"; done",
    `${source.kind}='${dir}'`,
    `if [ ! -f "$${source.kind}/${server}" ]; then`,
  ];
  if (source.kind === "checkout") {
    return [
      ...common,
      `    echo "${PLUGIN_BINARY}: the mpi-hosts checkout $checkout is gone; run scripts/setup.sh (or scripts/install-plugin.sh) in yours" >&2`,
      "    exit 1",
      "fi",
      'export TS_NODE_PROJECT="$checkout/tsconfig.json" TS_NODE_TRANSPILE_ONLY=true',
      `exec '${nodePath}' -r "$checkout/node_modules/ts-node/register" "$checkout/${server}" "$@"`,
      "",
    ].join("\n");
  }
  return [
    ...common,
    `    echo "${PLUGIN_BINARY}: the mpi-hosts package $package is gone; run \\\`npx mpi-hosts plugin install\\\` in the project that has it installed" >&2`,
    "    exit 1",
    "fi",
    `exec '${nodePath}' "$package/${server}" "$@"`,
    "",
  ].join("\n");
}

/** node by its absolute, resolved path: the engine starts the launcher with the PATH of the pulumi run. */
export function nodeForLauncher(execPath: string = process.execPath): string {
  const node = fs.realpathSync(execPath);
  if ((fs.statSync(node).mode & 0o022) !== 0) {
    throw new CommandFailure(
      `${node} is writable by its group or others: whoever can write it would run as every pulumi user; fix its mode first`,
    );
  }
  return node;
}

export function installedLauncherPath(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.PULUMI_HOME || path.join(os.homedir(), ".pulumi");
  return path.join(home, "plugins", `resource-${PROVIDER_PACKAGE}-v${PROVIDER_VERSION}`, PLUGIN_BINARY);
}

/** Installs the launcher of `source` (nothing to do when the installed one is the same); returns what it said. */
export function installPlugin(source: PluginSource, pulumi: string, env: NodeJS.ProcessEnv = process.env): string {
  const server = serverOf(source);
  if (!fs.existsSync(server)) throw new CommandFailure(`${server} is missing: this ${source.kind} is incomplete`);
  if (source.kind === "checkout" && !fs.existsSync(path.join(source.dir, "node_modules/ts-node/package.json"))) {
    throw new CommandFailure(`ts-node is not installed in ${source.dir} (npm ci)`);
  }
  const text = launcherScript(source, nodeForLauncher());
  const installed = installedLauncherPath(env);
  const where = `${path.dirname(path.dirname(installed))} (runs the ${source.kind} ${source.dir})`;
  if (fs.existsSync(installed) && fs.readFileSync(installed, "utf8") === text) {
    return `mpi-hosts ${PROVIDER_VERSION} plugin: installed in ${where}`;
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "mpi-hosts-plugin-"));
  try {
    const launcher = path.join(work, PLUGIN_BINARY);
    fs.writeFileSync(launcher, text, { mode: 0o755 });
    const args = ["plugin", "install", "resource", PROVIDER_PACKAGE, PROVIDER_VERSION, "--file", launcher, "--reinstall"];
    const r = spawnSync(pulumi, args, {
      env: { ...env, PULUMI_SKIP_UPDATE_CHECK: "true", PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true" },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    if (r.status !== 0) {
      throw new CommandFailure(`${pulumi} ${args.join(" ")} failed (exit ${r.status ?? r.signal}): ${(r.stderr || r.stdout || "").trim()}`);
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return `mpi-hosts ${PROVIDER_VERSION} plugin: installed into ${where}`;
}

const install = defineCommand({
  name: "plugin install",
  help: `${usageLines("plugin", "install [--pulumi PATH]")}

Installs the mpi-hosts provider plugin (${PLUGIN_BINARY} ${PROVIDER_VERSION}) into
\${PULUMI_HOME:-~/.pulumi}/plugins with \`pulumi plugin install --file\`. The engine then runs this
mpi-hosts (the installed package, or this clone) for every mpi-hosts stack of that PULUMI_HOME:
pulumi up, refresh and destroy, from any directory. One mpi-hosts per PULUMI_HOME: the last one
installed. Run it again after moving the package or the clone, not after an upgrade in place.

  --pulumi PATH   the pulumi binary (default: pulumi on PATH, else the cache of scripts/build-engine.sh)
`,
  values: ["pulumi"],
  exitCodes: { 0: "the plugin is installed (or already was)", 1: "no pulumi, an unsafe node, or pulumi refused the install" },
  async run({ options }) {
    const pulumi = typeof options.pulumi === "string" ? options.pulumi : path.join(findPulumi(), "pulumi");
    process.stderr.write(`${installPlugin(sourceOfThisCode(), pulumi)}\n`);
    return 0;
  },
});

const subcommands: CommandTable = {
  install: { summary: "install the provider plugin of this mpi-hosts into ~/.pulumi/plugins", load: async () => install },
};

export const command: CommandGroup = {
  name: "plugin",
  noun: "subcommand",
  help: `${usageLines("plugin", "<install> [options]")}

subcommands:
${formatCommandList(subcommands, 3)}

Run a subcommand with --help for its options.
`,
  subcommands,
};

export const run = runnerOf(command);
