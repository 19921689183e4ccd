/**
 * Cluster key rotation under the real engine on 3 trixie lab hosts (issue 15, item 2): `pulumi config set --path
 * mpi-hosts:ssh.clusterKeyRotation 2` shows in `pulumi preview --diff` as the ClusterKey replaced and every host's
 * clusterTrust updated (and the verification job run again); `pulumi up` converges with the job passing, every host
 * on the new key and the old one in no authorized_keys. Then a rotation with host2 down (`pulumi up
 * --continue-on-error`): the others rotate, host2 keeps the old key, the update fails naming host2, and nothing reads
 * as a pass meanwhile; once host2 is back, the next `pulumi up` converges and the job passes.
 *   . scripts/engine-env.sh && npx jest test/e2e/rotation.test.ts --selectProjects e2e --runInBand
 */
import { closeAll } from "../../components/provider/remote";
import type { VerifyReport } from "../../components/verify/report";
import { startHost, stopHost } from "../../lab/lab";
import { EngineLab, expectExit, mpiHosts, pulumi, resourceIds, root, startEngineLab, stopEngineLab, Timings } from "./support";

const NAME = "rke";
const HOSTS = ["host1", "host2", "host3"];
const KEY = `${NAME}-cluster-key`;
const VERIFY = `${NAME}-verify`;
const timings = new Timings("rotation.test.ts (3 trixie hosts) wall times");

let e: EngineLab;

beforeAll(async () => {
  e = await timings.time("lab up + stack init", () => startEngineLab(NAME, HOSTS.length, "trixie"));
});

afterAll(async () => {
  process.stdout.write(timings.report());
  await closeAll();
  await stopEngineLab(e, NAME);
});

async function output<T>(name: string): Promise<T> {
  const out = await pulumi(e, ["stack", "output", name, "--json"]);
  expectExit(out, 0);
  return JSON.parse(out.stdout) as T;
}

/** "type base64" of the key each host holds (ssh-keygen -y of ~/.ssh/mpi-hosts_ed25519, read as root). */
async function heldKey(host: string): Promise<string> {
  const out = await root(e.lab, host, "ssh-keygen -y -f /home/mpi/.ssh/mpi-hosts_ed25519");
  return out.trim().split(" ").slice(0, 2).join(" ");
}

const identity = (publicKey: string) => publicKey.split(" ").slice(0, 2).join(" ");

async function authorizedKeys(host: string): Promise<string> {
  return root(e.lab, host, "cat /home/mpi/.ssh/authorized_keys");
}

describe("cluster key rotation under the real engine on 3 trixie lab hosts", () => {
  let gen1 = "";
  let gen2 = "";

  it("1. pulumi up from nothing: every host on the first key, the verification job passes", async () => {
    const up = await timings.time("step 1: pulumi up from nothing", () => pulumi(e, ["up", "--yes", "--skip-preview"]));
    expectExit(up, 0);
    gen1 = identity(await output<string>("clusterPublicKey"));
    for (const h of HOSTS) expect(await heldKey(h)).toBe(gen1);
    expect(await output<VerifyReport>("verification")).toMatchObject({ ok: true, from: "host1" });
  });

  it("2. a new ssh.clusterKeyRotation shows in pulumi preview --diff: the ClusterKey replaced, each host's clusterTrust updated", async () => {
    expectExit(await pulumi(e, ["config", "set", "--path", "mpi-hosts:ssh.clusterKeyRotation", "2"]), 0);
    const preview = await timings.time("step 2: pulumi preview --diff (rotation)", () => pulumi(e, ["preview", "--diff"]));
    expectExit(preview, 0);
    const text = preview.stdout;
    expect(text).toMatch(/\+-mpi-hosts:index:ClusterKey: \(replace\)\n\s+\[id=cluster-key-1\]/);
    expect(text).toMatch(/~ rotation\s*: "1" => "2"/);
    for (const h of HOSTS) expect(text).toMatch(new RegExp(`~ mpi-hosts:index:Facet: \\(update\\)\\n\\s+\\[id=${h}/clusterTrust\\]`));
    // Only clusterTrust depends on the key: no other facet changes.
    expect(text.match(/mpi-hosts:index:Facet: \(update\)/g)).toHaveLength(HOSTS.length);
    expect(text).toMatch(/\+-mpi-hosts:index:VerificationJob: \(replace\)/);
    expect(text).not.toContain("PRIVATE KEY");
  });

  it("3. pulumi up rotates: every host holds the new key, no authorized_keys holds the old one, the job passes on the new key", async () => {
    const before = await resourceIds(e);
    const up = await timings.time("step 3: pulumi up (rotation)", () => pulumi(e, ["up", "--yes", "--skip-preview"]));
    expectExit(up, 0);
    gen2 = identity(await output<string>("clusterPublicKey"));
    expect(gen2).not.toBe(gen1);
    const after = await resourceIds(e);
    expect(after[KEY]).toBe("cluster-key-2");
    expect(after[VERIFY]).not.toBe(before[VERIFY]); // the job ran again
    for (const h of HOSTS) {
      expect(await heldKey(h)).toBe(gen2);
      const authorized = await authorizedKeys(h);
      expect(authorized).toContain(gen2);
      expect(authorized).not.toContain(gen1.split(" ")[1]);
    }
    expect(await output<VerifyReport>("verification")).toMatchObject({ ok: true, failures: [] });
    const again = await timings.time("step 3b: pulumi preview --expect-no-changes", () => pulumi(e, ["preview", "--expect-no-changes"]));
    expectExit(again, 0);
  });

  it("4. a rotation with host2 down (up --continue-on-error): the others rotate, host2 keeps the old key, the update fails naming host2", async () => {
    await closeAll();
    await stopHost(e.lab, "host2");
    expectExit(await pulumi(e, ["config", "set", "--path", "mpi-hosts:ssh.clusterKeyRotation", "3"]), 0);
    const up = await timings.time("step 4: pulumi up --continue-on-error (host2 down)", () =>
      pulumi(e, ["up", "--yes", "--skip-preview", "--continue-on-error"]),
    );
    expectExit(up, "non-zero");
    // The one error is host2's clusterTrust, naming the host, how it is reached and why.
    const host2 = e.lab.hosts.find((h) => h.name === "host2")!;
    const diagnostics = up.stdout.split(/^Diagnostics:$/m)[1] ?? "";
    expect(diagnostics.match(/mpi-hosts:index:Facet \(/g)).toEqual(["mpi-hosts:index:Facet ("]);
    // Down: no route (EHOSTUNREACH, "cannot connect") or no answer (the connect timeout), as the network answers.
    const error = new RegExp(
      `mpi-hosts:index:Facet \\(host2-clusterTrust\\):\\n\\s+error: host2 \\(mpi@${host2.address.replace(/\./g, "\\.")}:${host2.port}\\): (cannot connect|no SSH answer within)`,
    );
    expect(diagnostics).toMatch(error);
    // The others rotated; the job did not run (it depends on every facet), so nothing reads as a pass.
    const gen3 = identity(await output<string>("clusterPublicKey"));
    expect([gen1, gen2]).not.toContain(gen3);
    for (const h of ["host1", "host3"]) expect(await heldKey(h)).toBe(gen3);
    // (Its old summary line shows only in the outputs' diff, as what goes away.)
    expect(up.stdout.split(/^Outputs:$/m)[0]).not.toMatch(/mpi-hosts verify/);
    expect(up.stdout).toMatch(/- summary\s*: "mpi-hosts verify: ok/);
    expect(up.stdout).toMatch(/\+ verification\s*: \[unknown\]/);
    // The output holds no report: Pulumi records the unresolved value as its unknown marker (UnknownStringValue).
    expect(await output<unknown>("verification")).toBe("04da6b54-80e4-46f7-96ec-b56ff0331ba9");
  });

  it("5. with host2 back before the next up, npm run verify names the refused pairs; the next pulumi up converges and the job passes", async () => {
    await startHost(e.lab, "host2");
    expect(await heldKey("host2")).toBe(gen2);
    const verify = await timings.time("step 5a: npm run verify (host2 back, still on the old key)", () => mpiHosts(e, "verify"));
    expectExit(verify, "non-zero");
    const current = (await root(e.lab, "host1", "ssh-keygen -l -f /home/mpi/.ssh/mpi-hosts_ed25519.pub")).split(" ")[1];
    for (const from of ["host1", "host3"]) {
      expect(verify.stdout).toContain(
        `[ssh] ${from} -> host2: host2 refuses the cluster key that ${from} holds (${current}); the head could not log in to host2 with it either`,
      );
    }
    expect(verify.stdout).toContain("a key rotation (mpi-hosts:ssh.clusterKeyRotation) that missed host2");
    expect(verify.stdout).toMatch(/^mpi-hosts verify: FAILED at stage ssh /);
    const up = await timings.time("step 5b: pulumi up (host2 back)", () => pulumi(e, ["up", "--yes", "--skip-preview"]));
    expectExit(up, 0);
    const gen = identity(await output<string>("clusterPublicKey"));
    for (const h of HOSTS) expect(await heldKey(h)).toBe(gen);
    expect(await output<VerifyReport>("verification")).toMatchObject({ ok: true, failures: [] });
    const again = await timings.time("step 5c: pulumi preview --expect-no-changes", () => pulumi(e, ["preview", "--expect-no-changes"]));
    expectExit(again, 0);
  });
});
