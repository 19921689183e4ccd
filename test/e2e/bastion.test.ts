/**
 * The real engine with a host reachable only through a bastion: 3 trixie hosts, this machine has no route to host3
 * (lab behindBastion), the stack config says `jump: host1` for it, and host3 is the verification job's head, so both
 * the facet provider and the command provider (its `connection.proxy`) must go through host1. pulumi up converges and
 * verifies, a refreshed preview has nothing to do, a hand change on host3 fails --expect-no-changes and
 * `pulumi up --refresh` repairs it. The command provider here is the Node.js stand-in (standins/README.md): the official
 * Go binary cannot be built on this machine.
 *   . scripts/engine-env.sh && npx jest --selectProjects e2e --runInBand --runTestsByPath test/e2e/bastion.test.ts
 */
import * as fs from "fs";
import * as path from "path";
import { parse, stringify } from "yaml";
import { stackConfigPath } from "../../cli/pulumiRunner";
import { EngineLab, expectExit, pulumi, root, startEngineLab, stopEngineLab, Timings } from "./support";

const NAME = "jp2";
const timings = new Timings("bastion.test.ts (3 trixie hosts, host3 behind host1) wall times");

let e: EngineLab;

/** Accepted SSH logins in a lab host's sshd log (its console), by source address. */
function loginsFrom(host: string, address: string): number {
  const log = fs.readFileSync(path.join(e.lab.dir, "hosts", host, "console.log"), "utf8");
  return log.split("\n").filter((l) => l.startsWith("Accepted publickey") && l.includes(` from ${address} `)).length;
}

beforeAll(async () => {
  e = await timings.time("lab up + stack init", () => startEngineLab(NAME, 3, "trixie", { behindBastion: ["host3"] }));
  // host3, behind the bastion, launches the verification job.
  const file = stackConfigPath(NAME, e.env);
  const text = fs.readFileSync(file, "utf8");
  const doc = parse(text) as { config: Record<string, unknown> };
  doc.config["mpi-hosts:verify"] = { from: "host3", tests: ["helloworld", "ringtest"], timeoutSeconds: 60 };
  fs.writeFileSync(file, `${text.split("\n")[0]}\n${stringify(doc)}`);
});

afterAll(async () => {
  process.stdout.write(timings.report());
  await stopEngineLab(e, NAME);
});

describe("pulumi with host3 reachable only through host1", () => {
  it("pulumi up converges every host and the verification job passes with its head behind the bastion", async () => {
    const up = await timings.time("pulumi up from nothing", () => pulumi(e, ["up", "--yes", "--skip-preview"]));
    expectExit(up, 0);
    const out = await pulumi(e, ["stack", "output", "verification", "--json"]);
    expectExit(out, 0);
    const report = JSON.parse(out.stdout) as { ok: boolean; from: string; hosts: { name: string; reached: boolean }[] };
    expect(report).toMatchObject({ ok: true, from: "host3" });
    expect(report.hosts.map((h) => [h.name, h.reached])).toEqual([
      ["host1", true],
      ["host2", true],
      ["host3", true],
    ]);
    // Independent of our probes: the files are on host3, and every login there came from the bastion or a peer.
    expect(await root(e.lab, "host3", "cat /home/mpi/.openmpi/mca-params.conf")).toContain("btl_tcp_port_min_v4 = 50000");
    expect(loginsFrom("host3", e.lab.hosts[0].address)).toBeGreaterThan(0);
    expect(loginsFrom("host3", e.lab.gateway)).toBe(0);
  });

  it("a refreshed preview through the bastion has nothing to do", async () => {
    const preview = await timings.time("pulumi preview --refresh --expect-no-changes", () =>
      pulumi(e, ["preview", "--refresh", "--expect-no-changes"]),
    );
    expectExit(preview, 0);
  });

  it("a hand change on host3 fails --expect-no-changes, naming host3's facet, and pulumi up --refresh repairs it", async () => {
    await root(e.lab, "host3", "sed -i 's/^btl_tcp_port_range_v4 = 100$/btl_tcp_port_range_v4 = 64/' /home/mpi/.openmpi/mca-params.conf");
    const strict = await timings.time("pulumi preview --refresh --expect-no-changes (drift)", () =>
      pulumi(e, ["preview", "--refresh", "--expect-no-changes", "--diff"]),
    );
    expectExit(strict, "non-zero");
    expect(strict.stdout).toContain("host3/mcaParams");
    const repair = await timings.time("pulumi up --refresh --yes (repair)", () =>
      pulumi(e, ["up", "--refresh", "--yes", "--skip-preview"]),
    );
    expectExit(repair, 0);
    expect(await root(e.lab, "host3", "cat /home/mpi/.openmpi/mca-params.conf")).toContain("btl_tcp_port_range_v4 = 100\n");
  });
});
