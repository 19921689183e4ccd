/**
 * Hosts reached through another resource's outputs, under the real engine on 3 trixie lab hosts: the program
 * (fixtures/inputHosts/index.ts, copied over the project snapshot's index.ts) feeds the address, port, login user and
 * host key of host2 and host3 into MpiCluster from a stand-in for a cloud VM, a real `pulumi.dynamic.Resource` the
 * engine creates, whose outputs are known only after its create; host1 stays plain config. The VM is the only
 * stand-in: the hosts, sshd, firewalls and Open MPI are the lab's real ones. Never skipped: without root or the
 * engine it fails.
 */
import * as fs from "fs";
import * as path from "path";
import type { VerifyReport } from "../../components/verify/report";
import { EngineLab, expectExit, hostBaseline, pulumi, root, startEngineLab, stopEngineLab, Timings } from "./support";

const NAME = "xiinp";
const HOSTS = ["host1", "host2", "host3"];
const timings = new Timings("inputHosts.test.ts (3 trixie hosts, host2 and host3 from a resource's outputs) wall times");

let e: EngineLab;
const original: Record<string, string> = {};

beforeAll(async () => {
  e = await timings.time("lab up + stack init", () => startEngineLab(NAME, HOSTS.length, "trixie"));
  // The fixture imports the library from the checkout (so tsc checks it); in the snapshot, index.ts sits at the root.
  const program = fs.readFileSync(path.join(__dirname, "fixtures", "inputHosts", "index.ts"), "utf8");
  fs.writeFileSync(
    path.join(e.project, "index.ts"),
    program.replace(/"\.\.\/\.\.\/\.\.\/\.\.\/components\/index"/g, '"./components/index"'),
  );
  for (const h of HOSTS) original[h] = await hostBaseline(e.lab, h);
});

afterAll(async () => {
  process.stdout.write(timings.report());
  await stopEngineLab(e, NAME);
});

const addressOf = (name: string) => e.lab.hosts.find((h) => h.name === name)!.address;
const FACETS = ["python", "sshConfig", "clusterTrust", "mcaParams", "firewall", "hostfile"];

/** The lines of a preview --diff that show the facet resource `name` (from its step line to the next resource's). */
function facetBlock(out: string, name: string): string {
  const lines = out.split("\n");
  const urn = lines.findIndex((l) => l.includes(`mpi-hosts:index:Facet::${name}]`));
  if (urn < 0) throw new Error(`no facet ${name} in the preview:\n${out}`);
  const end = lines.findIndex((l, i) => i > urn && /^\s*[-+~]+ \S+: \(/.test(l));
  return lines.slice(urn - 1, end < 0 ? undefined : end).join("\n");
}

describe("hosts whose address, port, user and host key come from another resource's outputs", () => {
  it("1. a preview of the fresh stack succeeds: what depends on a value known only at apply shows as [unknown], the rest as planned", async () => {
    const preview = await timings.time("step 1: pulumi preview --diff (fresh stack)", () => pulumi(e, ["preview", "--diff"]));
    expectExit(preview, 0);
    // Every facet of every host is declared, also of the hosts whose address is unknown.
    for (const h of HOSTS) for (const facet of FACETS) expect(facetBlock(preview.stdout, `${h}-${facet}`)).toContain("(create)");
    // host2's connection is its VM's outputs: unknown; its python facet's own inputs do not depend on them: shown.
    expect(facetBlock(preview.stdout, "host2-python")).toMatch(/connection\s+: \[unknown\]/);
    expect(facetBlock(preview.stdout, "host2-python")).toMatch(/inputs\s+: \{\s+host: "host2"\s+kind: "system"/);
    // host1's ssh config lists host2 and host3, so it is unknown; host1's own connection, plain config, is shown.
    expect(facetBlock(preview.stdout, "host1-sshConfig")).toMatch(/inputs\s+: \[unknown\]/);
    expect(facetBlock(preview.stdout, "host1-python")).toContain(`address              : "${addressOf("host1")}"`);
    // host2's address appears only as its VM's input, in no facet.
    for (const h of HOSTS)
      for (const facet of FACETS) expect(facetBlock(preview.stdout, `${h}-${facet}`)).not.toContain(addressOf("host2"));
    // Nothing ran on any host.
    for (const h of HOSTS) expect({ host: h, baseline: await hostBaseline(e.lab, h) }).toEqual({ host: h, baseline: original[h] });
  });

  it("2. pulumi up configures every host, host2 and host3 at the addresses their VM reported; the verification job passes", async () => {
    const up = await timings.time("step 2: pulumi up", () => pulumi(e, ["up", "--yes", "--skip-preview"]));
    expectExit(up, 0);
    const report = JSON.parse((await pulumi(e, ["stack", "output", "verification", "--json"])).stdout) as VerifyReport;
    expect(report).toMatchObject({ version: 1, ok: true, from: "host1" });
    expect(report.hosts.map((h) => h.name)).toEqual(HOSTS);
    // Plain tools on the hosts: host1's ssh resolves host3 to the address its VM output, on the lab's port.
    const resolved = await root(e.lab, "host1", "su - mpi -c 'ssh -G host3' | grep -E '^(hostname|port|user) '");
    expect(resolved).toContain(`hostname ${addressOf("host3")}`);
    expect(resolved).toContain(`port ${e.lab.hosts[2].port}`);
    expect(await root(e.lab, "host2", "su - mpi -c 'ssh -o BatchMode=yes host3 hostname'")).toBe("host3\n");
    const hosts = JSON.parse((await pulumi(e, ["stack", "output", "hosts", "--json"])).stdout) as Record<string, { address: string }>;
    expect(hosts.host2.address).toBe(addressOf("host2"));
  });

  /** How long the no-change `up` of step 3 took: step 4's failing `up` runs the same program, registering less. */
  let noChangeUpMs = 0;

  it("3. a second pulumi up changes nothing", async () => {
    const started = Date.now();
    const again = await timings.time("step 3: pulumi up --expect-no-changes", () =>
      pulumi(e, ["up", "--yes", "--skip-preview", "--expect-no-changes"]),
    );
    noChangeUpMs = Date.now() - started;
    expectExit(again, 0);
  });

  it("4. a malformed host key from the VM's output fails pulumi up naming the field, and no host is touched", async () => {
    const before: Record<string, string> = {};
    for (const h of HOSTS) before[h] = await hostBaseline(e.lab, h);
    expectExit(await pulumi(e, ["config", "set", "inputHosts:corruptHostKey", "true"]), 0);
    const started = Date.now();
    const up = await timings.time("step 4: pulumi up (malformed host key at apply)", () => pulumi(e, ["up", "--yes", "--skip-preview"]));
    const failingUpMs = Date.now() - started;
    expectExit(up, "non-zero");
    const out = `${up.stdout}\n${up.stderr}`;
    expect(out).toContain("mpi-hosts:hosts[1].hostKey");
    // Reported by its message (a pulumi.RunError), not as an unhandled exception with its stack: the SDK formats those
    // with util.inspect(err, { colors: true }), which on this error's stack (a frame in node_modules/@pulumi/output.ts)
    // builds a string until V8's maximum length, so that `pulumi up` returned 75-180 s after the VM's update (docs/pulumi.md).
    expect(out).not.toContain("failed with an unhandled exception");
    expect(out).not.toMatch(/^\s+at .*\(.*:\d+:\d+\)$/m);
    // And it is reported as soon as the program fails: that inspect ran a single core for 35 s or more (a 512 MB string,
    // 35 s alone at load 2) before the program could exit, so that this `up` took 50-180 s against 11-40 s for step 3's;
    // fixed, it takes about as long as step 3's (it registers less). The bound, 2 x step 3 + 10 s, is far from both.
    expect(failingUpMs).toBeLessThan(2 * noChangeUpMs + 10_000);
    for (const h of HOSTS) expect({ host: h, baseline: await hostBaseline(e.lab, h) }).toEqual({ host: h, baseline: before[h] });
    expectExit(await pulumi(e, ["config", "rm", "inputHosts:corruptHostKey"]), 0);
  });

  it("5. pulumi destroy returns every host's files and firewall to their original bytes", async () => {
    const destroy = await timings.time("step 5: pulumi destroy", () => pulumi(e, ["destroy", "--yes", "--skip-preview"]));
    expectExit(destroy, 0);
    for (const h of HOSTS) expect({ host: h, baseline: await hostBaseline(e.lab, h) }).toEqual({ host: h, baseline: original[h] });
  });
});
