/**
 * The facet operations against real hosts, called the way the provider plugin calls them for the engine:
 * create, read (refresh), diff, update, delete, and how it fails (wrong host key, no sudo, host down).
 *   npx jest --selectProjects lab --runTestsByPath test/lab/provider.test.ts --runInBand
 */
import * as fs from "fs";
import * as path from "path";
import * as ssh2 from "ssh2";
import { FacetInputs, FacetOutputs, facetProvider } from "../../components/provider/facetProvider";
import { closeAll } from "../../components/provider/remote";
import { Lab, labStatus, startLab, stopHost, stopLab } from "../../lab/lab";
import { connectionFor } from "../../lab/harness/facetRunner";
import { labHost, rootOk } from "../../lab/harness/labHelpers";
import { ClusterKeyPair, facetInputs, facetOf, facetsOf, labCluster, newClusterKey } from "../../lab/harness/labCluster";
import { MPI_HOME, readHostFile } from "./support/hostState";
import { Cluster } from "../../components/config/types";

jest.setTimeout(300000);

const LAB = "provider";
const provider = facetProvider as Required<typeof facetProvider>;

let lab: Lab;
let cluster: Cluster;
let key: ClusterKeyPair;

const inputsOf = (host: string, facet: string): FacetInputs => facetInputs(lab, facetOf(cluster, host, key, facet), key);
const create = async (inputs: FacetInputs) => (await provider.create(inputs)) as { id: string; outs: FacetOutputs };

/** SSH logins sshd accepted on the host so far (it logs to the host's console). */
function acceptedLogins(host: string): number {
  const log = fs.readFileSync(path.join(lab.dir, "hosts", host, "console.log"), "utf8");
  return log.split("\n").filter((l) => l.startsWith("Accepted publickey")).length;
}

beforeAll(async () => {
  const started = Date.now();
  lab = await startLab({ name: LAB, hosts: 3, release: "trixie" });
  cluster = labCluster(lab);
  key = newClusterKey();
  console.log(`provider.test.ts: 3 trixie hosts up in ${Date.now() - started} ms`);
});

afterAll(async () => {
  await closeAll();
  await stopLab(LAB);
});

describe("the facet provider on a real host", () => {
  test("create applies and returns the host's state; read (refresh) returns what is on the host", async () => {
    const inputs = inputsOf("host1", "mcaParams");
    const { id, outs } = await create(inputs);
    expect(id).toBe("host1/mcaParams");
    expect(outs.lastApply).toBe("MCA parameters: wrote ~/.openmpi/mca-params.conf and ~/.prte/mca-params.conf");
    expect(outs.state).toEqual(inputs.state);
    // The same bytes, seen by plain cat.
    expect(await readHostFile(lab, "host1", `${MPI_HOME}/.openmpi/mca-params.conf`)).toBe(inputs.state.openmpi);

    const read = await provider.read(id, outs);
    expect(read.id).toBe(id);
    expect(read.props.state).toEqual(inputs.state);

    // A hand edit shows up on the next read.
    await rootOk(lab, "host1", "sed -i 's/^prte_if_include = .*$/prte_if_include = 192.0.2.0\\/24/' /home/mpi/.prte/mca-params.conf");
    const drifted = await provider.read(id, outs);
    expect(drifted.props.state.openmpi).toBe(inputs.state.openmpi);
    expect(drifted.props.state.prte).toBe(
      (inputs.state.prte as string).replace(/^prte_if_include = .*$/m, "prte_if_include = 192.0.2.0/24"),
    );
    await provider.update(id, drifted.props as FacetOutputs, inputs);
  });

  test("diff finds no change on an unchanged host, a change after a hand edit, and none once update repaired it", async () => {
    const inputs = inputsOf("host1", "sshConfig");
    const { id, outs } = await create(inputs);
    const refreshed = (await provider.read(id, outs)).props as FacetOutputs;
    expect(await provider.diff(id, refreshed, inputs)).toMatchObject({ changes: false });

    const address = labHost(lab, "host2").address;
    await rootOk(
      lab,
      "host1",
      `sed -i 's/^  Port 2400$/  Port 2222/; s/^  HostName ${address}$/  HostName 10.9.9.9/' /home/mpi/.ssh/config`,
    );
    const drifted = (await provider.read(id, outs)).props as FacetOutputs;
    expect(drifted.state.block).toContain("  HostName 10.9.9.9\n");
    expect(await provider.diff(id, drifted, inputs)).toMatchObject({ changes: true, replaces: [] });

    const { outs: repaired } = (await provider.update(id, drifted, inputs)) as { outs: FacetOutputs };
    expect(repaired.lastApply).toBe("ssh config: wrote the block for 3 hosts");
    const again = (await provider.read(id, repaired)).props as FacetOutputs;
    expect(await provider.diff(id, again, inputs)).toMatchObject({ changes: false });
    expect((await rootOk(lab, "host1", "runuser -u mpi -- ssh -G host2 | grep -E '^(hostname|port) '")).split("\n")).toEqual([
      `hostname ${address}`,
      "port 2400",
      "",
    ]);
  });

  test("delete runs remove: the host loses exactly what create added", async () => {
    const before = await readHostFile(lab, "host2", `${MPI_HOME}/.ssh/authorized_keys`);
    const inputs = inputsOf("host2", "clusterTrust");
    const { id, outs } = await create(inputs);
    expect(await readHostFile(lab, "host2", `${MPI_HOME}/.ssh/authorized_keys`)).toBe(`${inputs.state.authorizedKeys}${before}`);
    await provider.delete(id, outs);
    expect(await readHostFile(lab, "host2", `${MPI_HOME}/.ssh/authorized_keys`)).toBe(before);
    expect(await rootOk(lab, "host2", "ls -A /home/mpi/.ssh")).toBe("authorized_keys\n");
  });
});

describe("a refresh of a host's facets", () => {
  /** Exec requests (SSH round trips) the provider sends while `during` runs (these tests use host1 only). */
  async function execsDuring<T>(during: () => Promise<T>): Promise<{ result: T; execs: number }> {
    let execs = 0;
    const original = ssh2.Client.prototype.exec;
    const spy = jest.spyOn(ssh2.Client.prototype, "exec").mockImplementation(function (this: ssh2.Client, ...args: unknown[]) {
      execs++;
      return (original as (...a: unknown[]) => ssh2.Client).apply(this, args);
    });
    try {
      return { result: await during(), execs };
    } finally {
      spy.mockRestore();
    }
  }

  test("takes one SSH round trip per host, whatever the order and spacing of the engine's reads", async () => {
    const facets = facetsOf(cluster, "host1", key);
    const outputs = facets.map((f) => ({ ...facetInputs(lab, f, key, undefined, facets), lastApply: "" })).reverse();
    const { result, execs } = await execsDuring(() =>
      Promise.all(
        outputs.map(async (o, i) => {
          await new Promise((r) => setTimeout(r, 150 * i));
          return provider.read(`host1/${o.facet}`, o);
        }),
      ),
    );
    expect(facets.length).toBeGreaterThanOrEqual(6);
    expect(result.map((r) => r.id)).toEqual(outputs.map((o) => `host1/${o.facet}`));
    // Each facet gets its own state: the same as reading it alone.
    for (const [i, o] of outputs.entries()) {
      const alone = await provider.read(`host1/${o.facet}`, { ...o, hostFacets: { [o.facet]: o.hostFacets[o.facet] } });
      expect(result[i].props.state).toEqual(alone.props.state);
    }
    expect(execs).toBe(1);
  });

  test("probes again once the host was changed, and when the same facet is read twice", async () => {
    const facets = facetsOf(cluster, "host1", key);
    const [first, second] = facets.map((f) => ({ ...facetInputs(lab, f, key, undefined, facets), lastApply: "" }));
    const hostfile = facetInputs(
      lab,
      facets.find((f) => f.facet === "hostfile")!,
      key,
      undefined,
      facets,
    );
    const { execs } = await execsDuring(async () => {
      await provider.read(`host1/${first.facet}`, first); // 1: every probe
      await provider.read(`host1/${first.facet}`, first); // 2: its result was taken
      const { outs } = await create(hostfile); // 3: apply + probe
      const after = await provider.read(`host1/${second.facet}`, second); // 4: the host changed since 2
      await provider.delete("host1/hostfile", outs); // 5
      return after;
    });
    expect(execs).toBe(5);
  });
});

describe("how the provider fails", () => {
  test("a wrong pinned host key: 'host key mismatch' naming the host, and nothing ran there", async () => {
    const logins = acceptedLogins("host3");
    const inputs = inputsOf("host3", "hostfile");
    inputs.connection = { ...inputs.connection, hostKeys: [labHost(lab, "host2").hostKey] };
    const failure = provider.create(inputs);
    await expect(failure).rejects.toThrow(
      /^host3 \(mpi@[\d.]+:2400\): host key mismatch: expected SHA256:\S+ \(ssh-ed25519\) \(pinned\), got SHA256:\S+\./,
    );
    await expect(provider.read("host3/hostfile", { ...inputs, lastApply: "" })).rejects.toThrow(/host3 .*host key mismatch/);
    // No login happened (the key check comes first), so no script can have run: no hostfile either.
    expect(acceptedLogins("host3")).toBe(logins);
    expect(await rootOk(lab, "host3", "ls -A /home/mpi")).not.toMatch(/\.mpi-hosts/);
    // The count is live: the right key logs in, and the probe runs.
    const right = await provider.read("host3/hostfile", { ...inputsOf("host3", "hostfile"), lastApply: "" });
    expect(right.props.state).toEqual({ hostfile: null });
    expect(acceptedLogins("host3")).toBe(logins + 1);
  });

  test("a login user without passwordless sudo: a privileged facet fails with 'needs root' naming host, step and user; reads that need no root still work", async () => {
    await rootOk(
      lab,
      "host2",
      "id nosudo >/dev/null 2>&1 || useradd -m -s /bin/bash nosudo; install -d -o nosudo -g nosudo -m 700 /home/nosudo/.ssh; " +
        "cp /home/mpi/.ssh/authorized_keys /home/nosudo/.ssh/authorized_keys; chown nosudo:nosudo /home/nosudo/.ssh/authorized_keys",
    );
    const rulesBefore = await rootOk(lab, "host2", "iptables -S");
    const firewall = facetsOf(cluster, "host2", key).find((f) => f.facet === "firewall")!;
    expect(firewall.privileged).toBe(true);
    const connection = { ...connectionFor(lab, "host2"), user: "nosudo" };
    const inputs = facetInputs(lab, firewall, key, connection);
    await expect(provider.create(inputs)).rejects.toThrow(
      /^host2: firewall apply needs root, and `sudo -n` failed for nosudo: sudo: .*passwordless sudo on host2/,
    );
    await expect(provider.read("host2/firewall", { ...inputs, lastApply: "" })).rejects.toThrow(
      /^host2: firewall probe needs root, and `sudo -n` failed for nosudo/,
    );
    expect(await rootOk(lab, "host2", "iptables -S")).toBe(rulesBefore);
    // Only the firewall's probe needs root: the python (system) facet installs through sudo but reads as the login user.
    const python = facetsOf(cluster, "host2", key).find((f) => f.facet === "python")!;
    expect([python.privileged, python.probePrivileged]).toEqual([true, false]);
    const read = await provider.read("host2/python", { ...facetInputs(lab, python, key, connection), lastApply: "" });
    expect(read.props.state).toMatchObject(python.desired);
    // The same facet as mpi, who has sudo, converges.
    const { outs } = await create(facetInputs(lab, firewall, key));
    expect(outs.lastApply).toMatch(/MPI ports open to the cluster network only/);
    await provider.delete("host2/firewall", outs);
    expect(await rootOk(lab, "host2", "iptables -S")).toBe(rulesBefore);
  });

  test("an unreachable host fails with a message naming it, while another host converges", async () => {
    await stopHost(lab, "host3");
    expect(labHost((await labStatus(LAB))!, "host3").up).toBe(false);
    const started = Date.now();
    const run = async (host: string) => {
      const notes: string[] = [];
      for (const f of facetsOf(cluster, host, key)) notes.push((await create(facetInputs(lab, f, key))).outs.lastApply);
      return notes;
    };
    const [host1, host3] = await Promise.allSettled([run("host1"), run("host3")]);
    console.log(`provider.test.ts: host1 converged and host3 failed within ${Date.now() - started} ms`);
    expect(host1.status).toBe("fulfilled");
    expect((host1 as PromiseFulfilledResult<string[]>).value).toHaveLength(6);
    expect(host3.status).toBe("rejected");
    expect(String((host3 as PromiseRejectedResult).reason)).toMatch(/host3 \(mpi@[\d.]+:2400\): (no SSH answer within 10s|cannot connect)/);
  });
});
