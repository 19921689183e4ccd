/**
 * The verification job across reboots (issue 13): a 5-host lab brought to the state `pulumi up` leaves (every facet
 * applied through the facet provider), each host with another firewall its admin left (iptables DROP, ufw, a Debian
 * nftables.conf that drops, a foreign nftables table that drops, none), backend auto everywhere. Every host rebooted (lab/lab.ts rebootHost: runtime rules gone, then what the OS runs at boot), and then,
 * without running mpi-hosts, the job `npm run verify` runs (preflight with its TCP matrix, helloworld, ringtest)
 * passes. A host whose unit of ours was disabled by hand fails the TCP matrix after its reboot (the test can fail);
 * after the firewall's remove and a reboot none of our rules come back.
 *   npx jest --selectProjects lab --runInBand test/lab/persistenceVerify.test.ts
 */
import * as fs from "fs";
import { Cluster } from "../../components/config/types";
import { renderFirewall } from "../../components/facets/firewall";
import { closeAll } from "../../components/provider/remote";
import { VerifyReport } from "../../components/verify/report";
import { runVerification } from "../../components/verify/run";
import { FirewallKind } from "../../lab/firewallKinds";
import { Lab, rebootHost, stopLab } from "../../lab/lab";
import { connectionFor, probe, runFacet } from "../../lab/harness/facetRunner";
import { rootOk } from "../../lab/harness/labHelpers";
import { hostOf } from "../../lab/harness/labCluster";
import { startVerifyLab } from "../../lab/harness/verifyLab";
import { Timings } from "./support/timings";

jest.setTimeout(600000);

const LAB = "ps2";
const KINDS: FirewallKind[] = ["iptables", "ufw", "nftables-debian", "nftables-foreign", "none"];
const HOSTS = KINDS.map((_, i) => `host${i + 1}`);
/** What is left of mpi-hosts' firewall rules on a host: our iptables chain, nftables table, ufw comments. */
const OURS =
  "{ iptables-save; nft list ruleset; ufw status 2>/dev/null || true; } | grep -c -e MPI-HOSTS -e mpi_hosts -e mpi-hosts || true";

let lab: Lab;
let cluster: Cluster;
const timings = new Timings("persistenceVerify.test.ts timings");
const timed = <T>(label: string, fn: () => Promise<T>) => timings.time(label, fn);

beforeAll(async () => {
  ({ lab, cluster } = await timed(`start ${KINDS.length} hosts (${KINDS.join(", ")}) and apply every facet`, () =>
    startVerifyLab({ name: LAB, hosts: KINDS.length, release: "trixie", firewall: KINDS }),
  ));
});
afterAll(async () => {
  await closeAll();
  await stopLab(LAB);
  timings.print();
});

async function verify(): Promise<VerifyReport> {
  const result = await runVerification(cluster, { keyFile: lab.privateKeyPath }, { tests: ["helloworld", "ringtest"] });
  if (!result.report) throw new Error(`no report: ${result.problem}\n${result.stderr}`);
  return result.report;
}

async function rebootAll(): Promise<void> {
  await closeAll(); // pooled SSH connections die with the hosts
  // One at a time: stopHost/startHost each rewrite the lab's record (lab.json), and at once they lose each other's pid.
  for (const h of HOSTS) await rebootHost(lab, h);
}

const firewallOf = (host: string) => renderFirewall(cluster, hostOf(cluster, host));

test("every host rebooted: the verification job passes without running mpi-hosts", async () => {
  expect(fs.existsSync(lab.privateKeyPath)).toBe(true);
  for (const h of HOSTS) expect((await probe(connectionFor(lab, h), firewallOf(h))).state.boot).toBe("persistent");
  await timed("reboot every host", rebootAll);
  const report = await timed("verification job after the reboot", verify);
  expect({ ok: report.ok, failedStage: report.failedStage, failures: report.failures }).toEqual({
    ok: true,
    failedStage: null,
    failures: [],
  });
  expect(report.stages.map((s) => [s.name, s.status])).not.toContainEqual(expect.arrayContaining(["fail"]));
  // And the firewall facet of every host reads as declared: no drift after the reboot either.
  for (const h of HOSTS)
    expect({ host: h, differences: (await probe(connectionFor(lab, h), firewallOf(h))).differences }).toEqual({ host: h, differences: [] });
});

test("a host whose rules do not come back (our unit disabled by hand) fails the job's TCP matrix after its reboot", async () => {
  await rootOk(lab, "host1", "rm /etc/systemd/system/multi-user.target.wants/mpi-hosts-iptables.service");
  await closeAll();
  await timed("reboot host1", () => rebootHost(lab, "host1"));
  const report = await timed("verification job, host1 closed", verify);
  expect(report.ok).toBe(false);
  expect(report.failedStage).toBe("tcp");
  // Every pair into host1 is blocked (its INPUT drops), none elsewhere.
  const blocked = report.pairs.filter((p) => JSON.stringify(p).includes('"blocked"'));
  expect(blocked.length).toBeGreaterThan(0);
  expect([...new Set(blocked.map((p) => p.to))]).toEqual(["host1"]);
  // Repaired by apply, as `pulumi up --refresh` would.
  await runFacet(connectionFor(lab, "host1"), firewallOf("host1"), "apply");
  expect((await probe(connectionFor(lab, "host1"), firewallOf("host1"))).differences).toEqual([]);
});

test("after the firewall's remove and a reboot, none of our rules come back on any host", async () => {
  for (const h of HOSTS) await runFacet(connectionFor(lab, h), firewallOf(h), "remove");
  await rebootAll();
  for (const h of HOSTS) expect({ host: h, ours: (await rootOk(lab, h, OURS)).trim() }).toEqual({ host: h, ours: "0" });
});
