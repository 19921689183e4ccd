/**
 * The `mpi-hosts` bin as a process: what a shell sees (exit statuses from process.exit, stdout and stderr apart). The
 * package's bin is the compiled cli/main.ts (package.json "bin" -> dist/cli/main.js, test/unit/package.test.ts);
 * here it runs through ts-node, as `npm run <command>` runs it in a clone.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const root = path.resolve(__dirname, "..");

function bin(args: string[]) {
  const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(__dirname, "main.ts"), ...args], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, TS_NODE_PROJECT: path.join(root, "tsconfig.json") },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("the mpi-hosts bin", () => {
  it("starts with a node shebang, so that npm can link it as a command", () => {
    expect(fs.readFileSync(path.join(__dirname, "main.ts"), "utf8").split("\n")[0]).toBe("#!/usr/bin/env node");
  });

  it("--help: the command list on stdout, exit 0", () => {
    const r = bin(["--help"]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toMatch(/^usage: npm run <command> -- \[options\] {3}\(or npm run cli -- <command> \[options\]\)/);
    expect(r.stdout).toContain("\n  plugin    install the provider plugin");
  });

  it("no command: the list, exit 1; an unknown one: named on stderr, exit 1", () => {
    expect(bin([])).toMatchObject({ code: 1, stderr: "" });
    const unknown = bin(["deploy"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^mpi-hosts: unknown command 'deploy'\n\nusage: npm run <command> /);
  });

  it("runs a command with its own exit statuses: validate is 0 on a valid file (the template's example), 1 on a missing one", () => {
    expect(bin(["validate", "examples/lab/Pulumi.example.yaml"])).toMatchObject({ code: 0, stderr: "" });
    const missing = bin(["validate", "Pulumi.nosuch.yaml"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("Pulumi.nosuch.yaml");
  });

  it("plugin install --help: its help, exit 0, nothing installed", () => {
    const r = bin(["plugin", "install", "--help"]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toMatch(/^usage: npm run plugin -- install \[--pulumi PATH\]/);
  });
});
