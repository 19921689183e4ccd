/**
 * Issue 15, item 2 (rotation): `mpi-hosts:ssh.clusterKeyRotation` names the cluster key's generation. Any change of
 * it replaces the ClusterKey (a new key pair; changing it back is one more new key, not the old one), every host's
 * clusterTrust then installs the new private key and an authorized_keys block with the new public key only, and a
 * review (`npm run render`) shows the declared generation and the change on every host (with the generation each
 * host records beside the key: test/security/clusterKeyAnchor.unit.test.ts).
 * Real hosts: test/security/clusterKeyRotation.lab.test.ts; the real engine: test/e2e/rotation.test.ts.
 */
import { loadCluster, loadClusterOrThrow, readStackFile } from "../../components/config/load";
import { Cluster } from "../../components/config/types";
import { clusterKeyOperations } from "../../components/provider/clusterKeyOperations";
import { renderForReview } from "../../components/review/review";

const example = () => readStackFile("Pulumi.example.yaml") as Record<string, any>;

function withRotation(rotation: unknown): ReturnType<typeof loadCluster> {
  const raw = example();
  if (rotation !== undefined) raw.ssh = { ...raw.ssh, clusterKeyRotation: rotation };
  return loadCluster(raw, { readKnownHosts: () => "" });
}

const clusterWith = (rotation: unknown): Cluster => {
  const { cluster, problems } = withRotation(rotation);
  if (!cluster) throw new Error(JSON.stringify(problems));
  return cluster;
};

describe("mpi-hosts:ssh.clusterKeyRotation", () => {
  it('defaults to "1", the generation every stack had before the setting existed (no rotation on upgrade)', () => {
    expect(loadClusterOrThrow(example()).cluster.ssh.clusterKeyRotation).toBe("1");
  });

  it('takes a number or a name; 2 and "2" are the same generation', () => {
    expect(clusterWith(2).ssh.clusterKeyRotation).toBe("2");
    expect(clusterWith("2").ssh.clusterKeyRotation).toBe("2");
    expect(clusterWith("2026-12-01").ssh.clusterKeyRotation).toBe("2026-12-01");
  });

  it.each([["two words"], [""], ["a".repeat(65)], ["x\ny"]])("refuses %j, naming the setting and what it takes", (value) => {
    const errors = withRotation(value).problems.filter((p) => p.severity === "error");
    expect(errors).toEqual([
      {
        path: "mpi-hosts:ssh.clusterKeyRotation",
        message: expect.stringContaining("is not a key generation (a whole number or 1-64 letters, digits and . _ : -"),
        severity: "error",
      },
    ]);
  });

  it("refuses a negative number or a fraction", () => {
    expect(withRotation(-1).problems.map((p) => p.path)).toContain("mpi-hosts:ssh.clusterKeyRotation");
    expect(withRotation(1.5).problems.map((p) => p.path)).toContain("mpi-hosts:ssh.clusterKeyRotation");
  });
});

describe("the ClusterKey resource and its rotation input", () => {
  const diff = (from: string, to: string) =>
    clusterKeyOperations.diff("cluster-key-x", { comment: "c", rotation: from }, { comment: "c", rotation: to });

  it("is replaced when the generation changes, in either direction; left alone when it does not", async () => {
    expect(await diff("1", "2")).toEqual({ changes: true, replaces: ["rotation"] });
    expect(await diff("2", "1")).toEqual({ changes: true, replaces: ["rotation"] });
    expect(await diff("2", "2")).toEqual({ changes: false, replaces: [] });
  });

  it("makes a new key pair every time: back to an earlier generation is a new key, not the old one", async () => {
    const make = (rotation: string) => clusterKeyOperations.create({ comment: "mpi-hosts cluster c", rotation });
    const first = await make("1");
    const second = await make("2");
    const backToFirst = await make("1");
    const publicKeys = [first, second, backToFirst].map((r) => r.outs.publicKey as string);
    expect(new Set(publicKeys).size).toBe(3);
    for (const key of publicKeys) expect(key).toMatch(/^ssh-ed25519 AAAA[A-Za-z0-9+/]+=* mpi-hosts cluster c$/);
  });
});

describe("npm run render (review) shows the key generation", () => {
  it("names the declared generation in README.md", () => {
    expect(renderForReview(clusterWith(undefined)).get("README.md")).toContain(
      "Cluster key: generation `1` (`mpi-hosts:ssh.clusterKeyRotation`).",
    );
    expect(renderForReview(clusterWith("2026-12-01")).get("README.md")).toContain(
      "Cluster key: generation `2026-12-01` (`mpi-hosts:ssh.clusterKeyRotation`).",
    );
  });

  it("shows a rotation as a change of every host's clusterTrust key files and scripts, and of nothing else but README.md", () => {
    const before = renderForReview(clusterWith(undefined));
    const after = renderForReview(clusterWith(2));
    const changed = [...after.keys()].filter((k) => after.get(k) !== before.get(k)).sort();
    const hosts = ["linux1", "linux2", "linux3", "mac1", "mac2"];
    expect(changed).toEqual(
      [
        "README.md",
        ...hosts.flatMap((h) =>
          ["authorized_keys.block", "mpi-hosts_ed25519.pub", "mpi-hosts_ed25519.generation", "apply.sh", "remove.sh"].map(
            (f) => `${h}/clusterTrust/${f}`,
          ),
        ),
      ].sort(),
    );
    expect(after.get("linux1/clusterTrust/authorized_keys.block")).toContain("mpi-hosts cluster, key generation 2\n");
    expect(after.get("linux1/clusterTrust/authorized_keys.block")).not.toContain("key generation 1");
    // The host's anchor (issue 15, R3): the record names the new generation.
    expect(after.get("linux1/clusterTrust/mpi-hosts_ed25519.generation")).toContain("\ngeneration=2\n");
  });
});
