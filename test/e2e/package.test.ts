/**
 * mpi-hosts as a user gets it, not from a clone: `npm pack` in the checkout, `pulumi new` from the template
 * (examples/lab) into a fresh directory under /tmp, `npm install` of the tarball there, `pulumi login` into a third
 * directory, the provider plugin installed from the package (`mpi-hosts plugin install`, into a PULUMI_HOME of the
 * test's own), then `pulumi up`, `mpi-hosts drift` (exit 0, then 2 after a hand edit), an upgrade in place to a
 * tarball of the next version (same files: what changes for the engine is the package's version, not the plugin's)
 * and `pulumi destroy` on two trixie lab hosts.
 *
 * How it proves that nothing comes from the repository: every command of the user's steps runs in a mount namespace
 * where the checkout (and the node_modules it links to) is covered by an empty tmpfs (`hidden`). A plugin launcher
 * of the checkout, a template or schema read from the checkout, a module resolved from its node_modules: each fails
 * there. Step 3 shows the guard bites: with the checkout's plugin installed, the same preview fails.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { PulumiRun } from "../../cli/pulumiRunner";
import { cachedEngineBin } from "../../cli/pulumiRunner";
import { PROVIDER_VERSION } from "../../components/provider/resourceTypes";
import { Lab, renderLabStack, startLab, stopLab } from "../../lab/lab";
import { expectExit, root, Timings } from "./support";

const NAME = "xp1";
const STACK = "xp1";
const PASSPHRASE = "package-test";
/** The version of the "newer release" of step 6b. */
const NEXT_VERSION = "0.1.1-upgrade.test";
const checkout = path.resolve(__dirname, "../..");
const timings = new Timings("package.test.ts (2 trixie hosts) wall times");

let lab: Lab | undefined;
let work: string;
/** The user's directories: the tarball, the project, the state backend, the Pulumi home. */
let dirs: { pack: string; project: string; state: string; home: string };
let tarball: string;

/** The environment of a user's shell: the engine on PATH, their own PULUMI_HOME and passphrase, nothing of mpi-hosts'. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) {
    if (k.startsWith("MPI_HOSTS_") || k.startsWith("PULUMI_") || k.startsWith("TS_NODE_") || k.startsWith("npm_")) delete env[k];
  }
  return {
    ...env,
    PATH: [cachedEngineBin(), path.dirname(process.execPath), "/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"].join(":"),
    PULUMI_HOME: dirs.home,
    PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_IGNORE_AMBIENT_PLUGINS: "true",
    PULUMI_NODEJS_TRANSPILE_ONLY: "true",
  };
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = userEnv()): Promise<PulumiRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** What the hidden runs cover: the checkout, and its node_modules wherever that link points. */
function repositoryPaths(): string[] {
  const modules = fs.realpathSync(path.join(checkout, "node_modules"));
  return [checkout, ...(modules.startsWith(`${checkout}/`) ? [] : [modules])];
}

/** `command args` in the project, in a mount namespace where the repository is an empty, unreadable directory. */
function hidden(command: string, args: string[]): Promise<PulumiRun> {
  const mounts = repositoryPaths()
    .map((p) => `mount -t tmpfs -o size=16k,mode=000 mpi-hosts-hidden '${p}' || exit 97;`)
    .join(" ");
  return run(
    "unshare",
    ["--mount", "--propagation", "private", "sh", "-c", `${mounts} exec "$@"`, "hidden", command, ...args],
    dirs.project,
  );
}

function pulumi(args: string[]): Promise<PulumiRun> {
  return hidden("pulumi", [...args, "--stack", STACK, "--non-interactive"]);
}

/** The installed package's own bin, as npm linked it. */
function mpiHosts(args: string[]): Promise<PulumiRun> {
  return hidden(path.join(dirs.project, "node_modules", ".bin", "mpi-hosts"), args);
}

function installedLauncher(): string {
  return fs.readFileSync(path.join(dirs.home, "plugins", `resource-mpi-hosts-v${PROVIDER_VERSION}`, "pulumi-resource-mpi-hosts"), "utf8");
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "mpi-hosts-package-"));
  dirs = {
    pack: path.join(work, "pack"),
    project: path.join(work, "my-cluster"),
    state: path.join(work, "state"),
    home: path.join(work, "pulumi-home"),
  };
  for (const d of [dirs.pack, dirs.state, dirs.home]) fs.mkdirSync(d);
  // The command provider (the verification job's) as scripts/build-engine.sh installed it: a user has it too.
  const ownHome = process.env.PULUMI_HOME || path.join(os.homedir(), ".pulumi");
  fs.cpSync(path.join(ownHome, "plugins", "resource-command-v1.2.1"), path.join(dirs.home, "plugins", "resource-command-v1.2.1"), {
    recursive: true,
  });
  lab = await timings.time("lab up (2 trixie hosts)", () => startLab({ name: NAME, hosts: 2, release: "trixie" }));
});

afterAll(async () => {
  process.stdout.write(timings.report());
  await stopLab(NAME);
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe("the npm package, installed into a project of its own", () => {
  it("1. npm pack makes a tarball of compiled code, declarations, the bin, the plugin, templates and schemas, and no source", async () => {
    const packed = await timings.time("npm pack (build included)", () =>
      run("npm", ["pack", "--pack-destination", dirs.pack], checkout, { ...process.env }),
    );
    expectExit(packed, 0);
    const name = fs.readdirSync(dirs.pack).find((f) => f.endsWith(".tgz"));
    const version = JSON.parse(fs.readFileSync(path.join(checkout, "package.json"), "utf8")).version;
    expect(name).toBe(`mpi-hosts-${version}.tgz`);
    tarball = path.join(dirs.pack, name!);
    const listing = await run("tar", ["tzf", tarball], dirs.pack);
    const files = listing.stdout.split("\n").filter(Boolean);
    expect(files).toEqual(
      expect.arrayContaining([
        "package/package.json",
        "package/dist/cli/main.js",
        "package/dist/components/index.js",
        "package/dist/components/index.d.ts",
        "package/dist/components/provider/plugin/server.js",
        "package/dist/templates/_lib/lib.sh.hbs",
        "package/dist/templates/verify/verify.sh.hbs",
        "package/dist/schemas/cluster.schema.json",
        "package/dist/lab/build-image.sh",
        "package/examples/lab/index.ts",
        "package/examples/lab/Pulumi.yaml",
      ]),
    );
    // TypeScript only as declarations and the template's program; no test of ours.
    expect(files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts") && !f.startsWith("package/examples/"))).toEqual([]);
    expect(files.filter((f) => /\.test\.|\/test\//.test(f))).toEqual([]);
  });

  it("2. pulumi new lays out the template, and npm install of the tarball adds mpi-hosts without ts-node as its need", async () => {
    // `pulumi new` takes a local template by absolute path. The stand-in language host (standins/) cannot start without
    // an SDK to load, which an empty directory does not have yet: it is pointed at the checkout's for this step only
    // (the official one starts without it). Nothing of the project is run here.
    const made = await timings.time("pulumi new (template, generate only)", () =>
      run(
        "pulumi",
        ["new", path.join(checkout, "examples", "lab"), "--dir", dirs.project, "--generate-only", "--yes", "--name", "my-cluster"],
        work,
        { ...userEnv(), PULUMI_NODEJS_SDK_DIR: checkout },
      ),
    );
    expectExit(made, 0);
    expect(fs.readFileSync(path.join(dirs.project, "Pulumi.yaml"), "utf8")).toMatch(/^name: my-cluster\n/);
    expect(fs.readFileSync(path.join(dirs.project, "index.ts"), "utf8")).toContain('from "mpi-hosts"');

    // From the registry this machine reaches, through npm's cache (--prefer-offline: what is cached is not asked for).
    const installed = await timings.time("npm install (template deps + tarball)", () =>
      run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", tarball], dirs.project, { ...userEnv(), HOME: os.homedir() }),
    );
    expectExit(installed, 0);
    const project = JSON.parse(fs.readFileSync(path.join(dirs.project, "package.json"), "utf8"));
    expect(project.dependencies["mpi-hosts"]).toMatch(/^file:.*mpi-hosts-.*\.tgz$/);
    const pkg = JSON.parse(fs.readFileSync(path.join(dirs.project, "node_modules", "mpi-hosts", "package.json"), "utf8"));
    expect(Object.keys(pkg.dependencies ?? {})).not.toContain("ts-node");
    expect(Object.keys(pkg.dependencies ?? {})).toEqual(expect.arrayContaining(["@grpc/grpc-js", "google-protobuf", "@pulumi/pulumi"]));
    // npm's own check: nothing the installed packages declare is missing or invalid.
    expectExit(await run("npm", ["ls", "--omit=dev", "--all"], dirs.project, { ...userEnv(), HOME: os.homedir() }), 0);
  });

  it("3. the hidden runs cannot see the repository: with the checkout's plugin installed, a preview fails", async () => {
    // The guard itself: the checkout is an unreadable empty directory there.
    const look = await hidden("sh", [
      "-c",
      `ls -A '${checkout}' | wc -l; test -e '${checkout}/package.json' && echo visible || echo hidden`,
    ]);
    expectExit(look, 0);
    expect(look.stdout).toContain("hidden");

    expectExit(await hidden("pulumi", ["login", `file://${dirs.state}`]), 0);
    expect(JSON.parse(fs.readFileSync(path.join(dirs.home, "credentials.json"), "utf8")).current).toBe(`file://${dirs.state}`);
    expectExit(await pulumi(["stack", "init"]), 0);
    fs.writeFileSync(path.join(dirs.project, `Pulumi.${STACK}.yaml`), renderLabStack(lab!));

    // The checkout's own launcher (what scripts/install-plugin.sh installs), in this PULUMI_HOME: it must not serve.
    expectExit(await run("bash", [path.join(checkout, "scripts", "install-plugin.sh")], checkout, { ...userEnv() }), 0);
    expect(installedLauncher()).toContain(`checkout='${checkout}'`);
    const refused = await timings.time("pulumi preview, checkout's plugin", () => pulumi(["preview"]));
    expectExit(refused, "non-zero");
    expect(refused.stdout + refused.stderr).toContain(`the mpi-hosts checkout ${checkout} is gone`);
  });

  it("4. mpi-hosts plugin install, from the installed bin, installs the package's compiled plugin", async () => {
    const done = await mpiHosts(["plugin", "install"]);
    expectExit(done, 0);
    const pkgDir = path.join(dirs.project, "node_modules", "mpi-hosts");
    expect(done.stderr).toContain(`runs the package ${pkgDir}`);
    const launcher = installedLauncher();
    expect(launcher).toContain(`package='${pkgDir}'`);
    expect(launcher).toContain(`exec '${fs.realpathSync(process.execPath)}' "$package/dist/components/provider/plugin/server.js"`);
    expect(launcher).not.toContain(checkout);
  });

  it("5. pulumi up from the project configures the hosts and the verification job passes", async () => {
    const up = await timings.time("pulumi up (2 hosts, verification on)", () => pulumi(["up", "--yes", "--skip-preview"]));
    expectExit(up, 0);
    const report = await pulumi(["stack", "output", "verification", "--json"]);
    expectExit(report, 0);
    expect(JSON.parse(report.stdout).ok).toBe(true);
    // Plain tools on the hosts, not our probes.
    for (const h of ["host1", "host2"]) {
      expect(await root(lab!, h, "cat /home/mpi/.mpi-hosts/hostfile")).toMatch(/^host1 slots=\d+$/m);
    }
  });

  it("6. mpi-hosts drift from the installed bin: exit 0 in sync, exit 2 naming the host after a hand edit", async () => {
    const clean = await timings.time("mpi-hosts drift (in sync)", () => mpiHosts(["drift", "--stack", STACK]));
    expectExit(clean, 0);
    expect(clean.stdout).toBe(`${STACK}: every host is as declared (no drift)\n`);

    await root(lab!, "host2", "sed -i 's/^btl_tcp_port_range_v4 = 100$/btl_tcp_port_range_v4 = 64/' /home/mpi/.openmpi/mca-params.conf");
    const found = await timings.time("mpi-hosts drift (drift found)", () => mpiHosts(["drift", "--stack", STACK]));
    expectExit(found, 2);
    expect(found.stdout).toContain("host2:\n  mcaParams: changed on the host since the last `pulumi up`");
    expect(found.stdout).toContain("- btl_tcp_port_range_v4 = 64");
    expect(found.stdout).not.toContain("\nhost1:\n");
  });

  it("6b. after an upgrade in place (npm install of a newer tarball), the newer package reads the older one's state", async () => {
    // The newer release: the same files under the next version (npm pack of the unpacked tarball; its prepack needs a
    // clone). What changes is what an upgrade changes for the engine: the package's version, not the plugin's.
    const unpacked = path.join(work, "next");
    fs.mkdirSync(unpacked);
    expectExit(await run("tar", ["xzf", tarball, "-C", unpacked], work), 0);
    const manifest = path.join(unpacked, "package", "package.json");
    const next = { ...JSON.parse(fs.readFileSync(manifest, "utf8")), version: NEXT_VERSION };
    fs.writeFileSync(manifest, `${JSON.stringify(next, null, 2)}\n`);
    expectExit(await run("npm", ["pack", "--ignore-scripts", "--pack-destination", dirs.pack], path.join(unpacked, "package")), 0);
    const launcherBefore = installedLauncher();

    const upgraded = await timings.time("npm install (newer tarball)", () =>
      run(
        "npm",
        ["install", "--no-audit", "--no-fund", "--prefer-offline", path.join(dirs.pack, `mpi-hosts-${NEXT_VERSION}.tgz`)],
        dirs.project,
        {
          ...userEnv(),
          HOME: os.homedir(),
        },
      ),
    );
    expectExit(upgraded, 0);
    expect(JSON.parse(fs.readFileSync(path.join(dirs.project, "node_modules", "mpi-hosts", "package.json"), "utf8")).version).toBe(
      NEXT_VERSION,
    );
    // No new plugin install: the launcher runs the same path, now the newer package's files.
    expect(installedLauncher()).toBe(launcherBefore);
    const found = await timings.time("mpi-hosts drift (newer package, older state)", () => mpiHosts(["drift", "--stack", STACK]));
    expectExit(found, 2);
    expect(found.stdout).toContain("host2:\n  mcaParams: changed on the host since the last `pulumi up`");
    const state = await pulumi(["stack", "export"]);
    expectExit(state, 0);
    const providers = (JSON.parse(state.stdout).deployment.resources as Array<{ type: string; urn: string; inputs?: { version?: string } }>)
      .filter((r) => r.type === "pulumi:providers:mpi-hosts")
      .map((r) => r.inputs?.version);
    expect(providers).toEqual([PROVIDER_VERSION]);
  });

  it("7. pulumi destroy removes what up put on the hosts", async () => {
    const destroyed = await timings.time("pulumi destroy", () => pulumi(["destroy", "--yes", "--skip-preview"]));
    expectExit(destroyed, 0);
    for (const h of ["host1", "host2"]) {
      expect(await root(lab!, h, "test -e /home/mpi/.mpi-hosts/hostfile && echo present || echo gone")).toBe("gone\n");
    }
    expectExit(await pulumi(["stack", "rm", "--yes"]), 0);
  });
});
