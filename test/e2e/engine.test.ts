/**
 * The real Pulumi engine on a 5-host trixie lab, in the order a user meets it: up from nothing,
 * idempotence, drift by hand and its repair, a config change in review and in effect, destroy back to
 * the original bytes, a host that is down during up, and drift with a host down. Hosts are checked with plain tools as root
 * (rootExec), not only through our own probes. Never skipped: without root or the engine it fails.
 */
import * as fs from "fs";
import { shellQuote } from "../../components/templates/shellQuote";
import { startHost, stopHost } from "../../lab/lab";
import {
  drift,
  EngineLab,
  expectExit,
  hostBaseline,
  pulumi,
  resourceIds,
  root,
  startEngineLab,
  stateFileText,
  stopEngineLab,
  Timings,
} from "./support";

const NAME = `lab-e2e-${process.pid}`;
const HOSTS = ["host1", "host2", "host3", "host4", "host5"];
const timings = new Timings(`engine.test.ts (5 trixie hosts) wall times`);

let e: EngineLab;
const original: Record<string, string> = {};

beforeAll(async () => {
  e = await timings.time("lab up + stack init", () => startEngineLab(NAME, HOSTS.length, "trixie"));
  for (const h of HOSTS) original[h] = await hostBaseline(e.lab, h);
});

afterAll(async () => {
  process.stdout.write(timings.report());
  await stopEngineLab(e, NAME);
});

/** The section of `pulumi preview --diff` output about one resource (from its [id=...] line to the next). */
function diffSection(output: string, id: string): string {
  const start = output.indexOf(`[id=${id}]`);
  if (start < 0) return "";
  const next = output.indexOf("[id=", start + 1);
  return output.slice(start, next < 0 ? undefined : next);
}

async function verificationOutput(): Promise<string> {
  const out = await pulumi(e, ["stack", "output", "verification"]);
  expect(out.code).toBe(0);
  return out.stdout;
}

interface StateResource {
  urn: string;
  type: string;
  inputs: Record<string, any>;
  outputs: Record<string, any>;
}

/** Every string in a JSON value, keys included. */
function stringsIn(v: unknown): string[] {
  if (typeof v === "string") return [v];
  if (Array.isArray(v)) return v.flatMap(stringsIn);
  if (v !== null && typeof v === "object") return Object.entries(v).flatMap(([k, x]) => [k, ...stringsIn(x)]);
  return [];
}

/** A secret as `pulumi stack export` writes it: the secret signature and a ciphertext, no plaintext. */
function isCiphertext(v: unknown): boolean {
  const o = v as Record<string, unknown> | undefined;
  return (
    o?.["4dabf18193072939515e22adb298388d"] === "1b47061264138c4ac30d75fd1eb44270" &&
    typeof o.ciphertext === "string" &&
    !("plaintext" in o)
  );
}

describe("the real engine on 5 trixie lab hosts", () => {
  it("1. pulumi up from nothing converges every host and the verification job passes on all of them", async () => {
    const up = await timings.time("step 1: pulumi up from nothing", () => pulumi(e, ["up", "--yes", "--skip-preview"]));
    expectExit(up, 0);
    const report = await verificationOutput();
    for (const h of HOSTS) expect(report).toContain(h);
    // Independent of our probes: the files and the firewall chain are there, as plain tools see them.
    for (const h of HOSTS) {
      expect(await root(e.lab, h, "cat /home/mpi/.openmpi/mca-params.conf")).toContain("btl_tcp_port_min_v4 = 50000");
      expect(await root(e.lab, h, "iptables -S MPI-HOSTS")).toContain("--dport 50000:50099");
    }
    // Secrets: neither the lab's SSH key nor the cluster key shows in the output or sits unencrypted in the state.
    const keyLine = fs.readFileSync(e.lab.privateKeyPath, "utf8").split("\n")[1];
    const outputs = await pulumi(e, ["stack", "output", "--json"]);
    for (const text of [up.stdout, up.stderr, outputs.stdout, stateFileText(e)]) {
      expect(text).not.toContain(keyLine);
      expect(text).not.toContain("PRIVATE KEY");
    }
  });

  it("1b. the state holds no code (issue 15): no __provider, no JavaScript, and the secrets are ciphertext", async () => {
    const exported = await pulumi(e, ["stack", "export"]);
    expectExit(exported, 0);
    process.stdout.write(`stack export after up on ${HOSTS.length} hosts: ${exported.stdout.length} bytes\n`);
    const deployment = JSON.parse(exported.stdout) as { deployment: { resources: StateResource[] } };
    const resources = deployment.deployment.resources;
    // A dynamic resource recorded its provider's serialized code (`exports.handler = __f0; ... function __f0(...)`).
    const code = /\bexports\.\w+\s*=|\brequire\(|\bfunction\s+__f\d|__provider/;
    expect(stringsIn(deployment).filter((s) => code.test(s))).toEqual([]);
    expect(exported.stdout).not.toContain("__provider");
    expect(resources.filter((r) => r.type.startsWith("pulumi-nodejs"))).toEqual([]);
    const facets = resources.filter((r) => r.type === "mpi-hosts:index:Facet");
    expect([...new Set(facets.map((f) => f.outputs.host))].sort()).toEqual(HOSTS);
    const clusterKey = resources.filter((r) => r.type === "mpi-hosts:index:ClusterKey");
    expect(clusterKey).toHaveLength(1);
    expect(isCiphertext(clusterKey[0].outputs.privateKey)).toBe(true);
    for (const f of facets) {
      expect({ facet: f.urn, inputs: isCiphertext(f.inputs.secretEnv), outputs: isCiphertext(f.outputs.secretEnv) }).toEqual({
        facet: f.urn,
        inputs: true,
        outputs: true,
      });
    }
    const provider = resources.find((r) => r.type === "pulumi:providers:mpi-hosts");
    expect(provider?.inputs.version).toBe("0.1.0");
  });

  it("2. a second preview has nothing to do, with or without a refresh of every host", async () => {
    const plain = await timings.time("step 2a: pulumi preview --expect-no-changes", () => pulumi(e, ["preview", "--expect-no-changes"]));
    expectExit(plain, 0);
    const refreshed = await timings.time("step 2b: pulumi preview --refresh --expect-no-changes", () =>
      pulumi(e, ["preview", "--refresh", "--expect-no-changes"]),
    );
    expectExit(refreshed, 0);
  });

  it("3. drift by hand on two hosts is named by npm run drift, fails --expect-no-changes, and pulumi up --refresh repairs it", async () => {
    const started = Date.now();
    // host2: delete our rule that opens the runtime's (ephemeral) ports to the cluster network.
    const rules = await root(e.lab, "host2", "iptables -S MPI-HOSTS");
    const rule = rules
      .split("\n")
      .find((l) => l.includes(`-s ${e.lab.network}`) && l.includes("--dport 32768:65535") && l.includes("-j ACCEPT"));
    expect(rule).toBeDefined();
    const args = rule!.split(" ").slice(2).map(shellQuote).join(" ");
    await root(e.lab, "host2", `iptables -D MPI-HOSTS ${args}`);
    // host4: an edit of one line of the Open MPI parameter file.
    await root(e.lab, "host4", "sed -i 's/^btl_tcp_port_range_v4 = 100$/btl_tcp_port_range_v4 = 64/' /home/mpi/.openmpi/mca-params.conf");

    const found = await timings.time("step 3a: npm run drift (drift found)", () => drift(e));
    expectExit(found, 2);
    expect(found.stdout).toContain("host2:\n  firewall: changed on the host since the last `pulumi up`");
    expect(found.stdout).toContain(`+ allow tcp 32768-65535 from ${e.lab.network}`);
    expect(found.stdout).toContain("host4:\n  mcaParams: changed on the host since the last `pulumi up`");
    expect(found.stdout).toContain("- btl_tcp_port_range_v4 = 64");
    expect(found.stdout).toContain("+ btl_tcp_port_range_v4 = 100");
    for (const h of ["host1", "host3", "host5"]) expect(found.stdout).not.toContain(`\n${h}:\n`);
    // The same findings as Markdown, for an issue or a pull request.
    const markdown = await timings.time("step 3a': npm run drift -- --format markdown", () => drift(e, ["--format", "markdown"]));
    expectExit(markdown, 2);
    expect(markdown.stdout).toContain("| host2 | firewall | changed on the host since the last `pulumi up` |\n");
    expect(markdown.stdout).toContain("**host4** `mcaParams` (- on the host, + declared)\n\n```diff\n");
    expect(markdown.stdout).toContain("- btl_tcp_port_range_v4 = 64\n+ btl_tcp_port_range_v4 = 100\n");

    const strict = await timings.time("step 3b: pulumi preview --refresh --expect-no-changes (fails)", () =>
      pulumi(e, ["preview", "--refresh", "--expect-no-changes"]),
    );
    expectExit(strict, "non-zero");

    const repair = await timings.time("step 3c: pulumi up --refresh --yes (repair)", () =>
      pulumi(e, ["up", "--refresh", "--yes", "--skip-preview"]),
    );
    expectExit(repair, 0);
    expect(await root(e.lab, "host2", "iptables -S MPI-HOSTS")).toContain(rule!);
    expect(await root(e.lab, "host4", "cat /home/mpi/.openmpi/mca-params.conf")).toContain("btl_tcp_port_range_v4 = 100\n");

    const clean = await timings.time("step 3d: npm run drift (in sync)", () => drift(e));
    expectExit(clean, 0);
    expect(clean.stdout).toBe(`${NAME}: every host is as declared (no drift)\n`);
    timings.record("step 3: total (edits, drift, strict preview, repair, drift)", Date.now() - started);
  });

  it("4. a new BTL port range shows as the changed lines of the MCA file on each host, re-runs the verification job, and converges", async () => {
    const set = await pulumi(e, ["config", "set", "--path", "mpi-hosts:mpi.btlPorts", "50200-50299"]);
    expectExit(set, 0);
    const before = await resourceIds(e);

    const preview = await timings.time("step 4a: pulumi preview --diff", () => pulumi(e, ["preview", "--diff"]));
    expectExit(preview, 0);
    for (const h of HOSTS) {
      const section = diffSection(preview.stdout, `${h}/mcaParams`);
      expect(section).toMatch(/- btl_tcp_port_min_v4 = 50000\n/);
      expect(section).toMatch(/\+ btl_tcp_port_min_v4 = 50200\n/);
    }
    expect(preview.stdout).toMatch(/\+-mpi-hosts:index:VerificationJob: \(replace\)/);
    expect(preview.stdout).not.toContain("PRIVATE KEY");

    const up = await timings.time("step 4b: pulumi up (config change)", () => pulumi(e, ["up", "--yes", "--skip-preview"]));
    expectExit(up, 0);
    const after = await resourceIds(e);
    const verify = `${NAME}-verify`;
    expect(after[verify]).toBeDefined();
    expect(after[verify]).not.toBe(before[verify]); // replaced: the job ran again
    const report = await verificationOutput();
    for (const h of HOSTS) {
      expect(report).toContain(h);
      expect(await root(e.lab, h, "cat /home/mpi/.openmpi/mca-params.conf")).toContain("btl_tcp_port_min_v4 = 50200\n");
      expect(await root(e.lab, h, "iptables -S MPI-HOSTS")).toContain("--dport 50200:50299");
    }
    const again = await pulumi(e, ["preview", "--expect-no-changes"]);
    expectExit(again, 0);
  });

  it("5. pulumi destroy returns every host's files and firewall to their original bytes", async () => {
    const destroy = await timings.time("step 5: pulumi destroy", () => pulumi(e, ["destroy", "--yes", "--skip-preview"]));
    expectExit(destroy, 0);
    for (const h of HOSTS) expect({ host: h, baseline: await hostBaseline(e.lab, h) }).toEqual({ host: h, baseline: original[h] });
  });

  it("6. a host that is down during pulumi up fails with a message naming it, the others converge, and the next up converges it", async () => {
    await stopHost(e.lab, "host3");
    const partial = await timings.time("step 6a: pulumi up --continue-on-error, host3 down", () =>
      pulumi(e, ["up", "--yes", "--skip-preview", "--continue-on-error"]),
    );
    expectExit(partial, "non-zero");
    expect(`${partial.stdout}\n${partial.stderr}`).toMatch(/host3 \(mpi@[0-9.]+:2400\): (no SSH answer|cannot connect)/);
    const ids = await resourceIds(e);
    for (const h of ["host1", "host2", "host4", "host5"]) {
      expect(ids[`${h}-hostfile`]).toBe(`${h}/hostfile`);
      expect(await root(e.lab, h, "cat /home/mpi/.mpi-hosts/hostfile")).toContain("host3 slots=2");
    }
    expect(ids["host3-python"]).toBeUndefined();
    expect(ids[`${NAME}-verify`]).toBeUndefined(); // it depends on every host

    await startHost(e.lab, "host3");
    const rest = await timings.time("step 6b: pulumi up after host3 is back", () => pulumi(e, ["up", "--yes", "--skip-preview"]));
    expectExit(rest, 0);
    const report = await verificationOutput();
    for (const h of HOSTS) expect(report).toContain(h);
    const clean = await drift(e);
    expectExit(clean, 0);
  });

  it("7. npm run drift with a host down exits 1 naming it, and reports no drift", async () => {
    await stopHost(e.lab, "host5");
    const down = await timings.time("step 7: npm run drift, host5 down", () => drift(e));
    expectExit(down, 1);
    expect(down.stderr).toMatch(/could not check host5; no drift report/);
    expect(down.stderr).toMatch(/host5: host5 \(mpi@[0-9.]+:2400\): (no SSH answer|cannot connect)/);
    expect(down.stdout).toBe("");
  });
});
