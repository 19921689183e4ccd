/**
 * What Pulumi stores of the facet provider (its serialized form, in every facet's state) and how
 * that form finds the operations when the engine's dynamic-provider process runs it: plain Node,
 * no TypeScript hook, working directory = the Pulumi project.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { facetProvider } from "./facetProvider";
import { packHostProbes, packScripts } from "./scriptPack";

const projectRoot = path.resolve(__dirname, "..", "..");

async function serialized(): Promise<string> {
  return (await pulumi.runtime.serializeFunction(() => facetProvider)).text;
}

/** Runs the serialized provider's diff the way the engine's dynamic-provider process does (require-from-string). */
function diffInPlainNode(providerText: string, cwd: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mpi-hosts-provider-"));
  try {
    fs.writeFileSync(path.join(dir, "provider.js"), providerText);
    const facet = {
      host: "h",
      facet: "hostfile",
      hostProbes: packHostProbes({ hostfile: { script: "p", privileged: false } }),
      connection: {
        name: "h",
        address: "192.0.2.1",
        port: 22,
        user: "u",
        privateKey: "k",
        hostKeys: ["ssh-ed25519 AAAA"],
        connectTimeoutSeconds: 5,
      },
      privileged: false,
      scripts: packScripts({ probe: "p", apply: "a", remove: "r" }),
      state: { hostfile: "h slots=1\n" },
      secretEnv: {},
      timeoutSeconds: 5,
    };
    const script = [
      `const fs = require("fs");`,
      `const provider = require(require.resolve("require-from-string", { paths: [${JSON.stringify(projectRoot)}] }))(fs.readFileSync(${JSON.stringify(path.join(dir, "provider.js"))}, "utf8")).handler();`,
      `const olds = ${JSON.stringify({ ...facet, state: { hostfile: null }, lastApply: "" })};`,
      `provider.diff("h/hostfile", olds, ${JSON.stringify(facet)}).then((r) => console.log(JSON.stringify(r)), (e) => { console.log("error: " + e.message); });`,
    ].join("\n");
    return execFileSync(process.execPath, ["-e", script], { cwd, encoding: "utf8", timeout: 60000 }).trim();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe("the serialized facet provider", () => {
  it("is a small loader: the operations stay out of every facet's state", async () => {
    const text = await serialized();
    expect(text.length).toBeLessThan(5000);
    expect(text).toContain(path.join(projectRoot, "components", "provider", "facetOperations"));
    expect(text).not.toMatch(/runParts|decodeProbe|needsUpdate/);
  });

  it("runs the checkout's operations in a plain Node process (no TypeScript hook), as the engine runs it", async () => {
    expect(diffInPlainNode(await serialized(), projectRoot)).toBe('{"changes":true,"replaces":[],"deleteBeforeReplace":false}');
  });

  it("finds the operations in the project it runs in when the state was written by a checkout elsewhere", async () => {
    const elsewhere = (await serialized()).split(projectRoot).join("/nonexistent/old-checkout");
    expect(diffInPlainNode(elsewhere, projectRoot)).toBe('{"changes":true,"replaces":[],"deleteBeforeReplace":false}');
  });

  it("says where it looked and what to do when neither place has them", async () => {
    const elsewhere = (await serialized()).split(projectRoot).join("/nonexistent/old-checkout");
    expect(diffInPlainNode(elsewhere, os.tmpdir())).toMatch(
      /^error: mpi-hosts: the facet provider's code is neither at \/nonexistent\/old-checkout\/components\/provider\/facetOperations .* run pulumi in the mpi-hosts project directory$/,
    );
  });
});
