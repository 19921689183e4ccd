/**
 * The real Pulumi engine on 5 Debian bookworm lab hosts (Open MPI 4.1, ORTE: runtime ports from
 * ~/.openmpi/mca-params.conf, not PRRTE's file): pulumi up from nothing converges and the
 * verification job passes on every host; a second preview has nothing to do.
 */
import { EngineLab, expectExit, pulumi, root, startEngineLab, stopEngineLab, Timings } from "./support";

const NAME = `lab-e2e-bw-${process.pid}`;
const HOSTS = ["host1", "host2", "host3", "host4", "host5"];
const timings = new Timings("bookworm.test.ts (5 bookworm hosts) wall times");

let e: EngineLab;

beforeAll(async () => {
  e = await timings.time("lab up + stack init", () => startEngineLab(NAME, HOSTS.length, "bookworm"));
});

afterAll(async () => {
  process.stdout.write(timings.report());
  await stopEngineLab(e, NAME);
});

describe("the real engine on 5 bookworm lab hosts", () => {
  it("pulumi up from nothing converges every host and the verification job passes on all of them", async () => {
    const up = await timings.time("step 1: pulumi up from nothing", () => pulumi(e, ["up", "--yes", "--skip-preview"]));
    expectExit(up, 0);
    const report = await pulumi(e, ["stack", "output", "verification"]);
    expect(report.code).toBe(0);
    for (const h of HOSTS) {
      expect(report.stdout).toContain(h);
      // Open MPI 4.x reads its runtime (ORTE) settings from the openmpi file: the network, and no port range, so
      // that mpiruns can run side by side (oobPorts: ephemeral).
      const openmpi = await root(e.lab, h, "cat /home/mpi/.openmpi/mca-params.conf");
      expect(openmpi).toContain(`oob_tcp_if_include = ${e.lab.network}`);
      expect(openmpi).not.toContain("oob_tcp_dynamic_ipv4_ports");
    }
  });

  it("a second preview has nothing to do", async () => {
    const again = await timings.time("step 2: pulumi preview --refresh --expect-no-changes", () =>
      pulumi(e, ["preview", "--refresh", "--expect-no-changes"]),
    );
    expectExit(again, 0);
  });
});
