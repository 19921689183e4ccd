/**
 * The verification job under the real engine on 3 trixie lab hosts: its report is the `verification`
 * stack output as an object, the display shows its progress and summary but not its JSON, a no-change
 * `up` or preview leaves it alone, and a repair of drift by `pulumi up --refresh` runs it again (the
 * desired state did not change; the facet's apply did run). Never skipped: without root or the engine it fails.
 */
import { shellQuote } from "../../components/templates/shellQuote";
import type { VerifyReport } from "../../components/verify/report";
import { drift, EngineLab, expectExit, pulumi, resourceIds, root, startEngineLab, stopEngineLab, Timings } from "./support";

const NAME = `rerun-${process.pid}`;
const HOSTS = ["host1", "host2", "host3"];
const VERIFY = `${NAME}-verify`;
const timings = new Timings("rerun.test.ts (3 trixie hosts) wall times");

let e: EngineLab;

beforeAll(async () => {
  e = await timings.time("lab up + stack init", () => startEngineLab(NAME, HOSTS.length, "trixie"));
});

afterAll(async () => {
  process.stdout.write(timings.report());
  await stopEngineLab(e, NAME);
});

async function verificationOutput(): Promise<VerifyReport> {
  const out = await pulumi(e, ["stack", "output", "verification", "--json"]);
  expectExit(out, 0);
  return JSON.parse(out.stdout) as VerifyReport;
}

async function verifyId(): Promise<string> {
  const id = (await resourceIds(e))[VERIFY];
  expect(id).toBeDefined();
  return id;
}

/**
 * The display's lines with the job's summary line, from its progress and diagnostics: what comes before the stack
 * outputs (which pulumi up prints after every update, the report's `summary` among them).
 */
const summaryLines = (text: string) =>
  text
    .split(/^Outputs:$/m)[0]
    .split("\n")
    .filter((l) => /mpi-hosts verify: (ok|FAILED)/.test(l));

describe("the verification job under the real engine on 3 trixie lab hosts", () => {
  it("1. pulumi up shows the job's progress and summary lines, not its JSON text; the verification output is the report as an object", async () => {
    const up = await timings.time("step 1: pulumi up from nothing", () => pulumi(e, ["up", "--yes", "--skip-preview"]));
    expectExit(up, 0);
    expect(up.stdout).toContain("mpi-hosts: verify: preflight passed");
    expect(summaryLines(up.stdout).length).toBeGreaterThan(0);
    expect(`${up.stdout}\n${up.stderr}`).not.toContain('{"version":1');

    const report = await verificationOutput();
    expect(report).toMatchObject({ version: 1, ok: true, failedStage: null, from: "host1" });
    expect(report.hosts.map((h) => h.name)).toEqual(HOSTS);
    expect(summaryLines(up.stdout)[0]).toContain(report.summary);
  });

  it("2. a no-change pulumi up --refresh and preview leave the job alone", async () => {
    const before = await verifyId();
    const up = await timings.time("step 2a: pulumi up --refresh --expect-no-changes (nothing to do)", () =>
      pulumi(e, ["up", "--refresh", "--expect-no-changes", "--yes", "--skip-preview"]),
    );
    expectExit(up, 0);
    expect(summaryLines(up.stdout)).toEqual([]);
    expect(await verifyId()).toBe(before);
    const preview = await timings.time("step 2b: pulumi preview --expect-no-changes", () => pulumi(e, ["preview", "--expect-no-changes"]));
    expectExit(preview, 0);
  });

  it("3. a drift repair by pulumi up --refresh runs the job again; then nothing is left to do", async () => {
    const before = await verifyId();
    // host2: delete our rule that opens the BTL ports to the cluster network, as root, by hand (MPI traffic to it drops).
    const rules = await root(e.lab, "host2", "iptables -S MPI-HOSTS");
    const rule = rules
      .split("\n")
      .find((l) => l.includes(`-s ${e.lab.network}`) && l.includes("--dport 50000:50099") && l.includes("-j ACCEPT"));
    expect(rule).toBeDefined();
    await root(e.lab, "host2", `iptables -D MPI-HOSTS ${rule!.split(" ").slice(2).map(shellQuote).join(" ")}`);

    // The preview says so before anything runs: the firewall of host2 is updated, so the job is replaced.
    const preview = await timings.time("step 3a: pulumi preview --refresh --diff (drift)", () =>
      pulumi(e, ["preview", "--refresh", "--diff"]),
    );
    expectExit(preview, 0);
    expect(preview.stdout).toMatch(/~ mpi-hosts:index:Facet: \(update\)\n\s+\[id=host2\/firewall\]/);
    expect(preview.stdout).toMatch(/\+-mpi-hosts:index:VerificationJob: \(replace\)/);
    expect(preview.stdout).toMatch(/~ host2\/firewall\s*: "[0-9T:.-]+Z" => \[unknown\]\n/);

    const repair = await timings.time("step 3b: pulumi up --refresh (repair, job runs again)", () =>
      pulumi(e, ["up", "--refresh", "--yes", "--skip-preview"]),
    );
    expectExit(repair, 0);
    expect(await root(e.lab, "host2", "iptables -S MPI-HOSTS")).toContain(rule!);
    expect(repair.stdout).toContain("mpi-hosts: verify: preflight passed");
    expect(summaryLines(repair.stdout).length).toBeGreaterThan(0);
    expect(await verifyId()).not.toBe(before); // replaced: the job ran again
    const report = await verificationOutput();
    expect(report).toMatchObject({ version: 1, ok: true });
    expect(summaryLines(repair.stdout)[0]).toContain(report.summary);

    const again = await timings.time("step 3c: pulumi preview --expect-no-changes", () => pulumi(e, ["preview", "--expect-no-changes"]));
    expectExit(again, 0);
    const clean = await timings.time("step 3d: npm run drift (in sync)", () => drift(e));
    expectExit(clean, 0);
    expect(clean.stdout).toBe(`${NAME}: every host is as declared (no drift)\n`);
  });
});
