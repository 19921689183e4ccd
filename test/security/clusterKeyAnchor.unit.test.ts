/**
 * Issue 15, residual R3 (docs/plans/issue15-item3.md section 5): the cluster key pair is whatever the state says, so a
 * state writer could put a pair of their own there and the next plain `pulumi up` installed it in every host's
 * authorized_keys. The anchor: clusterTrust's inputs carry the key generation from the stack file
 * (ssh.clusterKeyRotation), apply records it with the key's fingerprint beside the key, and refuses, before writing
 * anything, another key for the same generation. The ClusterKey refuses a pair whose halves do not belong together.
 *
 * The rendered scripts run here for real, under each shell they support, on a scratch HOME with this machine's
 * OpenSSH (ssh-keygen): the host side of the anchor. Real hosts: clusterKeyAnchor.lab.test.ts; the real engine:
 * test/e2e/clusterKeySwap.test.ts. On the code before the anchor (e0253c1, with the two helpers this file imports
 * added) 26 of these 28 fail (no keyGeneration input, no record, an apply that installs any key, a ClusterKey that
 * takes any pair); the two sanity checks pass on either (the fingerprint agrees with ssh-keygen; one pair is taken).
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadClusterOrThrow, readStackFile } from "../../components/config/load";
import { CLUSTER_KEY_ENV, clusterTrust, publicKeyFingerprint } from "../../components/facets/clusterTrust";
import { decodeProbe, diffStates } from "../../components/facets/compare";
import { RenderedFacet, renderFacet } from "../../components/facets/facet";
import { assertKeyPairConsistent, clusterKeyOperations } from "../../components/provider/clusterKeyOperations";
import { facetRecord } from "../../components/provider/facetRecord";
import { handlers, secret } from "../../components/provider/plugin/handlers";
import { CLUSTER_KEY_TYPE } from "../../components/provider/resourceTypes";
import { newClusterKey, ClusterKeyPair } from "../../lab/harness/labCluster";

const HOST = "node1";

/** clusterTrust of node1 (test/fixtures/Pulumi.linux-system.yaml) with `key` at key generation `generation`. */
function trust(key: ClusterKeyPair, generation?: string | number): RenderedFacet {
  const raw = readStackFile("test/fixtures/Pulumi.linux-system.yaml") as Record<string, any>;
  if (generation !== undefined) raw.ssh = { ...raw.ssh, clusterKeyRotation: generation };
  const cluster = loadClusterOrThrow(raw).cluster;
  return renderFacet(clusterTrust, { cluster, host: cluster.hosts[0], clusterPublicKey: key.publicKey });
}

/** ssh-keygen's own fingerprint of a public key line. */
function sshKeygenFingerprint(publicKey: string): string {
  return execFileSync("ssh-keygen", ["-l", "-f", "-"], { input: `${publicKey}\n`, encoding: "utf8" }).split(" ")[1];
}

/** Every file under `dir` with its mode and bytes: equal means untouched. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = `${(fs.statSync(p).mode & 0o777).toString(8)} ${fs.readFileSync(p, "base64")}`;
    }
  };
  walk(dir);
  return out;
}

const gen1 = newClusterKey("mpi-hosts cluster xk");
const stranger = newClusterKey("not the cluster's");
const gen2 = newClusterKey("mpi-hosts cluster xk");
const userLine = `${newClusterKey().publicKey.split(" ").slice(0, 2).join(" ")} me@laptop`;

describe.each(["sh", "bash", "zsh"])("clusterTrust's scripts under %s on a scratch home", (shell) => {
  let home: string;
  const ssh = () => path.join(home, ".ssh");
  const run = (facet: RenderedFacet, kind: "probe" | "apply" | "remove", key?: ClusterKeyPair) =>
    spawnSync(shell, ["-c", facet.scripts[kind]], {
      env: { PATH: process.env.PATH, HOME: home, ...(key ? { [CLUSTER_KEY_ENV]: key.privateKey } : {}) },
      encoding: "utf8",
    });
  const applied = (facet: RenderedFacet, key: ClusterKeyPair) => {
    const r = run(facet, "apply", key);
    expect({ code: r.status, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    return r.stderr;
  };
  const record = () => fs.readFileSync(path.join(ssh(), "mpi-hosts_ed25519.generation"), "utf8");
  const held = () => execFileSync("ssh-keygen", ["-l", "-f", path.join(ssh(), "mpi-hosts_ed25519")], { encoding: "utf8" }).split(" ")[1];

  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), "xk-anchor-"));
    fs.mkdirSync(ssh(), { mode: 0o700 });
    fs.writeFileSync(path.join(ssh(), "authorized_keys"), `${userLine}\n`, { mode: 0o600 });
  });
  afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

  it("a host with no key takes the state's key and records its generation and fingerprint; the probe then finds it in sync", () => {
    const facet = trust(gen1);
    expect(applied(facet, gen1)).toContain(
      `recorded key generation 1 for the cluster key ${sshKeygenFingerprint(gen1.publicKey)} on ${HOST}`,
    );
    expect(record().split("\n").slice(2)).toEqual(["generation=1", `key=${sshKeygenFingerprint(gen1.publicKey)}`, ""]);
    const probed = run(facet, "probe");
    expect(probed.status).toBe(0);
    expect(diffStates(facet.desired as any, decodeProbe(probed.stdout))).toEqual([]);
    expect(applied(facet, gen1)).toContain("cluster trust: already in sync, no change");
  });

  it("refuses another key for the same generation, naming host, step, both fingerprints and what to do; nothing changes", () => {
    applied(trust(gen1), gen1);
    const before = snapshot(home);
    const r = run(trust(stranger), "apply", stranger);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      `mpi-hosts: clusterTrust apply on ${HOST} refused to replace the cluster key: the key to install (${sshKeygenFingerprint(stranger.publicKey)}) ` +
        `differs from the one ${HOST} holds for key generation 1 (${sshKeygenFingerprint(gen1.publicKey)}), and mpi-hosts:ssh.clusterKeyRotation is ` +
        `still 1, so the state's cluster key was replaced since (or the stack's key was made anew). Nothing was changed on ${HOST}. ` +
        "If you meant to, bump mpi-hosts:ssh.clusterKeyRotation; if not, restore the state from a backup and find out who wrote it.",
    );
    expect(snapshot(home)).toEqual(before);
    expect(held()).toBe(sshKeygenFingerprint(gen1.publicKey));
  });

  it("refuses a swapped public half alone too (identity of the state's publicKey, private key of the installed pair)", () => {
    applied(trust(gen1), gen1);
    const before = snapshot(home);
    const r = run(trust(stranger), "apply", gen1);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`the key to install (${sshKeygenFingerprint(stranger.publicKey)})`);
    expect(snapshot(home)).toEqual(before);
  });

  it("takes a new key when the generation was bumped (a rotation), and records the new generation", () => {
    applied(trust(gen1), gen1);
    const note = applied(trust(gen2, 2), gen2);
    expect(note).toContain("cluster trust: installed the cluster key");
    expect(held()).toBe(sshKeygenFingerprint(gen2.publicKey));
    expect(record()).toContain(`generation=2\nkey=${sshKeygenFingerprint(gen2.publicKey)}\n`);
    const ak = fs.readFileSync(path.join(ssh(), "authorized_keys"), "utf8");
    expect(ak).toContain(gen2.publicKey);
    expect(ak).not.toContain(gen1.publicKey.split(" ")[1]);
    expect(ak).toContain(`${userLine}\n`);
  });

  it("takes a new key for an earlier generation set again (a rotation back is a new generation too)", () => {
    applied(trust(gen1, 2), gen1);
    applied(trust(gen2, 1), gen2);
    expect(record()).toContain(`generation=1\nkey=${sshKeygenFingerprint(gen2.publicKey)}\n`);
  });

  it("a host from before the anchor (key installed, no record): the first apply records the generation without refusing, and says so", () => {
    // What the apply before the anchor left: the key pair and the block, no record.
    applied(trust(gen1), gen1);
    fs.rmSync(path.join(ssh(), "mpi-hosts_ed25519.generation"));
    expect(applied(trust(gen1), gen1)).toContain(`recorded key generation 1 for the cluster key ${sshKeygenFingerprint(gen1.publicKey)}`);
    // Nothing to compare with: a different key is taken, as before the anchor, with both fingerprints said.
    fs.rmSync(path.join(ssh(), "mpi-hosts_ed25519.generation"));
    expect(applied(trust(stranger), stranger)).toContain(
      `no key generation was recorded on ${HOST} yet: replaced the cluster key ${sshKeygenFingerprint(gen1.publicKey)} with ${sshKeygenFingerprint(stranger.publicKey)} unchecked, and recorded it for generation 1`,
    );
    // From then on the anchor holds.
    expect(run(trust(gen1), "apply", gen1).status).toBe(1);
  });

  it("remove takes the record with our key, and leaves the record of another key (as it leaves another key's files)", () => {
    applied(trust(gen1), gen1);
    const other = run(trust(stranger), "remove");
    expect(other.status).toBe(0);
    expect(fs.existsSync(path.join(ssh(), "mpi-hosts_ed25519.generation"))).toBe(true);
    expect(fs.existsSync(path.join(ssh(), "mpi-hosts_ed25519"))).toBe(true);
    expect(run(trust(gen1), "remove").status).toBe(0);
    expect(fs.readdirSync(ssh()).sort()).toEqual(["authorized_keys"]);
    expect(fs.readFileSync(path.join(ssh(), "authorized_keys"), "utf8")).toBe(`${userLine}\n`);
  });
});

describe("clusterTrust's declared inputs and desired state", () => {
  it("carry the key generation from the stack file (ssh.clusterKeyRotation), not from the key", () => {
    const raw = readStackFile("test/fixtures/Pulumi.linux-system.yaml") as Record<string, any>;
    raw.ssh = { ...raw.ssh, clusterKeyRotation: "2026-12-01" };
    const cluster = loadClusterOrThrow(raw).cluster;
    const inputs = clusterTrust.inputs({ cluster, host: cluster.hosts[0], clusterPublicKey: gen1.publicKey });
    expect(inputs.keyGeneration).toBe("2026-12-01");
    expect(JSON.parse(JSON.stringify(inputs))).toEqual(inputs);
  });

  it("desire the record (generation and fingerprint), so a host without it is drift and a plain pulumi up writes it", () => {
    const facet = trust(gen1, 3);
    expect(facet.desired.keyRecord).toMatch(/^# managed by mpi-hosts: /);
    expect(String(facet.desired.keyRecord).split("\n").slice(2)).toEqual([
      "generation=3",
      `key=${sshKeygenFingerprint(gen1.publicKey)}`,
      "",
    ]);
    expect(facet.files["mpi-hosts_ed25519.generation"]).toBe(facet.desired.keyRecord);
  });

  it("fingerprint keys as ssh-keygen does", () => {
    for (const key of [gen1, stranger, gen2]) expect(publicKeyFingerprint(key.publicKey)).toBe(sshKeygenFingerprint(key.publicKey));
  });
});

describe("the ClusterKey refuses a pair whose halves do not belong together", () => {
  const swapped = { comment: "c", rotation: "1", publicKey: stranger.publicKey, privateKey: gen1.privateKey };
  const edited = `the cluster's publicKey (${publicKeyFingerprint(stranger.publicKey)}) is not the public half of its privateKey (${publicKeyFingerprint(gen1.publicKey)}): the key pair in the state was edited. Bump mpi-hosts:ssh.clusterKeyRotation and run \`pulumi up\` without --refresh to make a new pair (a refresh diffs the recorded pair before it sees the new rotation), or restore the state from a backup and find out who wrote it.`;

  it("takes one pair, and the program's inputs (no pair yet)", () => {
    expect(() => assertKeyPairConsistent(gen1, "k")).not.toThrow();
    expect(() => assertKeyPairConsistent({}, "k")).not.toThrow();
  });

  it("refuses a swapped public half, half a pair, and what is no private key", () => {
    expect(() => assertKeyPairConsistent(swapped, "cluster-key-1: read")).toThrow(`cluster-key-1: read: ${edited}`);
    expect(() => assertKeyPairConsistent({ publicKey: gen1.publicKey }, "k")).toThrow(
      "k: the cluster key pair is incomplete (publicKey present, privateKey missing)",
    );
    expect(() => assertKeyPairConsistent({ publicKey: gen1.publicKey, privateKey: "not a key" }, "k")).toThrow(
      "k: the cluster's privateKey is not one OpenSSH private key",
    );
  });

  it("diff of a recorded pair at an unchanged generation refuses it; a new generation replaces it (the way out)", async () => {
    await expect(clusterKeyOperations.diff("cluster-key-1", swapped, { comment: "c", rotation: "1" })).rejects.toThrow(
      `cluster-key-1: diff (the recorded pair): ${edited}`,
    );
    await expect(clusterKeyOperations.diff("cluster-key-1", swapped, { comment: "c", rotation: "2" })).resolves.toEqual({
      changes: true,
      replaces: ["rotation"],
    });
  });

  it("through the plugin's handlers: check and diff refuse it (the private key as the engine sends it, a secret), read passes it on; create makes one pair", async () => {
    const urn = `urn:pulumi:s::mpi-hosts::mpi-hosts:index:MpiCluster$${CLUSTER_KEY_TYPE}::c-cluster-key`;
    const recorded = { ...swapped, privateKey: secret(swapped.privateKey) };
    await expect(handlers.check(urn, recorded)).rejects.toThrow(`c-cluster-key: check: ${edited}`);
    await expect(handlers.check(urn, { comment: "c", rotation: "1" })).resolves.toEqual({ comment: "c", rotation: "1" });
    await expect(handlers.diff(urn, "cluster-key-1", recorded, { comment: "c", rotation: "1" })).rejects.toThrow(edited);
    // Read refuses nothing: a refresh diffs the read pair against the recorded inputs, which refuses it.
    await expect(handlers.read(urn, "cluster-key-1", recorded)).resolves.toEqual(recorded);
    const made = await handlers.create(urn, { comment: "c", rotation: "1" });
    await expect(handlers.read(urn, made.id, made.outs)).resolves.toEqual(made.outs);
  });
});

describe("the ClusterKey refuses a pair of its own whose public key the facets' input schema refuses (a quote in the comment)", () => {
  // One consistent pair, as a state writer would make it with ssh-keygen -C "not the cluster's".
  const quoted = { comment: "c", rotation: "1", publicKey: stranger.publicKey, privateKey: stranger.privateKey };
  const urn = `urn:pulumi:s::mpi-hosts::mpi-hosts:index:MpiCluster$${CLUSTER_KEY_TYPE}::c-cluster-key`;
  const refused = (where: string) =>
    `${where}: the cluster's publicKey (${publicKeyFingerprint(stranger.publicKey)}, comment "not the cluster's") is refused by the facets' input schema, so no host's clusterTrust would take it (clusterTrust's clusterPublicKey is `;
  const whatToDo =
    "the pair in the state may have been edited. Bump mpi-hosts:ssh.clusterKeyRotation and run `pulumi up` without --refresh to make a new pair (a refresh diffs the recorded pair before it sees the new rotation), or restore the state from a backup and find out who wrote it.";

  it("diff at an unchanged generation refuses it, saying it came from the state; the message blames no program/plugin mismatch; read passes it on", async () => {
    const recorded = { ...quoted, privateKey: secret(quoted.privateKey) };
    const diff = handlers.diff(urn, "cluster-key-1", recorded, { comment: "c", rotation: "1" });
    await expect(diff).rejects.toThrow(refused("cluster-key-1: diff (the recorded pair)"));
    await expect(diff).rejects.toThrow(whatToDo);
    await expect(diff).rejects.not.toThrow(/same code|installed plugin/);
    await expect(handlers.read(urn, "cluster-key-1", recorded)).resolves.toEqual(recorded);
    await expect(handlers.check(urn, recorded)).rejects.toThrow(refused("c-cluster-key: check"));
  });

  it("a new generation replaces it (the way out the message names); a pair with the cluster key's own comment passes", async () => {
    await expect(clusterKeyOperations.diff("cluster-key-1", quoted, { comment: "c", rotation: "2" })).resolves.toEqual({
      changes: true,
      replaces: ["rotation"],
    });
    await expect(
      clusterKeyOperations.diff("cluster-key-1", { ...gen1, comment: "c", rotation: "1" }, { comment: "c", rotation: "1" }),
    ).resolves.toEqual({
      changes: false,
      replaces: [],
    });
  });

  it("check refuses a comment (the MpiCluster's name) that would make such a key, before create makes one", async () => {
    await expect(handlers.check(urn, { comment: "mpi-hosts cluster it's", rotation: "1" })).rejects.toThrow(
      `c-cluster-key: check: the comment "mpi-hosts cluster it's" (\`mpi-hosts cluster\` and the MpiCluster's name) would make a public key that the facets' input schema refuses`,
    );
    await expect(handlers.check(urn, { comment: "mpi-hosts cluster lab-1.x", rotation: "1" })).resolves.toBeDefined();
  });
});

describe("a clusterTrust Facet handed such a key as recorded (a run that does not diff the ClusterKey: pulumi up --target)", () => {
  const FACET_URN = "urn:pulumi:s::mpi-hosts::mpi-hosts:index:MpiCluster$mpi-hosts:index:MpiHost$mpi-hosts:index:Facet::node1-clusterTrust";
  const connection = { name: HOST, address: "192.0.2.1", port: 22, user: "u", hostKeys: ["ssh-ed25519 AAAA"], connectTimeoutSeconds: 5 };
  const facetWith = (publicKey: string) => {
    const inputs = { host: HOST, knownHosts: [], from: "192.0.2.0/24", clusterPublicKey: publicKey, keyGeneration: "1" };
    const record = facetRecord({
      definition: clusterTrust,
      inputs,
      host: [{ definition: clusterTrust, inputs }],
      connection,
      secretEnv: { [CLUSTER_KEY_ENV]: "k" },
    });
    return { ...record, secretEnv: secret(record.secretEnv) };
  };

  it("its Check says the recorded pair may have been edited and what to do, not that program and plugin differ", async () => {
    const check = handlers.check(FACET_URN, facetWith(stranger.publicKey));
    await expect(check).rejects.toThrow(
      `node1: clusterTrust: check of its clusterPublicKey (the ClusterKey resource's recorded public key); nothing was run: the cluster's publicKey (${publicKeyFingerprint(stranger.publicKey)}, comment "not the cluster's") is refused by the facets' input schema`,
    );
    await expect(check).rejects.toThrow("Bump mpi-hosts:ssh.clusterKeyRotation and run `pulumi up` without --refresh to make a new pair");
    await expect(check).rejects.not.toThrow(/same code|installed plugin/);
    await expect(handlers.check(FACET_URN, facetWith(gen1.publicKey))).resolves.toBeDefined();
  });
});
