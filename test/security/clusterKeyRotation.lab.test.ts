/**
 * Issue 15, item 2 (rotation) on real hosts: 3 trixie lab hosts brought to the state `pulumi up` leaves (every
 * facet through the facet provider, with the user's own authorized keys and ssh config seeded first), then the
 * cluster key rotated the way `pulumi up` rotates it after a change of mpi-hosts:ssh.clusterKeyRotation (a new key
 * pair; every host's clusterTrust updated through the provider). Checked with plain tools, not our probes:
 * - the OLD private key is refused by every other host's sshd (`ssh -F /dev/null -i oldkey`), the new one works;
 * - mpirun runs mpi4py across the three hosts with the new key;
 * - authorized_keys differs from before in the cluster key only: the user's own lines, above and below our block,
 *   byte for byte, and its mode; our known_hosts and the ssh config not touched;
 * - a rotation that misses a host (down during `pulumi up --continue-on-error`): the verification job fails and
 *   names it (each pair host2 refuses, the key the rotated hosts hold), and the next apply on it recovers.
 *   npx jest test/security/clusterKeyRotation.lab.test.ts --selectProjects lab --runInBand
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Cluster } from "../../components/config/types";
import { renderHost } from "../../components/facets/index";
import { facetProvider } from "../../components/provider/facetProvider";
import { closeAll } from "../../components/provider/remote";
import { runVerification } from "../../components/verify/run";
import { Lab, startLab, stopLab } from "../../lab/lab";
import { connectionFor, probe, runFacet } from "../../lab/harness/facetRunner";
import { labHost, rootOk, runLocal, sshExec } from "../../lab/harness/labHelpers";
import { MPI_HOME, readHostFile, seedUserContent, writeUserFile } from "../lab/support/hostState";
import {
  ClusterKeyPair,
  facetInputs,
  facetOf,
  labCluster,
  labStackValues,
  newClusterKey,
  secretEnvFor,
} from "../../lab/harness/labCluster";
import { Timings } from "../lab/support/timings";

jest.setTimeout(600000);

const LAB = "rkl";
const HOSTS = ["host1", "host2", "host3"];
const OLD_KEY_FILE = "/tmp/rk-old-cluster-key";
const AUTHORIZED = `${MPI_HOME}/.ssh/authorized_keys`;

let lab: Lab;
let cluster: Cluster;
let adminKey: string;
const timings = new Timings("clusterKeyRotation.lab.test.ts timings");

const timed = <T>(label: string, fn: () => Promise<T>) => timings.time(label, fn);

/**
 * The key generation (mpi-hosts:ssh.clusterKeyRotation) each key was made for: `pulumi up` makes a new pair only when
 * it changes, and each host's clusterTrust refuses another key for the generation it recorded (the anchor,
 * clusterKeyAnchor.lab.test.ts).
 */
const generationOf = new Map<ClusterKeyPair, string>();

/** A new cluster key pair for key generation `generation`. */
function keyFor(generation: string): ClusterKeyPair {
  const key = newClusterKey("mpi-hosts cluster rk");
  generationOf.set(key, generation);
  return key;
}

/** clusterTrust of `host` with `key`, at the generation the key was made for. */
function trustOf(host: string, key: ClusterKeyPair) {
  const at = labCluster(lab, { ssh: { ...labStackValues(lab).ssh, clusterKeyRotation: generationOf.get(key) } });
  return facetOf(at, host, key, "clusterTrust");
}

/** Every facet of `host` applied through the facet provider, as `pulumi up` creates them (apply, then probe). */
async function applyAll(host: string, key: ClusterKeyPair): Promise<void> {
  for (const facet of renderHost(
    cluster,
    cluster.hosts.find((h) => h.name === host)!,
    key.publicKey,
  )) {
    await facetProvider.create!(facetInputs(lab, facet, key));
  }
}

/** The update `pulumi up` makes of a host's clusterTrust after a rotation: apply with the new key, then probe. */
async function rotateOn(host: string, from: ClusterKeyPair, to: ClusterKeyPair): Promise<string> {
  const olds = facetInputs(lab, trustOf(host, from), from);
  const news = facetInputs(lab, trustOf(host, to), to);
  const diff = await facetProvider.diff!(`${host}/clusterTrust`, olds, news);
  expect(diff.changes).toBe(true);
  const result = await facetProvider.update!(`${host}/clusterTrust`, olds, news);
  return String(result.outs?.lastApply ?? "");
}

/** Plain OpenSSH on `from`, no config file, only `keyFile`: whether `to`'s sshd lets that key in. */
async function loginWith(from: string, to: string, keyFile: string): Promise<{ in: boolean; said: string }> {
  const target = labHost(lab, to);
  const command = [
    "ssh -F /dev/null -n -T",
    `-i ${keyFile} -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes -o ConnectTimeout=10`,
    `-o StrictHostKeyChecking=yes -o UserKnownHostsFile=${MPI_HOME}/.ssh/mpi-hosts_known_hosts`,
    `-p ${target.port} ${target.user}@${target.address} echo in 2>&1`,
  ].join(" ");
  const run = await sshExec(lab, from, command);
  return { in: run.stdout === "in\n", said: run.stdout.trim() };
}

/** Every ordered pair of hosts. */
const pairs = HOSTS.flatMap((a) => HOSTS.filter((b) => b !== a).map((b) => [a, b] as const));

/** SHA256 fingerprint of a public key, by ssh-keygen on this machine. */
async function fingerprint(publicKey: string): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rk-fp-"));
  try {
    fs.writeFileSync(path.join(dir, "k.pub"), `${publicKey}\n`);
    return (await runLocal("ssh-keygen", ["-l", "-f", path.join(dir, "k.pub")])).stdout.split(" ")[1];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function fileState(host: string, file: string): Promise<string> {
  return rootOk(lab, host, `stat -c '%a %U' ${file}; sha256sum <${file}`);
}

let gen1: ClusterKeyPair;
let gen2: ClusterKeyPair;
const own = newClusterKey("me@laptop");
const EARLY = `${newClusterKey().publicKey.split(" ").slice(0, 2).join(" ")} early@desk`;
const LATER = `${newClusterKey().publicKey.split(" ").slice(0, 2).join(" ")} later@desk`;
const before: Record<string, { authorized: string; mode: string; knownHosts: string; sshConfig: string }> = {};

beforeAll(async () => {
  lab = await timed("start a 3-host trixie lab", () => startLab({ name: LAB, hosts: HOSTS.length, release: "trixie" }));
  cluster = labCluster(lab);
  adminKey = fs.readFileSync(lab.privateKeyPath, "utf8");
  gen1 = keyFor("1");
  await timed("seed user content, apply every facet (generation 1)", () =>
    Promise.all(
      HOSTS.map(async (h) => {
        await seedUserContent(lab, h, own.publicKey);
        await applyAll(h, gen1);
        // Keys the user adds later, one above mpi-hosts' block and one below it: both must stay where and as they are.
        await rootOk(
          lab,
          h,
          `f=${AUTHORIZED}; { printf '%s\\n' '${EARLY}'; cat "$f"; printf '%s\\n' '${LATER}'; } >/tmp/rk-ak && cat /tmp/rk-ak >"$f" && rm /tmp/rk-ak`,
        );
      }),
    ),
  );
  for (const h of HOSTS) {
    await writeUserFile(lab, h, OLD_KEY_FILE, gen1.privateKey, "600");
    before[h] = {
      authorized: (await readHostFile(lab, h, AUTHORIZED))!,
      mode: await fileState(h, AUTHORIZED).then((s) => s.split("\n")[0]),
      knownHosts: await fileState(h, `${MPI_HOME}/.ssh/mpi-hosts_known_hosts`),
      sshConfig: await fileState(h, `${MPI_HOME}/.ssh/config`),
    };
  }
});

afterAll(async () => {
  timings.print();
  await closeAll();
  await stopLab(LAB);
});

describe("cluster key rotation on 3 trixie hosts", () => {
  test("before: the generation-1 key gets in everywhere with plain ssh (what the rotation must end)", async () => {
    for (const [a, b] of pairs) expect(await loginWith(a, b, OLD_KEY_FILE)).toEqual({ in: true, said: "in" });
    for (const h of HOSTS) expect(before[h].authorized).toContain(`,restrict ${gen1.publicKey}\n`);
  });

  test("rotation: every host's clusterTrust updates to the new key and is then in sync (probe)", async () => {
    gen2 = keyFor("2");
    const notes = await timed("rotate: clusterTrust update on 3 hosts", () => Promise.all(HOSTS.map((h) => rotateOn(h, gen1, gen2))));
    for (const note of notes) expect(note).toMatch(/cluster trust: installed the cluster key/);
    for (const h of HOSTS) {
      const { differences } = await probe(connectionFor(lab, h), trustOf(h, gen2));
      expect(differences).toEqual([]);
    }
  });

  test("the OLD private key is refused by every other host's sshd; the new one gets in", async () => {
    for (const [a, b] of pairs) {
      const old = await loginWith(a, b, OLD_KEY_FILE);
      expect(old.in).toBe(false);
      expect(old.said).toMatch(/Permission denied \(publickey\)/);
      expect(await loginWith(a, b, `${MPI_HOME}/.ssh/mpi-hosts_ed25519`)).toEqual({ in: true, said: "in" });
    }
  });

  test("each host holds the new private key, and authorized_keys changed in the cluster key only (the user's lines byte for byte)", async () => {
    const oldBase64 = gen1.publicKey.split(" ")[1];
    for (const h of HOSTS) {
      const derived = await sshExec(lab, h, "ssh-keygen -y -f ~/.ssh/mpi-hosts_ed25519");
      expect(derived.stdout.split(" ").slice(0, 2)).toEqual(gen2.publicKey.split(" ").slice(0, 2));
      const after = (await readHostFile(lab, h, AUTHORIZED))!;
      expect(after).not.toContain(oldBase64);
      expect(after).toBe(before[h].authorized.replace(gen1.publicKey, gen2.publicKey));
      expect(after).toContain(`${own.publicKey.split(" ").slice(0, 2).join(" ")} me@laptop\n`);
      expect(after.startsWith(`${EARLY}\n# BEGIN mpi-hosts managed block\n`)).toBe(true);
      expect(after.endsWith(`\n${LATER}\n`)).toBe(true);
      expect(await fileState(h, AUTHORIZED).then((s) => s.split("\n")[0])).toBe(before[h].mode);
      expect(await fileState(h, `${MPI_HOME}/.ssh/mpi-hosts_known_hosts`)).toBe(before[h].knownHosts);
      expect(await fileState(h, `${MPI_HOME}/.ssh/config`)).toBe(before[h].sshConfig);
    }
  });

  test("mpirun starts its daemons with the new key and runs mpi4py across the three hosts", async () => {
    const run = await timed("mpirun helloworld across 3 hosts", () =>
      sshExec(lab, "host1", "mpirun -H host1:1,host2:1,host3:1 -np 3 python3 -m mpi4py.bench helloworld 2>&1", { timeoutMs: 120000 }),
    );
    for (const h of HOSTS) expect(run.stdout).toMatch(new RegExp(`Hello, World! I am process \\d of 3 on ${h}\\.`));
    expect(run.code).toBe(0);
  });

  test("applying again changes nothing (the second converge)", async () => {
    for (const h of HOSTS) {
      const facet = trustOf(h, gen2);
      const again = await runFacet(connectionFor(lab, h), facet, "apply", secretEnvFor(facet, gen2));
      expect(again.stderr).toMatch(/cluster trust: already in sync, no change/);
    }
  });

  test("a rotation that missed host2: the verification job fails naming each pair host2 refuses and the key the others hold; the next apply recovers", async () => {
    const gen3 = keyFor("3");
    // host2 was down during `pulumi up --continue-on-error`: host1 and host3 rotated, host2 kept generation 2.
    await Promise.all(["host1", "host3"].map((h) => rotateOn(h, gen2, gen3)));
    const [fp2, fp3] = [await fingerprint(gen2.publicKey), await fingerprint(gen3.publicKey)];

    const partial = await timed("verification job after the partial rotation", () =>
      runVerification(cluster, { privateKey: adminKey }, { tests: ["helloworld"] }),
    );
    expect(partial.report?.ok).toBe(false);
    expect(partial.report?.failedStage).toBe("ssh");
    // The head (host1) logs in to the others with the cluster key too: host2 refuses it, so its own checks cannot
    // run; what the hosts that rotated see is named, with the key they hold.
    const failures = partial.report!.failures;
    expect(failures.map((f) => `${f.kind} ${f.from}->${f.to} ${f.expected}`).sort()).toEqual([
      `ssh-auth-key-refused host1->host2 ${fp3}`,
      `ssh-auth-key-refused host3->host2 ${fp3}`,
    ]);
    expect(failures[0].message).toBe(
      `host1 -> host2: host2 refuses the cluster key that host1 holds (${fp3}); the head could not log in to host2 with it either, to read which key host2 accepts`,
    );
    expect(failures[0].hint).toMatch(/a key rotation \(mpi-hosts:ssh.clusterKeyRotation\) that missed host2 .* run pulumi up again/);
    expect(partial.report!.hosts.find((h) => h.name === "host2")?.reached).toBe(false);
    // host1 and host3, both rotated, still reach each other.
    expect(partial.report!.pairs.filter((p) => [p.from, p.to].sort().join() === "host1,host3").map((p) => p.ssh)).toEqual(["ok", "ok"]);
    // What host2 holds, by plain tools: generation 2, which the others no longer accept.
    const held = await sshExec(lab, "host2", "ssh-keygen -l -f ~/.ssh/mpi-hosts_ed25519");
    expect(held.stdout.split(" ")[1]).toBe(fp2);
    expect(await loginWith("host2", "host1", `${MPI_HOME}/.ssh/mpi-hosts_ed25519`)).toMatchObject({ in: false });

    // The next `pulumi up` reaches host2: its clusterTrust update installs generation 3.
    await rotateOn("host2", gen2, gen3);
    const healed = await timed("verification job after the next apply", () =>
      runVerification(cluster, { privateKey: adminKey }, { tests: ["helloworld"] }),
    );
    expect(healed.report?.failures).toEqual([]);
    expect(healed.report?.ok).toBe(true);
  });
});
