import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  backendUrl,
  cachedEngineBin,
  isLabStackFile,
  LAB_PASSPHRASE,
  passphraseEnv,
  previewStack,
  pulumiSettings,
  shellExports,
  stackConfigPath,
  stateDir,
} from "./pulumiRunner";
import { STACK_HEADER } from "../lab/stack";
import { shellQuote } from "../components/templates/shellQuote";

describe("the settings mpi-hosts runs pulumi with", () => {
  const lab = `# ${STACK_HEADER}\nconfig: {}\n`;

  it.each([
    ["a passphrase in the environment is used as it is", { PULUMI_CONFIG_PASSPHRASE: "s3cret" }, "prod", lab, {}],
    ["so is a passphrase file", { PULUMI_CONFIG_PASSPHRASE_FILE: "/etc/mpi-hosts/pass" }, "prod", undefined, {}],
    ["an empty passphrase is a passphrase", { PULUMI_CONFIG_PASSPHRASE: "" }, "prod", undefined, {}],
    ["a lab stack defaults to the lab passphrase", {}, "lab", lab, { PULUMI_CONFIG_PASSPHRASE: LAB_PASSPHRASE }],
  ])("%s", (_what, env, stack, file, expected) => {
    expect(passphraseEnv(stack, env, () => file)).toEqual(expected);
  });

  it.each([
    ["any other stack", "config:\n  mpi-hosts:hosts: []\n"],
    ["a stack without a config file", undefined],
    ["a file that only mentions the lab header further down", `config: {}\n# ${STACK_HEADER}\n`],
  ])("refuses to guess a passphrase for %s", (_what, file) => {
    expect(() => passphraseEnv("prod", {}, () => file)).toThrow(/PULUMI_CONFIG_PASSPHRASE .*not set for stack prod/);
  });

  it("takes plugins only from the plugin cache and beside pulumi, never from PATH, and downloads none", () => {
    const { vars } = pulumiSettings("lab", { PATH: cachedEngineBin({}), PULUMI_CONFIG_PASSPHRASE: "x" });
    expect(vars).toMatchObject({ PULUMI_IGNORE_AMBIENT_PLUGINS: "true", PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true" });
  });

  it("recognizes lab stack files by their first line", () => {
    expect(isLabStackFile(lab)).toBe(true);
    expect(isLabStackFile("config: {}\n")).toBe(false);
  });

  it("keeps local state in the checkout unless told otherwise", () => {
    expect(stateDir({})).toMatch(/\/\.pulumi-state$/);
    expect(backendUrl({ MPI_HOSTS_STATE: "/tmp/x" })).toBe("file:///tmp/x");
    expect(backendUrl({ MPI_HOSTS_STATE: "/tmp/x", PULUMI_BACKEND_URL: "s3://bucket/mpi" })).toBe("s3://bucket/mpi");
    // A project elsewhere (the e2e tests' snapshot) brings its stack files and its state along.
    expect(stateDir({ MPI_HOSTS_PROJECT: "/tmp/p" })).toBe("/tmp/p/.pulumi-state");
    expect(stackConfigPath("lab", { MPI_HOSTS_PROJECT: "/tmp/p" })).toBe("/tmp/p/Pulumi.lab.yaml");
  });

  it("prints shell exports that survive hostile values and keep the shell's PATH", () => {
    expect(shellExports({ pathPrefix: "/opt/en gine", vars: { PULUMI_BACKEND_URL: "file:///tmp/it's" } })).toBe(
      `export PATH='/opt/en gine':"$PATH"\nexport PULUMI_BACKEND_URL='file:///tmp/it'\\''s'\n`,
    );
  });
});

describe("the stack file read for the lab passphrase default (one readIfExists with cli/backend.ts)", () => {
  let project: string;
  beforeEach(() => (project = fs.mkdtempSync(path.join(os.tmpdir(), "mpi-hosts-project-"))));
  afterEach(() => fs.rmSync(project, { recursive: true, force: true }));

  it("reads the real Pulumi.<stack>.yaml: a lab stack gets the lab passphrase, a missing one none", () => {
    fs.writeFileSync(path.join(project, "Pulumi.lab.yaml"), `# ${STACK_HEADER}\nconfig: {}\n`);
    expect(passphraseEnv("lab", { MPI_HOSTS_PROJECT: project })).toEqual({ PULUMI_CONFIG_PASSPHRASE: LAB_PASSPHRASE });
    expect(() => passphraseEnv("gone", { MPI_HOSTS_PROJECT: project })).toThrow(/PULUMI_CONFIG_PASSPHRASE .*not set for stack gone/);
  });

  it("names a stack file that is there but cannot be read, rather than taking it for a stack that is not a lab's", () => {
    fs.mkdirSync(path.join(project, "Pulumi.odd.yaml"));
    expect(() => passphraseEnv("odd", { MPI_HOSTS_PROJECT: project })).toThrow(
      `${path.join(project, "Pulumi.odd.yaml")}: cannot read it (EISDIR)`,
    );
  });
});

describe("pulumi run through the Automation API (previewStack): exit code and output, as runPulumi gives them", () => {
  // A stand-in for the pulumi binary (a shell script): what is under test is how the SDK (v3.248.0) wraps a command
  // that failed, and what previewStack makes of it; the real engine's failures are in the e2e tests (backend.test.ts:
  // a missing stack; engine.test.ts: a host down; previewEvents.test.ts: the events against pulumi's own --json digest).
  let dir: string;
  const env = (mode: string): NodeJS.ProcessEnv => ({
    PATH: `${dir}/root/bin:/usr/bin:/bin`,
    HOME: dir,
    PULUMI_CONFIG_PASSPHRASE: "x",
    MPI_HOSTS_PROJECT: path.join(dir, "project"),
    MPI_HOSTS_STATE: path.join(dir, "state"),
    FAKE_MODE: mode,
  });
  const args = () => fs.readFileSync(path.join(dir, "args"), "utf8");

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mpi-hosts-automation-"));
    fs.mkdirSync(path.join(dir, "root", "bin"), { recursive: true });
    fs.mkdirSync(path.join(dir, "project"));
    const script = [
      "#!/bin/sh",
      // PulumiCommand.get runs `pulumi version` with process.env, not the settings: the version comes from a file.
      `if [ "$1" = version ]; then cat ${shellQuote(path.join(dir, "version"))}; exit 0; fi`,
      `echo "$@" >> ${shellQuote(path.join(dir, "args"))}`,
      'case "$FAKE_MODE" in',
      "  missing) echo \"error: no stack named 'lab' found\" >&2; exit 255;;",
      '  locked) echo "Previewing update (lab):"; echo "error: the stack is currently locked by 1 lock(s)" >&2; exit 255;;',
      "  killed) kill -KILL $$;;",
      '  silent) echo "Previewing update (lab):"; exit 0;;',
      "esac",
    ].join("\n");
    fs.writeFileSync(path.join(dir, "root", "bin", "pulumi"), `${script}\n`, { mode: 0o755 });
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    fs.rmSync(path.join(dir, "args"), { force: true });
    fs.writeFileSync(path.join(dir, "version"), "v3.248.0\n");
  });

  it.each([
    ["a missing stack (the SDK's StackNotFoundError)", "missing", { code: 255, stdout: "", stderr: "error: no stack named 'lab' found" }],
    [
      "a locked stack (ConcurrentUpdateError)",
      "locked",
      { code: 255, stdout: "Previewing update (lab):", stderr: "error: the stack is currently locked by 1 lock(s)" },
    ],
    ["pulumi killed (a crash)", "killed", { code: 128, stdout: "", stderr: "" }],
    ["a preview that exits 0 and sends no event", "silent", { code: 0, stdout: "Previewing update (lab):", stderr: "" }],
  ])("gives %s", async (_what, mode, expected) => {
    const events: unknown[] = [];
    expect(await previewStack("lab", { refresh: true, onEvent: (e) => events.push(e), env: env(mode) })).toEqual(expected);
    expect(events).toEqual([]);
  });

  it("runs one pulumi preview --refresh for the stack, without pulumi stack select (the project's current stack stays)", async () => {
    await previewStack("lab", { refresh: true, onEvent: () => undefined, env: env("silent") });
    const ran = args().trim().split("\n");
    expect(ran).toHaveLength(1);
    expect(ran[0]).toMatch(
      /^preview --refresh --color never --exec-kind auto\.local --event-log tcp:\/\/127\.0\.0\.1:\d+ --stack lab --non-interactive$/,
    );
  });

  it("refuses to run where a directory tcp: is, which the SDK would delete after the preview", async () => {
    const cwd = process.cwd();
    fs.mkdirSync(path.join(dir, "cwd", "tcp:", "data"), { recursive: true });
    process.chdir(path.join(dir, "cwd"));
    try {
      await expect(previewStack("lab", { onEvent: () => undefined, env: env("silent") })).rejects.toThrow(
        /tcp: is there, .*run from another directory/,
      );
    } finally {
      process.chdir(cwd);
    }
    expect(fs.existsSync(path.join(dir, "cwd", "tcp:", "data"))).toBe(true);
    expect(fs.existsSync(path.join(dir, "args"))).toBe(false);
  });

  it("runs a pulumi installed in a directory not named bin (pulumi/actions' tool cache, asdf shims)", async () => {
    fs.mkdirSync(path.join(dir, "toolcache", "x64"), { recursive: true });
    fs.copyFileSync(path.join(dir, "root", "bin", "pulumi"), path.join(dir, "toolcache", "x64", "pulumi"));
    fs.chmodSync(path.join(dir, "toolcache", "x64", "pulumi"), 0o755);
    const elsewhere = { ...env("silent"), PATH: `${dir}/toolcache/x64:/usr/bin:/bin` };
    expect(await previewStack("lab", { refresh: true, onEvent: () => undefined, env: elsewhere })).toMatchObject({ code: 0 });
    expect(args()).toMatch(/^preview --refresh /);
  });

  it.each([
    ["an older pulumi", "v3.200.0", /pulumi 3\.200\.0, older than 3\.248\.0 \(the engine mpi-hosts is tested with\)/],
    ["another major version", "v4.0.0", /Major version mismatch/],
  ])("refuses %s, naming it, before running anything", async (_what, version, message) => {
    fs.writeFileSync(path.join(dir, "version"), `${version}\n`);
    // The SDK reads this from the process (scripts/engine-env.sh sets it): without it the SDK checks the major version.
    const skip = process.env.PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK;
    delete process.env.PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK;
    try {
      await expect(previewStack("lab", { onEvent: () => undefined, env: env("silent") })).rejects.toThrow(message);
    } finally {
      if (skip !== undefined) process.env.PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK = skip;
    }
    expect(fs.existsSync(path.join(dir, "args"))).toBe(false);
  });
});
