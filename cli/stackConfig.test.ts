import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { encryptedLoginSecrets, loadStackConfig } from "./stackConfig";

describe("the stack config a CLI command works on", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mpi-hosts-stack-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };

  it("lists the login secrets the stack file has encrypted (npm run verify cannot decrypt them)", () => {
    const file = write(
      "Pulumi.secrets.yaml",
      "config:\n  mpi-hosts:sshPrivateKey:\n    secure: v1:abc\n  mpi-hosts:sshKeyPassphrase:\n    secure: v1:def\n  mpi-hosts:other:\n    secure: v1:x\n",
    );
    expect(encryptedLoginSecrets(file)).toEqual(["mpi-hosts:sshPrivateKey", "mpi-hosts:sshKeyPassphrase"]);
    expect(encryptedLoginSecrets(write("Pulumi.plain.yaml", "config:\n  mpi-hosts:ssh:\n    user: mpi\n"))).toEqual([]);
  });

  it("names a missing file", () => {
    expect(loadStackConfig(path.join(dir, "Pulumi.nosuch.yaml"))).toEqual({
      error: `${path.join(dir, "Pulumi.nosuch.yaml")}: no such file (a Pulumi stack config, e.g. Pulumi.example.yaml)`,
    });
  });

  it("names a file that is not YAML, with the parser's first line", () => {
    const file = write("Pulumi.broken.yaml", "config:\n  mpi-hosts:hosts: [\n");
    expect(loadStackConfig(file).error).toMatch(new RegExp(`^${file.replace(/[.]/g, "\\.")}: not readable as YAML \\(.+\\)$`));
  });

  it("lists the config problems, each with its path", () => {
    const file = write("Pulumi.bad.yaml", "config:\n  mpi-hosts:hosts: []\n");
    expect(loadStackConfig(file).error).toBe("mpi-hosts:mpi: missing (required)\nmpi-hosts:hosts: has 0 entries (at least 1)");
  });

  it("gives the cluster of the example stack, and its warnings apart", () => {
    const { cluster, warnings, error } = loadStackConfig("Pulumi.example.yaml");
    expect(error).toBeUndefined();
    expect(cluster?.hosts.map((h) => h.name)).toEqual(["mac1", "mac2", "linux1", "linux2", "linux3"]);
    expect(warnings).toMatch(/^warning: /);
  });
});
