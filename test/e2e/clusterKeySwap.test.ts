/**
 * Issue 15, residual R3 (docs/plans/issue15-item3.md section 5): the cluster key pair is the state's, so whoever can
 * write the state can put a key pair of their own there; before the anchor, the next plain `pulumi up` installed its
 * public half in every host's authorized_keys (from=<mpi.network>,restrict: commands as the login user, who has sudo).
 * Under the real engine on 2 trixie lab hosts:
 * 1. `pulumi up` from nothing: each host records the key generation and the key's fingerprint beside the key;
 * 2. the ClusterKey's publicKey alone replaced in the state (`stack export`/`stack import`): `pulumi up` fails at the
 *    ClusterKey (the halves are not one pair), before any host is touched;
 * 3. both halves replaced with a freshly generated pair (the private half as a plaintext secret): `pulumi up` fails
 *    naming every host, and authorized_keys, the key files and the record stay byte for byte (sha256sum as root);
 * 4. a bumped mpi-hosts:ssh.clusterKeyRotation (what the message says to do if it was meant) makes a new pair, which
 *    every host takes, and the verification job passes.
 * Fails on the code before the anchor: step 3's `pulumi up` exits 0 and every authorized_keys holds the swapped key
 * (and step 2 gets as far as the hosts, where the probe after apply finds the halves differ).
 *   export PULUMI_HOME=/tmp/ph-<you>; bash scripts/build-engine.sh && bash scripts/install-plugin.sh
 *   . scripts/engine-env.sh && npx jest test/e2e/clusterKeySwap.test.ts --selectProjects e2e --runInBand
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { closeAll } from "../../components/provider/remote";
import type { VerifyReport } from "../../components/verify/report";
import { EngineLab, expectExit, pulumi, root, startEngineLab, stopEngineLab, Timings } from "./support";

const NAME = "xk2";
const HOSTS = ["host1", "host2"];
const SSH = "/home/mpi/.ssh";
/** What the swap must not change on a host: the login grant, the key pair, the record. */
const WATCHED = ["authorized_keys", "mpi-hosts_ed25519", "mpi-hosts_ed25519.pub", "mpi-hosts_ed25519.generation"].map((f) => `${SSH}/${f}`);
/** Shell for a file's mode, owner and sha256, or that it is absent (a host before the anchor has no record). */
const statAndSum = (f: string) => `if [ -e ${f} ]; then stat -c '%a %U %n' ${f}; sha256sum <${f}; else echo "${f} absent"; fi`;
const timings = new Timings("clusterKeySwap.test.ts (2 trixie hosts) wall times");

interface ExportedResource {
  type: string;
  urn: string;
  inputs?: Record<string, any>;
  outputs?: Record<string, any>;
}
type Exported = { deployment: { resources: ExportedResource[] } };

let e: EngineLab;
let dir: string;
/** The state after step 1, secrets in plaintext: what each step edits. */
let clean: Exported;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "xk-e2e-swap-"));
  e = await timings.time("lab up + stack init", () => startEngineLab(NAME, HOSTS.length, "trixie"));
});

afterAll(async () => {
  process.stdout.write(timings.report());
  await closeAll();
  await stopEngineLab(e, NAME);
  fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * A fresh ed25519 pair from ssh-keygen: what a state writer would make, with the cluster key's own comment (a comment
 * the facets' schema refuses, e.g. with a quote, stops the swap earlier, at the plugin's Check: the hosts' anchor is
 * what this test is about).
 */
function freshPair(): { publicKey: string; privateKey: string } {
  const file = path.join(dir, `k${Date.now()}`);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `mpi-hosts cluster ${NAME}`, "-f", file]);
  return { publicKey: fs.readFileSync(`${file}.pub`, "utf8").trim(), privateKey: fs.readFileSync(file, "utf8") };
}

/** OpenSSH's fingerprint of a public key line, by ssh-keygen on this machine. */
function fingerprintOf(publicKey: string): string {
  return execFileSync("ssh-keygen", ["-l", "-f", "-"], { input: `${publicKey}\n`, encoding: "utf8" }).split(" ")[1];
}

async function exportState(): Promise<Exported> {
  const out = await pulumi(e, ["stack", "export", "--show-secrets"]);
  expectExit(out, 0);
  return JSON.parse(out.stdout) as Exported;
}

/** Imports `state` with the ClusterKey's outputs edited by `edit` (the file is removed again: it holds keys). */
async function importWithClusterKey(edit: (outputs: Record<string, any>) => void): Promise<void> {
  const state = JSON.parse(JSON.stringify(clean)) as Exported;
  const key = state.deployment.resources.find((r) => r.type === "mpi-hosts:index:ClusterKey")!;
  edit(key.outputs!);
  const file = path.join(dir, "state.json");
  fs.writeFileSync(file, JSON.stringify(state), { mode: 0o600 });
  try {
    expectExit(await pulumi(e, ["stack", "import", "--file", file]), 0);
  } finally {
    fs.rmSync(file);
  }
}

/** Mode, owner and sha256 of every watched file on every host, as root with plain tools. */
async function watched(): Promise<Record<string, string>> {
  const entries = await Promise.all(HOSTS.map(async (h) => [h, await root(e.lab, h, WATCHED.map(statAndSum).join("; "))] as const));
  return Object.fromEntries(entries);
}

async function heldFingerprint(host: string): Promise<string> {
  return (await root(e.lab, host, `ssh-keygen -l -f ${SSH}/mpi-hosts_ed25519`)).split(" ")[1];
}

async function output<T>(name: string): Promise<T> {
  const out = await pulumi(e, ["stack", "output", name, "--json"]);
  expectExit(out, 0);
  return JSON.parse(out.stdout) as T;
}

describe("a cluster key pair swapped in the state, under the real engine on 2 trixie hosts", () => {
  let installed = "";
  let before: Record<string, string> = {};

  it("1. pulumi up from nothing: each host records generation 1 and the key's fingerprint beside the key", async () => {
    const up = await timings.time("step 1: pulumi up from nothing", () => pulumi(e, ["up", "--yes", "--skip-preview"]));
    expectExit(up, 0);
    installed = fingerprintOf(await output<string>("clusterPublicKey"));
    // Taken before the checks below, so that each later step runs (and shows what it shows) even where these fail.
    clean = await exportState();
    before = await watched();
    for (const h of HOSTS) {
      expect(await heldFingerprint(h)).toBe(installed);
      const record = await root(e.lab, h, `cat ${SSH}/mpi-hosts_ed25519.generation`);
      expect(record.split("\n").filter((l) => !l.startsWith("#"))).toEqual(["generation=1", `key=${installed}`, ""]);
    }
  });

  it("2. publicKey alone replaced: pulumi up fails at the ClusterKey (not one pair), and no host changes", async () => {
    const stranger = freshPair();
    await importWithClusterKey((outputs) => (outputs.publicKey = stranger.publicKey));
    const up = await timings.time("step 2: pulumi up (publicKey swapped)", () => pulumi(e, ["up", "--yes", "--skip-preview"]));
    expectExit(up, "non-zero");
    expect(up.stdout + up.stderr).toContain(
      `the cluster's publicKey (${fingerprintOf(stranger.publicKey)}) is not the public half of its privateKey (${installed}): the key pair in the state was edited`,
    );
    expect(up.stdout).not.toMatch(/mpi-hosts:index:Facet \(host\d-clusterTrust\):\n\s+error/);
    expect(await watched()).toEqual(before);
  });

  it("3. both halves replaced with a fresh pair (private half a plaintext secret): pulumi up fails naming every host, nothing changes on them", async () => {
    const stranger = freshPair();
    const strangerFp = fingerprintOf(stranger.publicKey);
    await importWithClusterKey((outputs) => {
      outputs.publicKey = stranger.publicKey;
      // stack export --show-secrets writes a secret as { <sig>, plaintext: its JSON }; import takes it so.
      outputs.privateKey.plaintext = JSON.stringify(stranger.privateKey);
    });
    const up = await timings.time("step 3: pulumi up (pair swapped)", () => pulumi(e, ["up", "--yes", "--skip-preview"]));
    expectExit(up, "non-zero");
    const diagnostics = up.stdout.split(/^Diagnostics:$/m)[1] ?? "";
    for (const h of HOSTS) {
      expect(diagnostics).toMatch(
        new RegExp(`mpi-hosts:index:Facet \\(${h}-clusterTrust\\):\\n\\s+error: ${h}: clusterTrust apply failed`),
      );
      expect(diagnostics).toContain(
        `clusterTrust apply on ${h} refused to replace the cluster key: the key to install (${strangerFp}) differs from the one ${h} holds for key generation 1 (${installed})`,
      );
    }
    expect(diagnostics).toContain("If you meant to, bump mpi-hosts:ssh.clusterKeyRotation");
    expect(await watched()).toEqual(before);
    for (const h of HOSTS) {
      expect(await heldFingerprint(h)).toBe(installed);
      expect(await root(e.lab, h, `cat ${SSH}/authorized_keys`)).not.toContain(stranger.publicKey.split(" ")[1]);
    }
  });

  it("4. a bumped ssh.clusterKeyRotation makes a new pair, which every host takes; the job passes", async () => {
    expectExit(await pulumi(e, ["config", "set", "--path", "mpi-hosts:ssh.clusterKeyRotation", "2"]), 0);
    const up = await timings.time("step 4: pulumi up (rotation after the refused swap)", () =>
      pulumi(e, ["up", "--yes", "--skip-preview"]),
    );
    expectExit(up, 0);
    const current = fingerprintOf(await output<string>("clusterPublicKey"));
    expect(current).not.toBe(installed);
    for (const h of HOSTS) {
      expect(await heldFingerprint(h)).toBe(current);
      const record = await root(e.lab, h, `cat ${SSH}/mpi-hosts_ed25519.generation`);
      expect(record).toContain(`generation=2\nkey=${current}\n`);
    }
    expect(await output<VerifyReport>("verification")).toMatchObject({ ok: true, failures: [] });
  });
});
