/**
 * A program's config whose host values are pulumi.Inputs: the rules run on what is known at construction and on the
 * rest at apply, with the same messages; what depends on a deferred value comes from the checked Output; MpiCluster
 * declares the same facets either way. Under Pulumi's mocks (no engine): the lab and e2e tests drive real hosts.
 */
import { spawnSync } from "child_process";
import * as pulumi from "@pulumi/pulumi";
import { ClusterConfig, clusterValueOf, deferredValues, loadWithValues, planCluster } from "./clusterInputs";
import { ConfigError, loadCluster } from "./config/load";
import { Cluster } from "./config/types";
import { MpiCluster } from "./mpiCluster";

// jest runs a test file in a vm context, where the global structuredClone (the loader's) makes arrays of the outer
// realm, which fail `instanceof Array` here: Pulumi's Output then unwraps the cluster's arrays into objects. A program
// runs in one realm, where this cannot happen; the test clones in its own realm.
globalThis.structuredClone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

const created: Array<{ type: string; name: string; inputs: any }> = [];

pulumi.runtime.setMocks(
  {
    newResource(args) {
      created.push({ type: args.type, name: args.name, inputs: args.inputs });
      if (args.type === "mpi-hosts:index:ClusterKey") {
        return { id: "key", state: { ...args.inputs, publicKey: "ssh-ed25519 AAAAMOCK cluster", privateKey: "MOCK" } };
      }
      return { id: `${args.name}-id`, state: { ...args.inputs, lastApply: "mocked", appliedAt: "2026-12-02T00:00:00Z", stdout: "" } };
    },
    call: (args) => args.inputs,
  },
  "mpi-hosts",
  "unit",
  false,
);

const KEY = (n: number) => `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${"ABCDEFGH"[n]}mock${n}`;

/** Three Linux hosts, plain config, each key pinned (known_hosts is not read). */
function plainConfig(): ClusterConfig {
  return {
    ssh: { user: "mpi", port: 2222 },
    hosts: [0, 1, 2].map((i) => ({ name: `node${i + 1}`, address: `10.9.0.${i + 2}`, os: "linux" as const, slots: 2, hostKey: KEY(i) })),
    mpi: { network: "10.9.0.0/24" },
  };
}

const noKnownHosts = { readKnownHosts: () => "" };

/** The value an Output resolves to (mocks: not a preview, so known). */
const valueOf = <T>(o: pulumi.Input<T>): Promise<T> => new Promise((resolve) => pulumi.output(o).apply((v) => resolve(v as T)));

/**
 * The error the apply-time load of `config` throws, which fails planCluster's Output (test/e2e/inputHosts.test.ts shows
 * it under the engine; here, an Output failing outside the engine's runtime would end the test process).
 */
async function applyError(config: ClusterConfig, options = noKnownHosts): Promise<Error> {
  const deferred = deferredValues(config);
  const values = await Promise.all(deferred.map((d) => valueOf<unknown>(d.value)));
  try {
    loadWithValues(config, deferred, values, options);
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected the apply-time load to fail");
}

describe("deferredValues", () => {
  it("finds the host values that are Outputs or Promises, and only those", () => {
    const config = plainConfig();
    config.hosts[1].address = pulumi.output("10.9.0.3");
    config.hosts[2].port = Promise.resolve(2222);
    config.hosts[2].hostKey = [KEY(2), pulumi.output(KEY(3))] as pulumi.Input<string[]>;
    expect(deferredValues(config).map((d) => d.name)).toEqual(["hosts[1].address", "hosts[2].port", "hosts[2].hostKey"]);
    expect(deferredValues(plainConfig())).toEqual([]);
  });
});

describe("planCluster", () => {
  it("gives plain config the cluster loadCluster gives, with nothing deferred", () => {
    const plan = planCluster(plainConfig(), noKnownHosts);
    expect(plan.atApply).toBeUndefined();
    expect(plan.cluster).toEqual(loadCluster(plainConfig(), noKnownHosts).cluster);
  });

  it("resolves the Output values at apply into the cluster the loader gives for the same plain values", async () => {
    const config = plainConfig();
    config.hosts[1].address = pulumi.output("10.9.0.3");
    config.hosts[1].port = pulumi.output(2400);
    config.hosts[1].user = pulumi.output("vmuser");
    config.hosts[1].hostKey = pulumi.output(KEY(1));
    const plan = planCluster(config, noKnownHosts);
    const plain = plainConfig();
    Object.assign(plain.hosts[1], { port: 2400, user: "vmuser" });
    expect(await valueOf(plan.atApply!)).toEqual(loadCluster(plain, noKnownHosts).cluster);
    // Placeholders stand in meanwhile, different in the two variants.
    expect(plan.cluster.hosts[1].address).not.toBe(plan.other.hosts[1].address);
    expect(plan.cluster.hosts[0]).toEqual(plan.other.hosts[0]);
  });

  it("still refuses at construction what the known values break (a rule that can run at preview does)", () => {
    const config = plainConfig();
    config.hosts[1].address = pulumi.output("10.9.0.3");
    config.hosts[2].name = "node1";
    expect(() => planCluster(config, noKnownHosts)).toThrow(/mpi-hosts:hosts\[2\]\.name: "node1" is also the name of hosts\[0\]/);
  });

  it.each([
    ["a malformed host key", "hostKey", pulumi.output("ssh-ed25519 not-base64!"), /^mpi-hosts:hosts\[1\]\.hostKey: /],
    [
      "another host's address",
      "address",
      pulumi.output("10.9.0.2"),
      /^mpi-hosts:hosts\[1\]\.address: "10\.9\.0\.2" is also the address of hosts\[0\]/,
    ],
    [
      "a port inside the MPI range",
      "port",
      pulumi.output(50010),
      /^mpi-hosts:mpi\.btlPorts: 50000-50099 contains the SSH port 50010 of node2/,
    ],
    ["a user name ssh would refuse", "user", pulumi.output("Not A User"), /^mpi-hosts:hosts\[1\]\.user: /],
  ] as const)("fails at apply on %s, with the loader's message naming the field", async (_, field, value, message) => {
    const config = plainConfig();
    (config.hosts[1] as Record<string, unknown>)[field] = value;
    const err = await applyError(config);
    // A pulumi.RunError, which the SDK shows by its message, with no stack frame: the SDK formats the error that ends a
    // program with util.inspect, which did not return for a minute on this error's frames (ConfigErrorAtApply).
    expect(pulumi.RunError.isInstance(err)).toBe(true);
    expect(err.stack).not.toContain("\n");
    expect(err).toMatchObject({ name: "ConfigError", problems: [expect.objectContaining({ severity: "error" })] });
    expect((err as Error).message).toMatch(message);
    // The same text as a stack file with that value gets from the loader.
    const plain = plainConfig();
    (plain.hosts[1] as Record<string, unknown>)[field] = await valueOf<unknown>(value);
    expect((err as Error).message).toBe(new ConfigError(loadCluster(plain, noKnownHosts).problems).message);
  });

  it("looks a host up in known_hosts at apply when its address is an Output and its key is not pinned", async () => {
    const config = plainConfig();
    delete config.hosts[1].hostKey;
    config.hosts[1].address = pulumi.output("10.9.0.3");
    const knownHosts = `[10.9.0.3]:2222 ${KEY(5)}\n`;
    const plan = planCluster(config, { readKnownHosts: () => knownHosts });
    expect((await valueOf(plan.atApply!)).hosts[1].hostKeys).toEqual([KEY(5)]);
    expect((await applyError(config)).message).toMatch(/^mpi-hosts:hosts\[1\]\.hostKey: not set, and \[10\.9\.0\.3\]:2222 is not in/);
  });

  it("loads at construction a host whose address is deferred, key unpinned, and port from the user's ssh config", () => {
    const config = plainConfig();
    Object.assign(config, { ssh: { user: "mpi", useSshConfig: true } });
    delete config.hosts[1].hostKey;
    config.hosts[1].address = pulumi.output("10.9.0.3");
    const options = {
      readKnownHosts: () => `[10.9.0.3]:2200 ${KEY(5)}\n`,
      // ssh -G for the alias, and without a config file (ssh's defaults, which the loader compares with).
      readSshConfig: (alias: string, withoutConfig?: boolean) => `port ${withoutConfig ? 22 : 2200}\nuser me\nhostname ${alias}\n`,
    };
    expect(() => planCluster(config, options)).not.toThrow();
    const atApply = loadWithValues(config, deferredValues(config), ["10.9.0.3"], options).cluster;
    expect(atApply.hosts[1].port).toBe(2200);
    expect(atApply.hosts[1].hostKeys).toEqual([KEY(5)]);
  });

  it.each([
    ["an address outside mpi.network (a warning)", "address", "192.168.77.5"],
    ["a malformed host key (an error)", "hostKey", "ssh-ed25519 not-base64!"],
    ["a user name ssh would refuse (an error)", "user", "Not A User"],
  ] as const)("names no secret value in its messages at apply: %s", (_, field, value) => {
    const config = plainConfig();
    (config.hosts[1] as Record<string, unknown>)[field] = pulumi.secret(value);
    const deferred = deferredValues(config);
    const problemsText = (secret: boolean) => {
      try {
        return loadWithValues(config, deferred, [value], noKnownHosts, [secret])
          .problems.map((p) => `${p.path}: ${p.message}`)
          .join("\n");
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(problemsText(true)).toContain(`<secret: hosts[1].${field}>`);
    expect(problemsText(true)).not.toContain(value);
    // Not secret: the same message shows the value.
    expect(problemsText(false)).toContain(value);
  });

  it("keeps a secret address secret", async () => {
    const config = plainConfig();
    config.hosts[1].address = pulumi.secret("10.9.0.3");
    const plan = planCluster(config, noKnownHosts);
    expect(await pulumi.isSecret(plan.atApply!)).toBe(true);
  });
});

describe("clusterValueOf", () => {
  it("gives plain data for what no deferred value changes, and the Output of the real cluster for the rest", async () => {
    const config = plainConfig();
    config.hosts[1].address = pulumi.output("10.9.0.3");
    const of = clusterValueOf(planCluster(config, noKnownHosts));
    expect(of((c: Cluster) => c.hosts[0].address)).toBe("10.9.0.2");
    const second = of((c: Cluster) => c.hosts[1].address);
    expect(pulumi.Output.isInstance(second)).toBe(true);
    expect(await valueOf(second)).toBe("10.9.0.3");
  });
});

describe("MpiCluster from a config with Outputs", () => {
  /** Every resource's inputs, resolved (the mocks' record), by name, once the program has declared them all. */
  async function declared(name: string, config: ClusterConfig): Promise<Map<string, any>> {
    created.splice(0);
    const cluster = new MpiCluster(name, { config, loadOptions: noKnownHosts });
    await valueOf(cluster.summary);
    if (cluster.verification) await valueOf(cluster.verification);
    await new Promise((resolve) => setTimeout(resolve, 100));
    return new Map(created.map((r) => [r.name.replace(new RegExp(`^${name}`), "CLUSTER"), r.inputs]));
  }

  it("declares the same resources with the same inputs as the plain config with those values", async () => {
    const plain = await declared("plain", plainConfig());
    const config = plainConfig();
    config.hosts[1].address = pulumi.output("10.9.0.3");
    config.hosts[2].port = pulumi.output(2222);
    config.hosts[2].hostKey = pulumi.output(KEY(2));
    const fed = await declared("fed", config);
    expect([...fed.keys()].sort()).toEqual([...plain.keys()].sort());
    for (const [name, inputs] of plain) {
      const other = JSON.parse(JSON.stringify(fed.get(name)).replace(/mpi-hosts cluster fed/g, "mpi-hosts cluster plain"));
      expect({ name, inputs: other }).toEqual({ name, inputs });
    }
  });

  it("throws at construction, declaring nothing, on an error in the known values", () => {
    const config = plainConfig();
    config.hosts[1].address = pulumi.output("10.9.0.3");
    config.mpi = { network: "10.9.0.0/33" };
    expect(() => new MpiCluster("bad", { config, loadOptions: noKnownHosts })).toThrow(/mpi-hosts:mpi\.network/);
  });
});

describe("MpiCluster when the apply-time check fails (its own process: the failing Output ends it)", () => {
  const run = (hostKey: "bad" | "good") => {
    const out = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "test/fixtures/applyTimeGate.ts", hostKey], {
      encoding: "utf8",
      timeout: 120_000,
    });
    return JSON.parse(out.stdout.slice(out.stdout.indexOf("{"))) as { registered: string[]; errors: string[] };
  };
  const facets = (registered: string[]) => registered.filter((r) => r.startsWith("mpi-hosts:index:Facet "));

  it("registers no facet on any host, and the error names the field but not the secret value", () => {
    const bad = run("bad");
    expect(facets(bad.registered)).toEqual([]);
    expect(bad.registered).toContain("mpi-hosts:index:ClusterKey c-cluster-key");
    expect(bad.errors.join("\n")).toContain('mpi-hosts:hosts[1].hostKey: "<secret: hosts[1].hostKey>" is not an SSH public key');
    expect(bad.errors.join("\n")).not.toContain("not-base64!");
    // The control: the same program with a good key registers every host's facets.
    expect(facets(run("good").registered)).toEqual(expect.arrayContaining(["mpi-hosts:index:Facet node1-python"]));
  });
});
