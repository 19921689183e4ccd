/**
 * The admin credential out of the state (issue 12), on the real engine and a 2-host trixie lab. The stack is applied
 * with key A held by one ssh-agent, then previewed from "another machine": key B in another agent (both keys
 * authorized on the hosts) and key A's file out of reach, as it would be on a colleague's laptop or a CI runner.
 * `pulumi preview --expect-no-changes` passes, with and without a refresh of every host, and the state, exported
 * with its secrets decrypted, holds neither private key. Last, without any agent, a passphrase-protected key file and
 * the secret mpi-hosts:sshKeyPassphrase converge (refresh and up); there the verification job's connection carries
 * that key (the documented fallback), encrypted in the state.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PulumiRun, runPulumi } from "../../cli/pulumiRunner";
import { startAgent, TestAgent } from "../../lab/login";
import { EngineLab, expectExit, root, startEngineLab, stateFileText, stopEngineLab, Timings } from "./support";

const NAME = "au2";
const HOSTS = ["host1", "host2"];
const PASSPHRASE = "key C passphrase, only in the stack's secrets";
const timings = new Timings("login.test.ts (2 trixie hosts) wall times");

let e: EngineLab;
let dir: string;
let agentA: TestAgent;
let agentB: TestAgent;
let keyB: string;
let keyC: string;

function keygen(name: string, passphrase = ""): string {
  const file = path.join(dir, name);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", passphrase, "-C", `au ${name}`, "-f", file]);
  return file;
}

/** A line from the middle of a private key's base64 body: what a copy of the key in the state would contain. */
function bodyChunk(file: string): string {
  const lines = fs.readFileSync(file, "utf8").trim().split("\n");
  return lines[Math.floor(lines.length / 2)];
}

/** pulumi ARGS --stack S in the test's backend, with SSH_AUTH_SOCK set to `agent` (or unset). */
function pulumiWith(agent: TestAgent | undefined, args: string[]): Promise<PulumiRun> {
  const env: NodeJS.ProcessEnv = { ...e.env };
  if (agent) env.SSH_AUTH_SOCK = agent.socket;
  else delete env.SSH_AUTH_SOCK;
  return runPulumi([...args, "--stack", e.stack], { stack: e.stack, env });
}

async function exportedState(): Promise<string> {
  const out = await pulumiWith(undefined, ["stack", "export", "--show-secrets"]);
  expectExit(out, 0);
  return out.stdout;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "au-e2e-login-"));
  e = await timings.time("lab up + stack init", () => startEngineLab(NAME, HOSTS.length, "trixie"));
  keyB = keygen("keyB");
  keyC = keygen("keyC", PASSPHRASE);
  // B and C authorized next to the lab's key (A), outside mpi-hosts' managed block, as an admin would add them.
  for (const h of HOSTS) {
    for (const key of [keyB, keyC]) {
      await root(e.lab, h, `cat >>/home/mpi/.ssh/authorized_keys <<'EOF'\n${fs.readFileSync(`${key}.pub`, "utf8").trim()}\nEOF`);
    }
  }
  agentA = await startAgent([{ file: e.lab.privateKeyPath }]);
  agentB = await startAgent([{ file: keyB }]);
});

afterAll(async () => {
  process.stdout.write(timings.report());
  agentA?.stop();
  agentB?.stop();
  if (fs.existsSync(`${e?.lab.privateKeyPath}.away`)) fs.renameSync(`${e.lab.privateKeyPath}.away`, e.lab.privateKeyPath);
  await stopEngineLab(e, NAME);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("applied with key A in one agent, previewed with key B in another", () => {
  it("pulumi up with key A's agent converges both hosts and the verification job passes", async () => {
    const up = await timings.time("pulumi up (agent A)", () => pulumiWith(agentA, ["up", "--yes", "--skip-preview"]));
    expectExit(up, 0);
    // With an agent, no key for the job, so no warning that one lands in the state.
    expect(up.stdout + up.stderr).not.toContain("the verification job logs in with");
    const report = await pulumiWith(agentA, ["stack", "output", "verification", "--json"]);
    expect(JSON.parse(report.stdout)).toMatchObject({ ok: true });
  });

  it("the state holds neither private key: no PEM header but the cluster key's (decrypted), no line of either key's body", async () => {
    const texts = { "state file": stateFileText(e), "stack export --show-secrets": await exportedState() };
    expect(texts["state file"]).not.toContain("PRIVATE KEY");
    for (const [what, text] of Object.entries(texts)) {
      expect({ what, keyA: text.includes(bodyChunk(e.lab.privateKeyPath)) }).toEqual({ what, keyA: false });
      expect({ what, keyB: text.includes(bodyChunk(keyB)) }).toEqual({ what, keyB: false });
    }
    // Decrypted, the one private key in the state is the cluster key (by design: its resource's secret output, and the
    // clusterTrust facets' secret environment that installs it on the hosts).
    const exported = JSON.parse(texts["stack export --show-secrets"]) as {
      deployment: { resources: { type: string; inputs?: any; outputs?: any }[] };
    };
    // stack export --show-secrets writes a secret as { <sig>, plaintext: its JSON }.
    const secret = exported.deployment.resources.find((r) => r.type === "mpi-hosts:index:ClusterKey")?.outputs?.privateKey;
    const clusterKey = JSON.parse(secret.plaintext) as string;
    expect(clusterKey).toContain("BEGIN OPENSSH PRIVATE KEY");
    // Every PEM block anywhere in the decrypted state (however deeply JSON-escaped) is the cluster key.
    const flat = texts["stack export --show-secrets"].replace(/\\+n/g, "\n").replace(/\\+"/g, '"');
    const blocks = [...flat.matchAll(/-----BEGIN [A-Z ]*PRIVATE KEY-----\n([\s\S]*?)-----END/g)].map((m) => m[1]);
    expect(blocks.length).toBeGreaterThan(0);
    const clusterBody = clusterKey.split("-----")[2];
    expect(blocks.filter((b) => b !== clusterBody.replace(/^\n/, ""))).toEqual([]);
    // The provider plugin's recorded configuration (the stack config of the mpi-hosts namespace): what refresh and
    // destroy configure it with.
    const provider = exported.deployment.resources.find((r) => r.type === "pulumi:providers:mpi-hosts");
    process.stdout.write(`default mpi-hosts provider's recorded inputs: ${JSON.stringify(Object.keys(provider?.inputs ?? {}))}\n`);
    // What the facets keep about the login: the user of each facet's connection, no key path and no key.
    const facets = exported.deployment.resources.filter((r) => r.type === "mpi-hosts:index:Facet");
    expect(facets.length).toBeGreaterThan(0);
    for (const f of facets) {
      expect(f.inputs.connection.user).toBe("mpi");
      expect(Object.keys(f.inputs.connection)).not.toContain("privateKey");
      expect(JSON.stringify(f.inputs.connection)).not.toContain(e.lab.privateKeyPath);
    }
  });

  it("from 'another machine' (agent B, key A's file out of reach): pulumi preview --expect-no-changes passes, with a refresh too", async () => {
    fs.renameSync(e.lab.privateKeyPath, `${e.lab.privateKeyPath}.away`);
    try {
      const plain = await timings.time("preview --expect-no-changes (agent B)", () =>
        pulumiWith(agentB, ["preview", "--expect-no-changes"]),
      );
      expectExit(plain, 0);
      // The refresh logs in to every host: only agent B can.
      const refreshed = await timings.time("preview --refresh --expect-no-changes (agent B)", () =>
        pulumiWith(agentB, ["preview", "--refresh", "--expect-no-changes"]),
      );
      expectExit(refreshed, 0);
    } finally {
      fs.renameSync(`${e.lab.privateKeyPath}.away`, e.lab.privateKeyPath);
    }
  });

  it("with no agent and no key at all (the review workflow's read-only preview): a plain preview passes, up stops before any host", async () => {
    fs.renameSync(e.lab.privateKeyPath, `${e.lab.privateKeyPath}.away`);
    try {
      const plain = await timings.time("preview --expect-no-changes (no agent, no key)", () =>
        pulumiWith(undefined, ["preview", "--expect-no-changes"]),
      );
      expectExit(plain, 0);
      expect(plain.stdout + plain.stderr).toMatch(
        /This preview needs none \(it compares with the recorded state\); pulumi up and a preview with --refresh do/,
      );
      // The engine rewrites the file even for an up that stops in the program (the manifest's time, and every secret
      // encrypted again with a new nonce): compare the resources, secrets as where they are.
      const resources = () =>
        JSON.stringify(JSON.parse(stateFileText(e)).checkpoint.latest.resources).replace(/"ciphertext":"[^"]*"/g, '"ciphertext":"…"');
      const before = resources();
      const up = await pulumiWith(undefined, ["up", "--yes", "--skip-preview"]);
      expectExit(up, "non-zero");
      expect(up.stdout + up.stderr).toContain(`mpi-hosts:ssh.privateKeyPath: no ssh-agent`);
      expect(up.stdout + up.stderr).toContain(`key file ${e.lab.privateKeyPath}: cannot read it (ENOENT)`);
      const after = resources();
      expect(after === before).toBe(true);
    } finally {
      fs.renameSync(`${e.lab.privateKeyPath}.away`, e.lab.privateKeyPath);
    }
  });

  it("with neither agent B nor key A's file, the refresh fails naming host, user and what was tried", async () => {
    fs.renameSync(e.lab.privateKeyPath, `${e.lab.privateKeyPath}.away`);
    const stranger = await startAgent([{ file: keygen("stranger") }]);
    try {
      const refused = await pulumiWith(stranger, ["preview", "--refresh"]);
      expectExit(refused, "non-zero");
      expect(refused.stdout + refused.stderr).toMatch(
        new RegExp(
          `host1 \\(mpi@[0-9.]+:2400\\): every way to log in as mpi was refused: tried ssh-agent at ${stranger.socket} with 1 key`,
        ),
      );
      expect(refused.stdout + refused.stderr).toContain(`key file ${e.lab.privateKeyPath}: cannot read it (ENOENT)`);
    } finally {
      stranger.stop();
      fs.renameSync(`${e.lab.privateKeyPath}.away`, e.lab.privateKeyPath);
    }
  });
});

describe("no agent: a passphrase-protected key file and the secret mpi-hosts:sshKeyPassphrase", () => {
  it("up, then a refresh of every host, log in with key C (A's file out of reach); the job too, and no resource records C", async () => {
    const config = async (args: string[]) => expectExit(await pulumiWith(undefined, ["config", "set", ...args]), 0);
    await config(["--path", "mpi-hosts:ssh.privateKeyPath", keyC]);
    await config(["--secret", "mpi-hosts:sshKeyPassphrase", PASSPHRASE]);
    fs.renameSync(e.lab.privateKeyPath, `${e.lab.privateKeyPath}.away`);
    try {
      // Not --refresh here: a refresh configures the provider with the config recorded at the last up (key A's path).
      const up = await timings.time("pulumi up (key C file + passphrase, no agent)", () =>
        pulumiWith(undefined, ["up", "--yes", "--skip-preview"]),
      );
      expectExit(up, 0);
      // The job ran (in the plugin, logged in with key C as the facets are): nothing to warn about any more (issue 15 R4).
      expect(up.stdout).toMatch(/mpi-hosts verify: ok/);
      expect(up.stdout + up.stderr).not.toContain("keeps in the state");
      const again = await timings.time("preview --refresh --expect-no-changes (key C, no agent)", () =>
        pulumiWith(undefined, ["preview", "--refresh", "--expect-no-changes"]),
      );
      expectExit(again, 0);
    } finally {
      fs.renameSync(`${e.lab.privateKeyPath}.away`, e.lab.privateKeyPath);
    }
    // Key C is in no resource of the state, not even encrypted: the job's connection holds no key (issue 15 R4).
    expect(stateFileText(e)).not.toContain(bodyChunk(keyC));
    const exported = JSON.parse(await exportedState()) as { deployment: { resources: { type: string; inputs?: any }[] } };
    const holding = exported.deployment.resources.filter((r) => JSON.stringify(r).includes(bodyChunk(keyC))).map((r) => r.type);
    expect(holding).toEqual([]);
  });
});

describe("a state written before (issue 12): every facet recorded the admin key in its connection", () => {
  it("is refused by a refresh before anything connects (never a login with the recorded key), and the next up leaves no key", async () => {
    // The old state, made from this one: key A's text in every facet's connection, inputs and outputs, as mpi-hosts
    // wrote it before (there as a secret; the provider gets the same value either way).
    const exported = JSON.parse(await exportedState()) as { deployment: { resources: { type: string; inputs?: any; outputs?: any }[] } };
    const keyA = fs.readFileSync(e.lab.privateKeyPath, "utf8");
    const facets = exported.deployment.resources.filter((r) => r.type === "mpi-hosts:index:Facet");
    for (const f of facets) {
      f.inputs.connection.privateKey = keyA;
      f.outputs.connection.privateKey = keyA;
    }
    const file = path.join(dir, "old-state.json");
    fs.writeFileSync(file, JSON.stringify(exported));
    expectExit(await pulumiWith(undefined, ["stack", "import", "--file", file]), 0);
    fs.rmSync(file);

    // State format 2 (issue 15, item 3): a record with a key mpi-hosts does not write is refused, naming it; the
    // recorded key is no last resort any more.
    const refreshed = await timings.time("preview --refresh of the old state (refused)", () =>
      pulumiWith(agentB, ["preview", "--refresh", "--diff"]),
    );
    expectExit(refreshed, "non-zero");
    expect(refreshed.stdout + refreshed.stderr).toContain(`the state's connection has the key "privateKey"`);

    const up = await timings.time("pulumi up rewriting the old state (agent B)", () =>
      pulumiWith(agentB, ["up", "--yes", "--skip-preview"]),
    );
    expectExit(up, 0);
    expect(await exportedState()).not.toContain(bodyChunk(e.lab.privateKeyPath));
    expectExit(await pulumiWith(agentB, ["preview", "--refresh", "--expect-no-changes"]), 0);
  });
});
