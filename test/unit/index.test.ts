/**
 * The Pulumi wiring of index.ts under mocks: which resources exist, their types, names and parents,
 * and what the verification job's trigger follows. Real hosts are exercised by the lab tests.
 */
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import YAML from "yaml";
import { unpackHostProbes, unpackScripts } from "../../components/provider/scriptPack";

const created: Array<{ type: string; name: string; inputs: any }> = [];

pulumi.runtime.setMocks(
  {
    newResource(args) {
      created.push({ type: args.type, name: args.name, inputs: args.inputs });
      if (args.type === "pulumi-nodejs:dynamic/mpi-hosts:ClusterKey") {
        return {
          id: "cluster-key-1",
          state: { ...args.inputs, publicKey: "ssh-ed25519 AAAAMOCK mpi-hosts cluster", privateKey: "MOCK PRIVATE KEY" },
        };
      }
      if (args.type === "pulumi-nodejs:dynamic/mpi-hosts:Facet") {
        return { id: `${args.inputs.host}/${args.inputs.facet}`, state: { ...args.inputs, lastApply: "mocked: no change" } };
      }
      if (args.type === "command:remote:Command") {
        return { id: args.name, state: { ...args.inputs, stdout: "helloworld: ok" } };
      }
      return { id: `${args.name}-id`, state: args.inputs };
    },
    call: (args) => args.inputs,
  },
  "mpi-hosts",
  "unit",
  false,
);

function useStackFile(file: string) {
  const doc = YAML.parse(fs.readFileSync(file, "utf8"));
  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries(doc.config)) config[key] = typeof value === "string" ? value : JSON.stringify(value);
  const keyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "key-")), "id");
  fs.writeFileSync(keyFile, "ADMIN KEY");
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
    cluster = new MpiCluster("probe-of-shape", { cluster: loadClusterOrThrow(raw).cluster, adminPrivateKey: "k" });
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
    for (const urn of urns) expect(urn).toContain("::mpi-hosts:index:MpiHost$pulumi-nodejs:dynamic/mpi-hosts:Facet::");
  });

  it("hands each facet its scripts packed (small state) and every probe of its host (one probe round trip per host)", async () => {
    const { renderHost } = await import("../../components/facets");
    const { loadClusterOrThrow, readStackFile } = await import("../../components/config/load");
    const config = loadClusterOrThrow(readStackFile("Pulumi.example.yaml")).cluster;
    const rendered = renderHost(config, config.hosts[0], "ssh-ed25519 AAAAMOCK mpi-hosts cluster");
    // The program's facets, and the same again from the shape probe above.
    const mac1 = created.filter((c) => c.type === "pulumi-nodejs:dynamic/mpi-hosts:Facet" && c.inputs.host === "mac1");
    expect(mac1.map((c) => c.inputs.facet).sort()).toEqual([...rendered, ...rendered].map((f) => f.facet).sort());
    for (const facet of mac1) {
      expect(unpackHostProbes(facet.inputs.hostProbes)).toEqual(
        Object.fromEntries(rendered.map((f) => [f.facet, { script: f.scripts.probe, privileged: f.probePrivileged }])),
      );
      expect(facet.inputs.scripts).toMatch(/^brotli\+base64:/);
      expect(unpackScripts(facet.inputs.scripts)).toEqual(rendered.find((f) => f.facet === facet.inputs.facet)!.scripts);
    }
  });

  it("keeps secrets out of plain inputs: the cluster key and admin key reach hosts only through secret inputs", async () => {
    const trust = created.find((c) => c.name === "linux1-clusterTrust");
    expect(trust).toBeDefined();
    expect(JSON.stringify(unpackScripts(trust!.inputs.scripts))).not.toContain("MOCK PRIVATE KEY");
    expect(JSON.stringify(trust!.inputs.state)).not.toContain("MOCK PRIVATE KEY");
    expect(secretValue(trust!.inputs.secretEnv)).toEqual({ MPI_HOSTS_CLUSTER_KEY: "MOCK PRIVATE KEY" });
    expect(secretValue(trust!.inputs.connection).privateKey).toBe("ADMIN KEY");
    const mcaParams = created.find((c) => c.name === "linux1-mcaParams")!;
    expect(secretValue(mcaParams.inputs.secretEnv)).toEqual({});
  });

  it("runs the verification job on verify.from with the pinned host key, after every host", async () => {
    const job = created.find((c) => c.type === "command:remote:Command" && c.name === "unit-verify");
    expect(job).toBeDefined();
    expect(secretValue(job!.inputs.connection)).toMatchObject({
      host: "128.5.5.21",
      port: 2400,
      user: "mpi",
      hostKey: expect.stringMatching(/^ssh-ed25519 /),
    });
    expect(job!.inputs.triggers).toHaveLength(1);
    expect(await valueOf(program.verification!)).toBe("helloworld: ok");
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
