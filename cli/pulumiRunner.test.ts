import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  backendUrl,
  cachedEngineBin,
  isLabStackFile,
  LAB_PASSPHRASE,
  passphraseEnv,
  pulumiSettings,
  shellExports,
  stackConfigPath,
  stateDir,
} from "./pulumiRunner";
import { STACK_HEADER } from "../lab/stack";

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
