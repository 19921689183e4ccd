/**
 * Issue 15, residual R3 on real hosts: the cluster key is anchored on the hosts. 2 trixie lab hosts get clusterTrust
 * through the facet provider (as `pulumi up` creates it; the user's own authorized key seeded first); then the update
 * a plain `pulumi up` makes after someone replaced the key pair in the state (a consistent pair of their own, same
 * key generation) fails on every host, and authorized_keys, the private key file, its .pub and the record stay byte
 * for byte (sha256sum as root); sshd on each host still refuses the stranger's key and takes the cluster's (plain
 * `ssh -F /dev/null -i KEY` from the other host). A host from before the anchor (no record) records the generation
 * on its next apply without refusing. A bumped generation replaces the key everywhere, and the old one is refused.
 * Fails on the code before the anchor: the swapped update succeeds and sshd lets the stranger's key in.
 *   npx jest test/security/clusterKeyAnchor.lab.test.ts --selectProjects lab --runInBand
 */
import { execFileSync } from "child_process";
import { Cluster } from "../../components/config/types";
import { facetProvider } from "../../components/provider/facetProvider";
import { closeAll } from "../../components/provider/remote";
import { Lab, startLab, stopLab } from "../../lab/lab";
import { labHost, rootOk, sshExec } from "../../lab/harness/labHelpers";
import { ClusterKeyPair, facetInputs, facetOf, labCluster, labStackValues, newClusterKey } from "../../lab/harness/labCluster";
import { MPI_HOME, seedUserContent, writeUserFile } from "../lab/support/hostState";
import { Timings } from "../lab/support/timings";

jest.setTimeout(600000);

const LAB = "xk1";
const HOSTS = ["host1", "host2"];
const SSH = `${MPI_HOME}/.ssh`;
const WATCHED = ["authorized_keys", "mpi-hosts_ed25519", "mpi-hosts_ed25519.pub", "mpi-hosts_ed25519.generation"].map((f) => `${SSH}/${f}`);
/** Shell for a file's mode, owner and sha256, or that it is absent (a host before the anchor has no record). */
const statAndSum = (f: string) => `if [ -e ${f} ]; then stat -c '%a %U %n' ${f}; sha256sum <${f}; else echo "${f} absent"; fi`;
const STRANGER_FILE = "/tmp/xk-stranger-key";
const OLD_FILE = "/tmp/xk-old-cluster-key";

let lab: Lab;
const timings = new Timings("clusterKeyAnchor.lab.test.ts timings");
const timed = <T>(label: string, fn: () => Promise<T>) => timings.time(label, fn);

/** The cluster at key generation `generation` (mpi-hosts:ssh.clusterKeyRotation). */
const clusterAt = (generation: string): Cluster => labCluster(lab, { ssh: { ...labStackValues(lab).ssh, clusterKeyRotation: generation } });

const fingerprint = (publicKey: string) =>
  execFileSync("ssh-keygen", ["-l", "-f", "-"], { input: `${publicKey}\n`, encoding: "utf8" }).split(" ")[1];

/** clusterTrust's inputs for `host` with `key` at `generation`, as MpiHost hands them to the provider. */
const inputsFor = (host: string, key: ClusterKeyPair, generation: string) =>
  facetInputs(lab, facetOf(clusterAt(generation), host, key, "clusterTrust"), key);

/** The update `pulumi up` makes of a host's clusterTrust when the key or generation it is given changed. */
async function update(host: string, from: { key: ClusterKeyPair; gen: string }, to: { key: ClusterKeyPair; gen: string }) {
  const olds = inputsFor(host, from.key, from.gen);
  const news = inputsFor(host, to.key, to.gen);
  expect((await facetProvider.diff!(`${host}/clusterTrust`, olds, news)).changes).toBe(true);
  return facetProvider.update!(`${host}/clusterTrust`, olds, news);
}

/** Mode, owner and sha256 of every watched file, as root with plain tools. */
async function watched(host: string): Promise<string> {
  return rootOk(lab, host, WATCHED.map(statAndSum).join("; "));
}

async function held(host: string): Promise<string> {
  return (await rootOk(lab, host, `ssh-keygen -l -f ${SSH}/mpi-hosts_ed25519`)).split(" ")[1];
}

/** Plain OpenSSH on `from`, no config file, only `keyFile`: whether `to`'s sshd lets that key in. */
async function loginWith(from: string, to: string, keyFile: string): Promise<boolean> {
  const target = labHost(lab, to);
  const command = [
    "ssh -F /dev/null -n -T",
    `-i ${keyFile} -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes -o ConnectTimeout=10`,
    `-o StrictHostKeyChecking=yes -o UserKnownHostsFile=${SSH}/mpi-hosts_known_hosts`,
    `-p ${target.port} ${target.user}@${target.address} echo in 2>&1`,
  ].join(" ");
  return (await sshExec(lab, from, command)).stdout === "in\n";
}

const other = (h: string) => HOSTS.find((x) => x !== h)!;

const gen1 = newClusterKey("mpi-hosts cluster xk");
const stranger = newClusterKey("mpi-hosts cluster xk");
const gen2 = newClusterKey("mpi-hosts cluster xk");

beforeAll(async () => {
  lab = await timed("start a 2-host trixie lab", () => startLab({ name: LAB, hosts: HOSTS.length, release: "trixie" }));
  await timed("seed user content, create clusterTrust (generation 1)", () =>
    Promise.all(
      HOSTS.map(async (h) => {
        await seedUserContent(lab, h, newClusterKey("me@laptop").publicKey);
        await facetProvider.create!(inputsFor(h, gen1, "1"));
        await writeUserFile(lab, h, STRANGER_FILE, stranger.privateKey, "600");
        await writeUserFile(lab, h, OLD_FILE, gen1.privateKey, "600");
      }),
    ),
  );
});

afterAll(async () => {
  timings.print();
  await closeAll();
  await stopLab(LAB);
});

describe("the cluster key anchored on 2 trixie hosts", () => {
  test("create records generation 1 and the key's fingerprint beside the key (read with cat and ssh-keygen)", async () => {
    for (const h of HOSTS) {
      expect(await held(h)).toBe(fingerprint(gen1.publicKey));
      const record = await rootOk(lab, h, `cat ${SSH}/mpi-hosts_ed25519.generation`);
      expect(record.split("\n").slice(2)).toEqual(["generation=1", `key=${fingerprint(gen1.publicKey)}`, ""]);
    }
  });

  test("a pair swapped in the state, generation unchanged: the update fails on every host, nothing changes, sshd still refuses the stranger's key", async () => {
    const before = Object.fromEntries(await Promise.all(HOSTS.map(async (h) => [h, await watched(h)] as const)));
    const results = await timed("swapped update on 2 hosts", () =>
      Promise.allSettled(HOSTS.map((h) => update(h, { key: gen1, gen: "1" }, { key: stranger, gen: "1" }))),
    );
    results.forEach((r, i) => {
      const h = HOSTS[i];
      expect(r.status).toBe("rejected");
      const message = (r as PromiseRejectedResult).reason.message as string;
      expect(message).toMatch(new RegExp(`^${h}: clusterTrust apply failed \\(exit 1\\):\\n`));
      expect(message).toContain(
        `clusterTrust apply on ${h} refused to replace the cluster key: the key to install (${fingerprint(stranger.publicKey)}) differs from the one ${h} holds for key generation 1 (${fingerprint(gen1.publicKey)})`,
      );
      expect(message).toContain("If you meant to, bump mpi-hosts:ssh.clusterKeyRotation");
    });
    for (const h of HOSTS) {
      expect(await watched(h)).toBe(before[h]);
      expect(await loginWith(other(h), h, STRANGER_FILE)).toBe(false);
      expect(await loginWith(other(h), h, `${SSH}/mpi-hosts_ed25519`)).toBe(true);
    }
  });

  test("a host from before the anchor (no record): its next apply records the generation without refusing", async () => {
    await rootOk(lab, "host2", `rm ${SSH}/mpi-hosts_ed25519.generation`);
    const outs = await facetProvider.update!("host2/clusterTrust", inputsFor("host2", gen1, "1"), inputsFor("host2", gen1, "1"));
    expect(String(outs.outs?.lastApply)).toContain(`recorded key generation 1 for the cluster key ${fingerprint(gen1.publicKey)} on host2`);
    expect(await rootOk(lab, "host2", `cat ${SSH}/mpi-hosts_ed25519.generation`)).toContain(
      `generation=1\nkey=${fingerprint(gen1.publicKey)}\n`,
    );
  });

  test("a bumped generation (2) replaces the key on every host: the old one is refused, the new one gets in", async () => {
    await timed("rotation to generation 2 on 2 hosts", () =>
      Promise.all(HOSTS.map((h) => update(h, { key: gen1, gen: "1" }, { key: gen2, gen: "2" }))),
    );
    for (const h of HOSTS) {
      expect(await held(h)).toBe(fingerprint(gen2.publicKey));
      expect(await rootOk(lab, h, `cat ${SSH}/mpi-hosts_ed25519.generation`)).toContain(
        `generation=2\nkey=${fingerprint(gen2.publicKey)}\n`,
      );
      const authorized = await rootOk(lab, h, `cat ${SSH}/authorized_keys`);
      expect(authorized).toContain(gen2.publicKey);
      expect(authorized).toContain(" me@laptop\n");
      expect(await loginWith(other(h), h, OLD_FILE)).toBe(false);
      expect(await loginWith(other(h), h, `${SSH}/mpi-hosts_ed25519`)).toBe(true);
    }
  });
});
