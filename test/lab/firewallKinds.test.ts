/**
 * Issue 13, "their firewalls": five lab hosts whose firewalls someone else set up, one of each kind the lab has
 * (none; iptables INPUT policy DROP; ufw enabled; a Debian-style /etc/nftables.conf, table inet filter with policy
 * drop; Debian's stock ruleset plus a table ip guard of the admin's own with policy drop), `firewallBackend: auto`
 * everywhere. In Molecule's order: converge every facet (through the facet provider, as `pulumi up` does), converge
 * again (no change), the verification job across all five, drift clean; a hand deletion of one of our rules on each
 * host is named by the probe and repaired by apply; remove gives every host its ruleset and files back, byte for
 * byte (nft list ruleset, iptables-save and ip6tables-save without counters, ufw's status and rule files).
 *   npx jest test/lab/firewallKinds.test.ts --selectProjects lab --runInBand
 */
import { Cluster } from "../../components/config/types";
import { RenderedFacet } from "../../components/facets/facet";
import { closeAll } from "../../components/provider/remote";
import { runVerification } from "../../components/verify/run";
import { Lab, startLab, stopLab } from "../../lab/lab";
import { connectionFor, probe, runFacet } from "../../lab/harness/facetRunner";
import { rootOk } from "../../lab/harness/labHelpers";
import { applyAllFacets } from "../../lab/harness/verifyLab";
import { firewallFacetOf, labCluster } from "../../lab/harness/labCluster";
import { EXPECTED_BACKEND, HAND_DELETION, hostOfKind, KINDS, SNAPSHOT } from "./support/firewallKinds";
import { Timings } from "./support/timings";

jest.setTimeout(600000);

const LAB = "fw1";
let lab: Lab;
let cluster: Cluster;
const before: Record<string, string> = {};
const firewallOf = (host: string): RenderedFacet => firewallFacetOf(cluster, host);
const timings = new Timings("firewallKinds.test.ts timings");
const timed = <T>(label: string, fn: () => Promise<T>) => timings.time(label, fn);

beforeAll(async () => {
  lab = await timed("start 5 hosts", () => startLab({ name: LAB, hosts: KINDS.length, firewall: KINDS }));
  cluster = labCluster(lab);
  for (const h of lab.hosts) before[h.name] = await rootOk(lab, h.name, SNAPSHOT);
});

afterAll(async () => {
  await closeAll();
  await stopLab(LAB);
  timings.print();
});

describe("five hosts with five firewalls set up by someone else, firewallBackend auto everywhere", () => {
  test("the lab hosts carry the firewalls they were asked for", async () => {
    expect(lab.hosts.map((h) => h.firewall)).toEqual(KINDS);
    expect(before[hostOfKind("nftables-debian")]).toMatch(
      /table inet filter \{\n\tchain input \{\n\t\ttype filter hook input priority filter; policy drop;/,
    );
    expect(before[hostOfKind("nftables-foreign")]).toMatch(
      /table ip guard \{\n\tchain input \{\n\t\ttype filter hook input priority filter - 10; policy drop;/,
    );
    expect(before[hostOfKind("ufw")]).toContain("Default: deny (incoming)");
    expect(before[hostOfKind("iptables")]).toContain(":INPUT DROP [0:0]");
  });

  test("converge: every facet applies, and the firewall opens the MPI ports where each host's own drop would win", async () => {
    await timed("converge (all facets, 5 hosts)", () => applyAllFacets(lab, cluster));
    for (const kind of KINDS) {
      const host = hostOfKind(kind);
      const { state, differences } = await probe(connectionFor(lab, host), firewallOf(host));
      expect({ host, backend: state.backend, differences }).toEqual({ host, backend: EXPECTED_BACKEND[kind], differences: [] });
    }
    // Checked with nft itself: our chain sits in their table, jumped to after their own rules (their policy drops last).
    const debian = await rootOk(
      lab,
      hostOfKind("nftables-debian"),
      "nft list chain inet filter input; nft list chain inet filter mpi_hosts",
    );
    expect(debian).toMatch(
      /policy drop;\n\t\tct state established,related accept\n[^}]*\ttcp dport 2400 accept\n\t\tjump mpi_hosts comment "mpi-hosts"\n\t}/,
    );
    expect(debian).toContain(`ip saddr ${lab.network} tcp dport 50000-50099 accept`);
    const foreign = await rootOk(lab, hostOfKind("nftables-foreign"), "nft list chain ip guard input");
    expect(foreign).toMatch(/\ttcp dport 2400 accept\n\t\tjump mpi_hosts comment "mpi-hosts"\n\t}/);
    // IPv6: the iptables host closes the BTL range on IPv6 too.
    const v6 = await rootOk(lab, hostOfKind("iptables"), "ip6tables -S");
    expect(v6).toContain("-A INPUT -j MPI-HOSTS");
    expect(v6).toContain("-A MPI-HOSTS ! -i lo -p tcp -m tcp --dport 50000:50099 -m conntrack ! --ctstate RELATED,ESTABLISHED -j DROP");
  });

  test("converge again: no change on any host", async () => {
    for (const kind of KINDS) {
      const host = hostOfKind(kind);
      const again = await timed(`${kind}: apply again`, () => runFacet(connectionFor(lab, host), firewallOf(host), "apply"));
      expect(again.stderr).toContain(`firewall (${EXPECTED_BACKEND[kind]}): MPI ports already open to the cluster network only, no change`);
    }
  });

  test("the verification job passes across all five (TCP matrix, helloworld, ringtest)", async () => {
    const run = await timed("verification job", () =>
      runVerification(cluster, { keyFile: lab.privateKeyPath }, { tests: ["helloworld", "ringtest"] }),
    );
    expect(run.problem).toBeUndefined();
    expect(run.report?.failures).toEqual([]);
    expect(run.code).toBe(0);
  });

  test.each(KINDS)("%s: a hand deletion of one of our rules is named by the probe, and apply repairs it", async (kind) => {
    const host = hostOfKind(kind);
    const conn = connectionFor(lab, host);
    const facet = firewallOf(host);
    await rootOk(lab, host, HAND_DELETION[kind]);
    const drifted = await probe(conn, facet);
    expect(drifted.differences.length).toBeGreaterThan(0);
    await timed(`${kind}: repair`, () => runFacet(conn, facet, "apply"));
    expect((await probe(conn, facet)).differences).toEqual([]);
  });

  test("remove gives every host its ruleset and files back, byte for byte", async () => {
    for (const kind of KINDS) {
      const host = hostOfKind(kind);
      await timed(`${kind}: remove`, () => runFacet(connectionFor(lab, host), firewallOf(host), "remove"));
      expect({ host, kind, snapshot: await rootOk(lab, host, SNAPSHOT) }).toEqual({ host, kind, snapshot: before[host] });
    }
  });
});
