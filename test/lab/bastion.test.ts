/**
 * A host reachable only through another (a bastion, ProxyJump), on real lab hosts: this machine has no route to host3
 * (lab option behindBastion), host1 and host2 reach it as before. Through host1, host3's facets converge (twice: the
 * second finds nothing to do), a hand change on host3 is seen by a probe and repaired, and the verification job runs
 * with host3 as its head, through runVerification and `npm run verify`. A bastion presenting another key than the
 * pinned one is refused, naming the bastion, and nothing reaches host3.
 *   npx jest --selectProjects lab --runInBand --runTestsByPath test/lab/bastion.test.ts
 */
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import { run as verifyCli } from "../../cli/verify";
import { jumpOf } from "../../components/config/jump";
import { Cluster } from "../../components/config/types";
import { FacetInputs, FacetOutputs, facetProvider } from "../../components/provider/facetProvider";
import { closeAll, Connection, poolKey, runScript } from "../../components/provider/remote";
import { runVerification } from "../../components/verify/run";
import { Lab, renderLabStack, startLab, stopLab } from "../../lab/lab";
import { labLogin } from "../../lab/login";
import { connectionFor } from "../../lab/harness/facetRunner";
import { labHost, rootOk } from "../../lab/harness/labHelpers";
import { ClusterKeyPair, facetInputs, facetsOf, hostOf, labCluster, newClusterKey } from "../../lab/harness/labCluster";
import { readHostFile, MPI_HOME } from "./support/hostState";
import { Timings } from "./support/timings";

jest.setTimeout(600000);

const LAB = "jp1";
const provider = facetProvider as Required<typeof facetProvider>;
const timings = new Timings("bastion.test.ts timings");

let lab: Lab;
let cluster: Cluster;
let key: ClusterKeyPair;

/** How a TCP connection from this machine to address:port ends: "connected", or the error's code. */
function tcpFromHere(address: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    socket.setTimeout(3000, () => (socket.destroy(), resolve("timeout")));
    socket.on("connect", () => (socket.destroy(), resolve("connected")));
    socket.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

/** Accepted SSH logins in a host's sshd log (its console), by source address. */
function loginsFrom(host: string, address: string): number {
  const log = fs.readFileSync(path.join(lab.dir, "hosts", host, "console.log"), "utf8");
  return log.split("\n").filter((l) => l.startsWith("Accepted publickey") && l.includes(` from ${address} `)).length;
}

beforeAll(async () => {
  const started = Date.now();
  lab = await startLab({ name: LAB, hosts: 3, release: "trixie", behindBastion: ["host3"] });
  cluster = labCluster(lab);
  key = newClusterKey();
  timings.note(`lab up (3 trixie hosts, host3 behind host1): ${Date.now() - started} ms`);
});

afterAll(async () => {
  await closeAll();
  await stopLab(LAB);
  timings.print();
});

describe("the lab's host behind a bastion", () => {
  test("this machine has no route to host3, host1 and host2 reach its sshd, and the stack config says jump: host1", async () => {
    const host3 = labHost(lab, "host3");
    expect(await tcpFromHere(host3.address, host3.port)).toBe("EHOSTUNREACH");
    expect(await tcpFromHere(labHost(lab, "host2").address, 2400)).toBe("connected");
    for (const from of ["host1", "host2"]) {
      expect(await rootOk(lab, from, `timeout 5 bash -c 'exec 3<>/dev/tcp/${host3.address}/2400; head -c 8 <&3'`)).toBe("SSH-2.0-");
    }
    const stack = parse(renderLabStack(lab)) as { config: Record<string, Array<Record<string, unknown>>> };
    expect(stack.config["mpi-hosts:hosts"].map((h) => h.jump)).toEqual([undefined, undefined, "host1"]);
    expect(hostOf(cluster, "host3").jump).toMatchObject({ name: "host1", address: labHost(lab, "host1").address, port: 2400, user: "mpi" });
    expect(hostOf(cluster, "host1").jump).toBeUndefined();
  });

  test("a direct connection to host3 fails naming host3; through host1 it runs, and host3 sees the login come from host1", async () => {
    const direct: Connection = { ...connectionFor(lab, "host3"), jump: undefined };
    await expect(runScript(direct, "hostname", { step: "hostname" })).rejects.toThrow(
      new RegExp(`^host3 \\(mpi@${labHost(lab, "host3").address.replace(/\./g, "\\.")}:2400\\): cannot connect: .*EHOSTUNREACH`),
    );
    const before = loginsFrom("host3", labHost(lab, "host1").address);
    const through = connectionFor(lab, "host3");
    expect(poolKey(through)).toMatch(/ via mpi@10\.213\.\d+\.11:2400\//);
    const result = await runScript(through, "hostname; echo $SSH_CLIENT", { step: "hostname" });
    expect(result.stdout.split("\n")[0]).toBe("host3");
    expect(result.stdout.split("\n")[1].split(" ")[0]).toBe(labHost(lab, "host1").address);
    expect(loginsFrom("host3", labHost(lab, "host1").address)).toBe(before + 1);
  });
});

describe("facets of a host behind a bastion, through the facet provider", () => {
  const inputsOf = (facet: ReturnType<typeof facetsOf>[number]): FacetInputs => facetInputs(lab, facet, key);

  test("every facet converges through host1, and a second converge finds nothing to change", async () => {
    const facets = facetsOf(cluster, "host3", key);
    expect(facets.map((f) => f.facet)).toEqual(expect.arrayContaining(["sshConfig", "clusterTrust", "mcaParams", "firewall", "hostfile"]));
    let started = Date.now();
    const created: FacetOutputs[] = [];
    for (const facet of facets) {
      const inputs = inputsOf(facet);
      expect(inputs.connection.jump).toMatchObject({ name: "host1" });
      const { outs } = (await provider.create(inputs)) as { outs: FacetOutputs };
      // What the host has now is what was asked for (the python facet's state also reports the versions it found).
      expect(outs.state).toMatchObject(inputs.state);
      created.push(outs);
    }
    timings.note(`first converge of ${facets.length} facets on host3 through host1: ${Date.now() - started} ms`);
    started = Date.now();
    for (const [i, facet] of facets.entries()) {
      const inputs = inputsOf(facet);
      const id = `host3/${facet.facet}`;
      const read = await provider.read(id, created[i]);
      expect({ facet: facet.facet, diff: await provider.diff(id, read.props as FacetOutputs, inputs) }).toMatchObject({
        facet: facet.facet,
        diff: { changes: false },
      });
    }
    timings.note(`refresh + diff of ${facets.length} facets on host3 through host1: ${Date.now() - started} ms`);
    // host3's sshd saw every login come from host1, none from this machine.
    expect(loginsFrom("host3", labHost(lab, "host1").address)).toBeGreaterThanOrEqual(1);
    expect(loginsFrom("host3", lab.gateway)).toBe(0);
    // Independent of our probes: host3's files as root sees them.
    expect(await readHostFile(lab, "host3", `${MPI_HOME}/.mpi-hosts/hostfile`)).toContain("host3 slots=2");
  });

  test("a hand change on host3 is seen by a probe through the bastion, and an update through it repairs it", async () => {
    const facet = facetsOf(cluster, "host3", key, ["mcaParams"])[0];
    const inputs = inputsOf(facet);
    const id = "host3/mcaParams";
    const { outs } = (await provider.create(inputs)) as { outs: FacetOutputs };
    await rootOk(lab, "host3", "sed -i 's/^prte_if_include = .*$/prte_if_include = 192.0.2.0\\/24/' /home/mpi/.prte/mca-params.conf");
    const drifted = (await provider.read(id, outs)).props as FacetOutputs;
    expect(drifted.state.prte).toMatch(/^prte_if_include = 192\.0\.2\.0\/24$/m);
    expect(await provider.diff(id, drifted, inputs)).toMatchObject({ changes: true });
    const { outs: repaired } = (await provider.update(id, drifted, inputs)) as { outs: FacetOutputs };
    expect(repaired.state).toEqual(inputs.state);
    expect(await readHostFile(lab, "host3", `${MPI_HOME}/.prte/mca-params.conf`)).toBe(inputs.state.prte);
  });
});

describe("the verification job with its head behind the bastion", () => {
  let headBehind: Cluster;

  beforeAll(async () => {
    const started = Date.now();
    headBehind = labCluster(lab, { verify: { from: "host3", tests: ["helloworld", "ringtest"], timeoutSeconds: 60 } });
    // host1 and host2 directly, host3 through host1: every facet, as pulumi up would.
    await Promise.all(
      ["host1", "host2", "host3"].map(async (host) => {
        for (const facet of facetsOf(headBehind, host, key)) await provider.create(facetInputs(lab, facet, key));
      }),
    );
    timings.note(`every facet on the 3 hosts: ${Date.now() - started} ms`);
  });

  test("runVerification runs the job on host3 through host1 and passes", async () => {
    const result = await runVerification(headBehind, labLogin(lab));
    timings.note(`verification job from host3 through host1: ${result.seconds.toFixed(1)} s`);
    expect({ code: result.code, problem: result.problem, failures: result.report?.failures }).toEqual({
      code: 0,
      problem: undefined,
      failures: [],
    });
    expect(result.report).toMatchObject({ ok: true, from: "host3" });
  });

  test("npm run verify on the stack file reaches host3 through host1, and exits 0", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "jp-verify-"));
    let stdout = "";
    let stderr = "";
    const out = jest.spyOn(process.stdout, "write").mockImplementation((chunk) => ((stdout += String(chunk)), true));
    const err = jest.spyOn(process.stderr, "write").mockImplementation((chunk) => ((stderr += String(chunk)), true));
    try {
      const doc = parse(renderLabStack(lab)) as { config: Record<string, unknown> };
      doc.config["mpi-hosts:verify"] = { from: "host3", tests: ["helloworld"], timeoutSeconds: 60 };
      const stack = path.join(dir, "Pulumi.jp1.yaml");
      fs.writeFileSync(stack, stringify(doc));
      const code = await verifyCli([stack, "--tests", "helloworld"]);
      out.mockRestore();
      err.mockRestore();
      expect({ code, stderr }).toMatchObject({ code: 0 });
      expect(stdout.split("\n")[0]).toMatch(/^mpi-hosts verify: ok in .* from host3/);
    } finally {
      out.mockRestore();
      err.mockRestore();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a bastion whose key is not the pinned one", () => {
  test("is refused with a message naming the bastion, and host3 is not logged in to", async () => {
    const host1 = labHost(lab, "host1");
    const other = newClusterKey("not host1").publicKey.split(" ").slice(0, 2).join(" ");
    const wrong: Connection = {
      ...connectionFor(lab, "host3"),
      jump: { name: "host1", address: host1.address, port: host1.port, user: host1.user, hostKeys: [other] },
    };
    const logins = loginsFrom("host3", host1.address);
    await expect(runScript(wrong, "hostname", { step: "hostname" })).rejects.toThrow(
      new RegExp(
        `^cannot reach host3 \\(mpi@[\\d.]+:2400\\) through bastion host1 \\(mpi@${host1.address.replace(/\./g, "\\.")}:2400\\): host key mismatch: expected SHA256:`,
      ),
    );
    expect(loginsFrom("host3", host1.address)).toBe(logins);
  });

  test("from the stack config (a bastion object with a wrong hostKey): the message names the bastion's address", async () => {
    const host1 = labHost(lab, "host1");
    const other = newClusterKey("not host1").publicKey.split(" ").slice(0, 2).join(" ");
    const doc = parse(renderLabStack(lab)) as { config: Record<string, Array<Record<string, unknown>>> };
    const hosts = doc.config["mpi-hosts:hosts"];
    hosts[2].jump = { address: host1.address, port: 2400, hostKey: other };
    const c = labCluster(lab, { hosts });
    const facet = facetsOf(c, "host3", key, ["hostfile"])[0];
    const inputs = facetInputs(lab, facet, key, { ...connectionFor(lab, "host3"), ...jumpOf(c.hosts[2]) });
    await expect(provider.create(inputs)).rejects.toThrow(
      `through bastion ${host1.address} (mpi@${host1.address}:2400): host key mismatch`,
    );
  });
});
