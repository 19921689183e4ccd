import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import YAML from "yaml";

/** Runs the real command line, as a user would. */
function validate(file: string) {
  const result = spawnSync("npx", ["ts-node", "--transpile-only", "cli/main.ts", "validate", file], { encoding: "utf8" });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function mutated(mutate: (config: Record<string, any>) => void): string {
  const doc = YAML.parse(fs.readFileSync("Pulumi.example.yaml", "utf8"));
  mutate(doc.config);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "validate-")), "Pulumi.mutated.yaml");
  fs.writeFileSync(file, YAML.stringify(doc));
  return file;
}

describe("npm run validate", () => {
  it("exits 0 on the example", () => {
    const { code, stdout } = validate("Pulumi.example.yaml");
    expect(code).toBe(0);
    expect(stdout).toBe("Pulumi.example.yaml: valid (5 hosts, 56 slots)\n");
  });

  it.each([
    ["port 70000", (c: any) => (c["mpi-hosts:hosts"][2].port = 70000), "mpi-hosts:hosts[2].port: 70000 is not a TCP port (1-65535)"],
    ["a duplicate host name", (c: any) => (c["mpi-hosts:hosts"][1].name = "mac1"), "mpi-hosts:hosts[1].name:"],
    ["overlapping port ranges", (c: any) => (c["mpi-hosts:mpi"].oobPorts = "50090-50190"), "mpi-hosts:mpi.oobPorts:"],
    ["a BTL range smaller than a host's slots", (c: any) => (c["mpi-hosts:mpi"].btlPorts = "50000-50003"), "mpi-hosts:mpi.btlPorts:"],
    ["an unknown verify.from", (c: any) => (c["mpi-hosts:verify"].from = "nobody"), "mpi-hosts:verify.from:"],
  ])("exits 1 on %s, naming the field, with no stack trace", (_what, mutate, expected) => {
    const { code, stdout, stderr } = validate(mutated(mutate));
    expect(code).toBe(1);
    expect(stdout).toBe("");
    const errors = stderr.split("\n").filter((l) => l && !l.startsWith("warning: "));
    expect(errors).toHaveLength(1);
    expect(errors[0].startsWith(expected)).toBe(true);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it("says which file is missing", () => {
    const { code, stderr } = validate("Pulumi.nosuch.yaml");
    expect(code).toBe(1);
    expect(stderr).toBe("Pulumi.nosuch.yaml: no such file (a Pulumi stack config, e.g. Pulumi.example.yaml)\n");
  });
});

describe("npm run render", () => {
  it("writes identical bytes on two runs, one folder per host plus the README", () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "render-"));
    const run = (out: string) =>
      spawnSync("npx", ["ts-node", "--transpile-only", "cli/main.ts", "render", "--stack", "example", "--out", out], { encoding: "utf8" });
    expect(run(path.join(tmp, "a")).status).toBe(0);
    expect(run(path.join(tmp, "b")).status).toBe(0);
    const listing = (dir: string): string[] =>
      fs
        .readdirSync(dir, { recursive: true, encoding: "utf8" })
        .filter((f) => fs.statSync(path.join(dir, f)).isFile())
        .sort();
    const files = listing(path.join(tmp, "a"));
    expect(files).toEqual(listing(path.join(tmp, "b")));
    for (const f of files) expect(fs.readFileSync(path.join(tmp, "a", f))).toEqual(fs.readFileSync(path.join(tmp, "b", f)));
    expect(fs.readdirSync(path.join(tmp, "a")).sort()).toEqual(["README.md", "linux1", "linux2", "linux3", "mac1", "mac2"]);
    expect(fs.readFileSync(path.join(tmp, "a", "README.md"), "utf8")).toContain("```mermaid");
  });
});
