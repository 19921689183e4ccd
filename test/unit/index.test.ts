/**
 * The Pulumi wiring of index.ts under mocks: which resources exist, their types, names and parents,
 * what the verification job's trigger follows, and the shape of the stack outputs. Real hosts are
 * exercised by the lab tests.
 */
import * as pulumi from "@pulumi/pulumi";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import YAML from "yaml";
import type { VerifyReport } from "../../components/verify/report";

const created: Array<{ type: string; name: string; inputs: any }> = [];

/** When the mocked apply of a facet ran: a realistic time of its own per host and facet. */
function appliedAtOf(host: string, facet: string): string {
  let h = 0;
  for (const c of `${host}/${facet}`) h = (h * 31 + c.charCodeAt(0)) % 86_400_000;
  return new Date(Date.UTC(2025, 5, 1) + h).toISOString();
}

/** What the mocked job prints on stdout: the report, one line (a passing run on the example stack, cut short). */
const REPORT: VerifyReport = {
  version: 1,
  ok: true,
  failedStage: null,
  from: "linux1",
  at: "2026-12-01T16:00:00Z",
  seconds: 4.2,
  summary: "mpi-hosts verify: ok in 4.2 s from linux1: 5 hosts, 48 ranks; helloworld ok, ringtest ok",
  stages: [{ name: "helloworld", status: "pass", seconds: 1.1, detail: "48 ranks answered from 5 hosts" }],
  ranges: [{ label: "btl", first: 50000, last: 50099 }],
  hosts: [],
  pairs: [],
  failures: [],
};

pulumi.runtime.setMocks(
  {
    newResource(args) {
      created.push({ type: args.type, name: args.name, inputs: args.inputs });
      if (args.type === "mpi-hosts:index:ClusterKey") {
        return {
          id: "cluster-key-1",
          state: { ...args.inputs, publicKey: "ssh-ed25519 AAAAMOCK mpi-hosts cluster", privateKey: "MOCK PRIVATE KEY" },
        };
      }
      if (args.type === "mpi-hosts:index:Facet") {
        const { host, facet } = args.inputs;
        return {
          id: `${host}/${facet}`,
          state: { ...args.inputs, lastApply: "mocked: no change", appliedAt: appliedAtOf(host, facet) },
        };
      }
      if (args.type === "mpi-hosts:index:VerificationJob") {
        // The "garbage" cluster's job printed something other than a report (and exited 0).
        const stdout = args.name.startsWith("garbage-") ? "Welcome to linux1!\n" : `${JSON.stringify(REPORT)}\n`;
        return { id: args.name, state: { ...args.inputs, stdout, ranAt: "2026-12-02T00:00:00.000Z" } };
      }
      return { id: `${args.name}-id`, state: args.inputs };
    },
    call: (args) => args.inputs,
  },
  "mpi-hosts",
  "unit",
  false,
);

let adminKey = "";

function useStackFile(file: string) {
  const doc = YAML.parse(fs.readFileSync(file, "utf8"));
  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries(doc.config)) config[key] = typeof value === "string" ? value : JSON.stringify(value);
  // A real key, and no agent: the verification job then carries the key (the fallback), so the test can see where it goes.
  const keyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "key-")), "id");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "admin", "-f", keyFile]);
  adminKey = fs.readFileSync(keyFile, "utf8");
  delete process.env.SSH_AUTH_SOCK;
  config["mpi-hosts:ssh"] = JSON.stringify({ ...JSON.parse(config["mpi-hosts:ssh"]), privateKeyPath: keyFile });
  pulumi.runtime.setAllConfig(config);
}

/** How the engine marks a secret value on the wire. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const secretValue = (wrapped: any) => {
  expect(wrapped?.[SECRET_SIG]).toBe("1b47061264138c4ac30d75fd1eb44270");
  return wrapped.value;
};

const urnOf = (r: pulumi.Resource) => new Promise<string>((resolve) => r.urn.apply(resolve));
const valueOf = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));

describe("index.ts on the example stack", () => {
  let program: typeof import("../../index");
  let cluster: import("../../components/mpiCluster").MpiCluster;

  beforeAll(async () => {
    useStackFile("Pulumi.example.yaml");
    program = await import("../../index");
    // Reach the component through its outputs' parents: index.ts exports only outputs.
    const { MpiCluster } = await import("../../components/mpiCluster");
    const { loadClusterOrThrow, readStackFile } = await import("../../components/config/load");
    const raw = readStackFile("Pulumi.example.yaml");
    cluster = new MpiCluster("probe-of-shape", { cluster: loadClusterOrThrow(raw).cluster });
  });

  it("declares one MpiHost component per host, parented to the MpiCluster", async () => {
    const urns = await Promise.all(cluster.hosts.map(urnOf));
    expect(urns.map((u) => u.split("::").pop())).toEqual(["mac1", "mac2", "linux1", "linux2", "linux3"]);
    for (const urn of urns) expect(urn).toContain("::mpi-hosts:index:MpiCluster$mpi-hosts:index:MpiHost::");
  });

  it("gives each host its facets, in apply order, parented to the host", async () => {
    const mac = cluster.hosts[0];
    const urns = await Promise.all(mac.facets.map(urnOf));
    expect(urns.map((u) => u.split("::").pop())).toEqual([
      "mac1-python",
      "mac1-prefixLink",
      "mac1-sshConfig",
      "mac1-clusterTrust",
      "mac1-mcaParams",
      "mac1-firewall",
      "mac1-hostfile",
    ]);
    for (const urn of urns) expect(urn).toContain("::mpi-hosts:index:MpiHost$mpi-hosts:index:Facet::");
  });

  it("registers the facets and the cluster key with no provider code in their inputs (issue 15: nothing for refresh to run)", () => {
    const ours = created.filter((c) => c.type === "mpi-hosts:index:Facet" || c.type === "mpi-hosts:index:ClusterKey");
    expect(ours.length).toBeGreaterThan(1);
    for (const r of ours)
      expect({ name: r.name, inputs: Object.keys(r.inputs) }).not.toEqual({ name: r.name, inputs: expect.arrayContaining(["__provider"]) });
    expect(created.filter((c) => c.type.startsWith("pulumi-nodejs:"))).toEqual([]);
  });

  it("hands each facet its declared inputs and every facet's probe inputs of its host, and no script (issue 15, item 3)", async () => {
    const { facetsOf } = await import("../../components/facets");
    const { probeInputsOf, renderFromInputs, scriptsDigest } = await import("../../components/facets/facet");
    const { loadClusterOrThrow, readStackFile } = await import("../../components/config/load");
    const config = loadClusterOrThrow(readStackFile("Pulumi.example.yaml")).cluster;
    const host = config.hosts[0];
    const key = "ssh-ed25519 AAAAMOCK mpi-hosts cluster";
    const json = (v: unknown) => JSON.parse(JSON.stringify(v));
    const declared = facetsOf(config, host).map((d) => ({ d, inputs: json(d.inputs({ cluster: config, host, clusterPublicKey: key })) }));
    // The program's facets, and the same again from the shape probe above.
    const mac1 = created.filter((c) => c.type === "mpi-hosts:index:Facet" && c.inputs.host === "mac1");
    expect(mac1.map((c) => c.inputs.facet).sort()).toEqual([...declared, ...declared].map((f) => f.d.name).sort());
    for (const facet of mac1) {
      const own = declared.find((f) => f.d.name === facet.inputs.facet)!;
      expect(Object.keys(facet.inputs)).not.toEqual(expect.arrayContaining(["scripts"]));
      for (const gone of ["scripts", "hostProbes", "privileged", "timeoutSeconds"]) expect(facet.inputs).not.toHaveProperty(gone);
      expect(facet.inputs.format).toBe(2);
      expect(facet.inputs.inputs).toEqual(own.inputs);
      expect(facet.inputs.hostFacets).toEqual(Object.fromEntries(declared.map((f) => [f.d.name, json(probeInputsOf(f.d, f.inputs))])));
      const rendered = renderFromInputs(own.d, own.inputs);
      expect(facet.inputs.scriptsDigest).toBe(scriptsDigest(rendered));
      expect(facet.inputs.state).toEqual(rendered.desired);
    }
  });

  it("gives each facet resource the privileges, time limit and secret names its facet definition declares", async () => {
    const { facets } = await import("../../components/facets");
    const { loadClusterOrThrow, readStackFile } = await import("../../components/config/load");
    const config = loadClusterOrThrow(readStackFile("Pulumi.example.yaml")).cluster;
    const { renderHost } = await import("../../components/facets");
    await Promise.all(cluster.hosts.flatMap((h) => h.facets.map(urnOf)));
    const registered = created.filter((c) => c.type === "mpi-hosts:index:Facet");
    // The program's facets, and the same again from the shape probe above.
    expect(registered.length).toBe(2 * config.hosts.reduce((n, h) => n + renderHost(config, h, "k").length, 0));
    for (const r of registered) {
      const definition = facets.find((f) => f.name === r.inputs.facet)!;
      const rendered = renderHost(
        config,
        config.hosts.find((h) => h.name === r.inputs.host)!,
        "k",
      ).find((f) => f.facet === definition.name)!;
      // Privileges and the time limit are no input any more: the plugin takes them from the definition; the digest
      // of the scripts holds them, so a change of either is an update.
      expect({ facet: r.inputs.facet, inputs: r.inputs.inputs.host }).toEqual({ facet: definition.name, inputs: rendered.host });
      expect(Object.keys(secretValue(r.inputs.secretEnv))).toEqual([...definition.secretEnv]);
    }
  });

  it("keeps secrets out of plain inputs: the cluster key reaches hosts only through a secret input, the admin key not at all", async () => {
    const trust = created.find((c) => c.name === "linux1-clusterTrust");
    expect(trust).toBeDefined();
    expect(JSON.stringify(trust!.inputs.inputs)).not.toContain("MOCK PRIVATE KEY");
    expect(JSON.stringify(trust!.inputs.state)).not.toContain("MOCK PRIVATE KEY");
    expect(secretValue(trust!.inputs.secretEnv)).toEqual({ MPI_HOSTS_CLUSTER_KEY: "MOCK PRIVATE KEY" });
    // The facets' connection says how to reach the host and as whom, nothing else (issue 12): the provider logs in.
    expect(Object.keys(trust!.inputs.connection).sort()).not.toContain("privateKey");
    expect(Object.keys(trust!.inputs.connection)).not.toContain("login");
    expect(trust!.inputs.connection).toMatchObject({ name: "linux1", user: "mpi", port: 2400 });
    for (const facet of created.filter((c) => c.type === "mpi-hosts:index:Facet")) {
      expect(JSON.stringify(facet.inputs)).not.toContain("BEGIN OPENSSH PRIVATE KEY");
      expect(JSON.stringify(facet.inputs)).not.toContain(adminKey.split("\n")[1]);
    }
    const mcaParams = created.find((c) => c.name === "linux1-mcaParams")!;
    expect(secretValue(mcaParams.inputs.secretEnv)).toEqual({});
  });

  /** The program's verification job as registered: after every facet, whose stamps its triggers wait for. */
  async function programJob() {
    await valueOf(program.verification!);
    return created.find((c) => c.type === "mpi-hosts:index:VerificationJob" && c.name === "unit-verify");
  }

  it("runs the verification job on verify.from with the pinned host keys, after every host", async () => {
    const job = await programJob();
    expect(job).toBeDefined();
    expect(job!.inputs.connection).toMatchObject({
      name: "linux1",
      address: "128.5.5.21",
      port: 2400,
      user: "mpi",
      hostKeys: [expect.stringMatching(/^ssh-ed25519 /)],
    });
  });

  it("without an ssh-agent, gives the verification job no key, no script and no command: the plugin logs in and renders itself", async () => {
    const job = await programJob();
    const recorded = JSON.stringify(job!.inputs);
    expect(recorded).not.toContain(adminKey.trim().split("\n")[1]);
    expect(recorded).not.toMatch(/PRIVATE KEY|#!\/bin\/sh|mpirun /);
    expect(Object.keys(job!.inputs).sort()).toEqual(["appliedAt", "cluster", "connection", "fingerprint"]);
    expect(Object.keys(job!.inputs.connection).sort()).toEqual([
      "address",
      "connectTimeoutSeconds",
      "hostKeys",
      "hostKeysFrom",
      "name",
      "port",
      "revokedKeys",
      "user",
    ]);
  });

  it("re-runs the verification job when a desired state changes or any facet's apply runs (a drift repair too)", async () => {
    const { facetNames } = await import("../../components/facets");
    const { loadClusterOrThrow, readStackFile } = await import("../../components/config/load");
    const config = loadClusterOrThrow(readStackFile("Pulumi.example.yaml")).cluster;
    const job = (await programJob())!;
    const { fingerprint, appliedAt } = job.inputs;
    expect(fingerprint).toMatch(/^[0-9a-f]{64}$/);
    // One entry per facet of every host, named host/facet: a preview's diff of triggers names the facet that will apply.
    const expected = Object.fromEntries(
      config.hosts.flatMap((h) => facetNames(config, h).map((f) => [`${h.name}/${f}`, appliedAtOf(h.name, f)])),
    );
    expect(Object.keys(expected)).toHaveLength(35);
    expect(appliedAt).toEqual(expected);
  });

  it("exports the verification report as an object (pulumi stack output verification --json)", async () => {
    expect(await valueOf(program.verification!)).toEqual(REPORT);
  });

  it("exports a failed report, not an empty or passing one, when the job's stdout holds no report", async () => {
    const { MpiCluster } = await import("../../components/mpiCluster");
    const { loadClusterOrThrow, readStackFile } = await import("../../components/config/load");
    const garbage = new MpiCluster("garbage", {
      cluster: loadClusterOrThrow(readStackFile("Pulumi.example.yaml")).cluster,
    });
    const report = await valueOf(garbage.verification!);
    expect(report).toMatchObject({ version: 1, ok: false, failedStage: "report", from: "linux1" });
    expect(report.summary).toMatch(
      /^mpi-hosts verify: FAILED from linux1: the verification job printed no report \(its last output: Welcome to linux1!\)$/,
    );
    expect(report.failures).toEqual([expect.objectContaining({ stage: "report", kind: "no-report" })]);
  });

  it("gives the ClusterKey the config's key generation (ssh.clusterKeyRotation) as its rotation: a change replaces it", async () => {
    const { MpiCluster } = await import("../../components/mpiCluster");
    const { loadClusterOrThrow, readStackFile } = await import("../../components/config/load");
    const raw = readStackFile("Pulumi.example.yaml") as Record<string, any>;
    raw.ssh = { ...raw.ssh, clusterKeyRotation: "2026-12-01" };
    const rotated = new MpiCluster("rotated", { cluster: loadClusterOrThrow(raw).cluster });
    await urnOf(rotated.clusterKey);
    const key = created.find((c) => c.name === "rotated-cluster-key");
    expect(key?.inputs.rotation).toBe("2026-12-01");
    expect(created.find((c) => c.name === "probe-of-shape-cluster-key")?.inputs.rotation).toBe("1");
  });

  it("exports a per-host summary", async () => {
    const hosts = (await valueOf(program.hosts)) as Record<string, any>;
    expect(Object.keys(hosts)).toEqual(["mac1", "mac2", "linux1", "linux2", "linux3"]);
    expect(hosts.linux3).toMatchObject({
      address: "128.5.5.23",
      slots: 16,
      facets: { python: "mocked: no change", hostfile: "mocked: no change" },
    });
  });
});
