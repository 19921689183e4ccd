import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CommandFailure } from "./command";
import { CLEARED_VARIABLES, launcherScript, PluginSource, serverOf, sourceOfThisCode } from "./plugin";

const node = fs.realpathSync(process.execPath);
let work: string;

beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "mpi-hosts-plugin-test-"));
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

/** A stand-in server at the path the launcher runs: prints its environment and node's options as JSON. */
function fakeServer(source: PluginSource): void {
  const server = serverOf(source);
  fs.mkdirSync(path.dirname(server), { recursive: true });
  fs.writeFileSync(
    server,
    "process.stdout.write(JSON.stringify({ env: process.env, execArgv: process.execArgv, argv: process.argv.slice(2) }));\n",
  );
}

function runLauncher(source: PluginSource, env: NodeJS.ProcessEnv) {
  const launcher = path.join(work, "pulumi-resource-mpi-hosts");
  fs.writeFileSync(launcher, launcherScript(source, node), { mode: 0o755 });
  return spawnSync(launcher, ["--some-engine-arg"], { env, encoding: "utf8" });
}

/** What the engine could pass on from a state's provider record (envVarMappings): each would choose code in node. */
function hostileEnv(marker: string): NodeJS.ProcessEnv {
  const evil = path.join(work, "evil.js");
  fs.writeFileSync(evil, `require("fs").writeFileSync(${JSON.stringify(marker)}, "ran");\n`);
  return {
    PATH: process.env.PATH,
    HOME: work,
    SSH_AUTH_SOCK: "/tmp/agent.sock",
    NODE_OPTIONS: `--require ${evil}`,
    NODE_PATH: work,
    NODE_REPL_EXTERNAL_MODULE: evil,
    LD_PRELOAD: "/nonexistent/evil.so",
    LD_LIBRARY_PATH: work,
    DYLD_INSERT_LIBRARIES: "/nonexistent/evil.dylib",
    DYLD_LIBRARY_PATH: work,
    TS_NODE_COMPILER: evil,
    TS_NODE_REQUIRE: evil,
    TS_NODE_PROJECT: path.join(work, "evil-tsconfig.json"),
    TS_NODE_TRANSPILE_ONLY: "false",
  };
}

describe("the plugin launcher", () => {
  // Before this change the launcher (scripts/install-plugin.sh) unset nothing: NODE_OPTIONS' --require ran evil.js and
  // every variable below reached node (checked by deleting the two unset lines of launcherScript).
  it("starts the package's compiled server with none of the variables that choose code, keeping the rest", () => {
    const source: PluginSource = { kind: "package", dir: path.join(work, "node_modules", "mpi-hosts") };
    fakeServer(source);
    const marker = path.join(work, "evil-ran");
    const r = runLauncher(source, hostileEnv(marker));
    // The launcher's own sh (and its env, sed) still start with LD_PRELOAD: the engine starts it so; only node is spared.
    expect(r.stderr.split("\n").filter((l) => l && !l.includes("from LD_PRELOAD cannot be preloaded"))).toEqual([]);
    expect(r.status).toBe(0);
    const seen = JSON.parse(r.stdout) as { env: Record<string, string>; execArgv: string[]; argv: string[] };
    for (const v of [...CLEARED_VARIABLES, "TS_NODE_COMPILER", "TS_NODE_REQUIRE", "TS_NODE_PROJECT", "TS_NODE_TRANSPILE_ONLY"]) {
      expect({ v, value: seen.env[v] }).toEqual({ v, value: undefined });
    }
    expect(fs.existsSync(marker)).toBe(false);
    expect(seen.execArgv).toEqual([]);
    expect(seen.argv).toEqual(["--some-engine-arg"]);
    expect(seen.env.SSH_AUTH_SOCK).toBe("/tmp/agent.sock");
  });

  it("starts a clone's TypeScript through its ts-node, with its own TS_NODE_* settings only", () => {
    const source: PluginSource = { kind: "checkout", dir: path.join(work, "checkout") };
    fakeServer(source);
    fs.mkdirSync(path.join(source.dir, "node_modules"), { recursive: true });
    fs.symlinkSync(path.resolve(__dirname, "..", "node_modules", "ts-node"), path.join(source.dir, "node_modules", "ts-node"));
    fs.symlinkSync(path.resolve(__dirname, "..", "node_modules", "typescript"), path.join(source.dir, "node_modules", "typescript"));
    fs.writeFileSync(path.join(source.dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { module: "commonjs" } }));
    const marker = path.join(work, "evil-ran");
    const r = runLauncher(source, hostileEnv(marker));
    expect(r.status).toBe(0);
    const seen = JSON.parse(r.stdout) as { env: Record<string, string>; execArgv: string[] };
    expect(seen.env.TS_NODE_PROJECT).toBe(path.join(source.dir, "tsconfig.json"));
    expect(seen.env.TS_NODE_TRANSPILE_ONLY).toBe("true");
    for (const v of [...CLEARED_VARIABLES, "TS_NODE_COMPILER", "TS_NODE_REQUIRE"])
      expect({ v, value: seen.env[v] }).toEqual({ v, value: undefined });
    expect(seen.execArgv).toEqual(["-r", path.join(source.dir, "node_modules", "ts-node", "register")]);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it("fails saying what to run when the package it runs is gone", () => {
    const source: PluginSource = { kind: "package", dir: path.join(work, "gone", "mpi-hosts") };
    const r = runLauncher(source, { PATH: process.env.PATH });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      `pulumi-resource-mpi-hosts: the mpi-hosts package ${source.dir} is gone; run \`npx mpi-hosts plugin install\` in the project that has it installed\n`,
    );
  });

  it.each([
    ["a relative path", { kind: "package", dir: "node_modules/mpi-hosts" }, node, /is not an absolute path/],
    ["a quote in the path", { kind: "package", dir: "/tmp/it's/mpi-hosts" }, node, /contains a quote or a newline/],
    ["a newline in the path", { kind: "checkout", dir: "/tmp/a\nb" }, node, /contains a quote or a newline/],
    ["node by a relative path", { kind: "package", dir: "/opt/mpi-hosts" }, "node", /node's path node is not an absolute path/],
  ] as Array<[string, PluginSource, string, RegExp]>)("refuses %s", (_name, source, nodePath, message) => {
    expect(() => launcherScript(source, nodePath)).toThrow(CommandFailure);
    expect(() => launcherScript(source, nodePath)).toThrow(message);
  });
});

describe("which code `mpi-hosts plugin install` installs", () => {
  it.each([
    [
      "the package's compiled command",
      "/p/node_modules/mpi-hosts/dist/cli/plugin.js",
      { kind: "package", dir: "/p/node_modules/mpi-hosts" },
    ],
    ["a clone's TypeScript", "/src/mpi-hosts/cli/plugin.ts", { kind: "checkout", dir: "/src/mpi-hosts" }],
  ])("from %s", (_name, file, expected) => {
    expect(sourceOfThisCode(file)).toEqual(expected);
  });

  it("serves the server of the layout it was built with", () => {
    expect(serverOf({ kind: "package", dir: "/p" })).toBe("/p/dist/components/provider/plugin/server.js");
    expect(fs.existsSync(serverOf(sourceOfThisCode()))).toBe(true);
  });
});
