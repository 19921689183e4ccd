/**
 * Issue 13 review, the firewalls next to ufw: a real ufw (Debian's package, enabled, SSH allowed) on host2 plus a
 * hand-written `table inet filter` with policy drop, loaded from /etc/nftables.conf by nftables.service as its admin
 * set it up. nftables evaluates every base chain on the hook, so ufw's accept alone leaves the MPI ports closed: the
 * probe must say so (naming the table and chain), apply must put our chain into that table too, the boot must bring
 * it back, and remove must give every byte back. host1 is the cluster network (allowFrom), host3 everyone else.
 *   npx jest test/lab/firewallOthers.test.ts --selectProjects lab --runInBand
 */
import { Cluster } from "../../components/config/types";
import { describeDifferences } from "../../components/facets/compare";
import { RenderedFacet } from "../../components/facets/facet";
import { renderFirewall } from "../../components/facets/firewall";
import { GUESTS_PERSIST_FILE, NFTABLES_CONF } from "../../components/facets/firewallPersistence";
import { closeAll } from "../../components/provider/remote";
import { Lab, rebootHost, rootExec, startLab, stopLab } from "../../lab/lab";
import { connectionFor, probe, runFacet } from "../../lab/harness/facetRunner";
import { labHost, rootOk } from "../../lab/harness/labHelpers";
import { firewallFacetOf, labCluster } from "../../lab/harness/labCluster";
import { SNAPSHOT } from "./support/firewallKinds";
import { connect as connectFrom, reach as reachFrom, startListeners as listenOn } from "./support/traffic";

jest.setTimeout(600000);

const LAB = "fo1";
const HOST = "host2";
let lab: Lab;
let cluster: Cluster;
let facet: RenderedFacet;
let ports: number[];
const listeners: Record<string, string> = {};

/** The admin's own table next to ufw (no `flush ruleset`: that would take ufw's tables with it whenever it loads). */
const ADMIN_CONF = `#!/usr/sbin/nft -f
# Written by the admin of this host, next to ufw (mpi-hosts lab test firewallOthers).

table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		iif "lo" accept
		tcp dport PORT accept
	}
}
`;

async function startListeners(host = HOST): Promise<void> {
  listeners[host] = await listenOn(lab, host, ports);
}

const connect = (from: string, port: number, to = HOST) => connectFrom(lab, from, to, port);

const reach = () => reachFrom(lab, HOST, ["host1", "host3"], { btl: ports[0], oob: ports[1] });

const OPEN_TO_HOST1 = { "host1 btl": "connected MPI", "host1 oob": "connected MPI", "host3 btl": "timeout", "host3 oob": "timeout" };
const CLOSED = { "host1 btl": "timeout", "host1 oob": "timeout", "host3 btl": "timeout", "host3 oob": "timeout" };
const snapshot = () => rootOk(lab, HOST, `${SNAPSHOT}\necho '== ${NFTABLES_CONF}'; cat ${NFTABLES_CONF}`);

beforeAll(async () => {
  lab = await startLab({ name: LAB, hosts: 3, firewall: ["none", "ufw", "none"] });
  const host1 = labHost(lab, "host1").address;
  cluster = labCluster(lab, { firewall: { backend: "auto", allowFrom: [`${host1}/32`] } });
  facet = firewallFacetOf(cluster, HOST);
  ports = [cluster.mpi.btlPorts.first + 5, cluster.mpi.oobPorts.first + 5];
  const conf = ADMIN_CONF.replace("PORT", String(labHost(lab, HOST).port));
  await rootOk(lab, HOST, `cat >${NFTABLES_CONF} && systemctl enable nftables.service >/dev/null 2>&1`, conf);
  // Booted once with it, so that the tables stand in the order the boot makes them (ufw's, then the admin's, or the
  // other way round): the reboot below makes them in that order again.
  await rebootHost(lab, HOST);
  await startListeners();
});

afterAll(async () => {
  await closeAll();
  for (const [host, pid] of Object.entries(listeners)) await rootExec(lab, host, `kill ${pid}`);
  await stopLab(LAB);
});

describe("ufw enabled next to a hand-written table inet filter that drops (real ufw and nft)", () => {
  let before = "";

  test("the probe names the table and chain that keep the ports closed, though ufw holds none of our rules yet", async () => {
    before = await snapshot();
    expect(await reach()).toEqual(CLOSED);
    const { state } = await probe(connectionFor(lab, HOST), facet);
    expect(state).toMatchObject({
      backend: "ufw",
      rules: "",
      effective:
        "nftables: table inet filter, chain input drops what it does not accept on the input hook, and does not jump to our chain mpi_hosts there, so the MPI ports stay closed (apply adds the chain, and the jump after their rules, before a last drop or reject)",
    });
    expect(state.input_chains).toContain("inet filter input drop yes\n");
  });

  test("apply adds the ufw rules and our chain in inet filter, jumped to after their rules; host1 gets in, host3 not; the boot loads it too", async () => {
    const conn = connectionFor(lab, HOST);
    const applied = await runFacet(conn, facet, "apply");
    expect(applied.stderr).toContain("nftables: chain mpi_hosts jumped to from: inet filter input;");
    expect((await probe(conn, facet)).differences).toEqual([]);
    expect(await reach()).toEqual(OPEN_TO_HOST1);
    expect(await rootOk(lab, HOST, "nft list chain inet filter input")).toContain(
      '\t\ttcp dport 2400 accept\n\t\tjump mpi_hosts comment "mpi-hosts"\n\t}\n',
    );
    expect(await rootOk(lab, HOST, `tail -n 3 ${NFTABLES_CONF}`)).toBe(
      '# BEGIN mpi-hosts managed block\ninclude "/etc/mpi-hosts/[f]irewall-guests.nft"\n# END mpi-hosts managed block\n',
    );
    expect(await rootOk(lab, HOST, `nft -c -f ${NFTABLES_CONF} && grep -c '^add rule inet filter mpi_hosts ' ${GUESTS_PERSIST_FILE}`)).toBe(
      `${(facet.desired.rules as string).split("\n").filter((l) => l !== "").length}\n`,
    );
  });

  test("apply again changes nothing", async () => {
    const ruleset = await rootOk(lab, HOST, "nft -s list ruleset");
    const again = await runFacet(connectionFor(lab, HOST), facet, "apply");
    expect(again.stderr).toContain("firewall (ufw): MPI ports already open to the cluster network only, no change");
    expect(await rootOk(lab, HOST, "nft -s list ruleset")).toBe(ruleset);
  });

  test("the jump deleted by hand is named by the probe and put back by apply", async () => {
    await rootOk(
      lab,
      HOST,
      `nft delete rule inet filter input handle $(nft -a list chain inet filter input | sed -n 's/^.*jump mpi_hosts comment "mpi-hosts" # handle \\([0-9]*\\)$/\\1/p')`,
    );
    expect(await connect("host1", ports[0])).toBe("timeout");
    const conn = connectionFor(lab, HOST);
    expect(describeDifferences((await probe(conn, facet)).differences)).toContain(
      "nftables: table inet filter, chain input drops what it does not accept on the input hook, and does not jump to our chain mpi_hosts there",
    );
    await runFacet(conn, facet, "apply");
    expect((await probe(conn, facet)).differences).toEqual([]);
    expect(await connect("host1", ports[0])).toBe("connected MPI");
  });

  test("after a reboot (ufw-init and nftables.service run, no Pulumi) host1 still gets in and host3 not", async () => {
    await rebootHost(lab, HOST);
    await startListeners();
    expect((await probe(connectionFor(lab, HOST), facet)).differences).toEqual([]);
    expect(await reach()).toEqual(OPEN_TO_HOST1);
  });

  test("remove gives the ruleset, ufw's rules and /etc/nftables.conf back byte for byte; the ports are closed again", async () => {
    const removed = await runFacet(connectionFor(lab, HOST), facet, "remove");
    expect(removed.stderr).toContain("nftables: removed chain mpi_hosts and the jumps to it from: table inet filter;");
    expect(await snapshot()).toBe(before);
    expect(await reach()).toEqual(CLOSED);
  });
});

describe("our own unit (iptables backend on a host without netfilter-persistent)", () => {
  const OTHER = "host3";

  test("names its programs by the absolute paths the probe reports, is ordered as systemd.special(7) says for firewalls, and systemd-analyze verify accepts it", async () => {
    const h = cluster.hosts.find((x) => x.name === OTHER)!;
    const iptables = renderFirewall(cluster, { ...h, firewallBackend: "iptables" });
    const conn = connectionFor(lab, OTHER);
    const before = await rootOk(lab, OTHER, SNAPSHOT);
    await runFacet(conn, iptables, "apply");
    const { state, differences } = await probe(conn, iptables);
    expect(differences).toEqual([]);
    const paths = Object.fromEntries(
      (state.exec_paths as string)
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => l.split("=", 2)),
    );
    expect(paths).toEqual({
      nft: "/usr/sbin/nft",
      "iptables-restore": "/usr/sbin/iptables-restore",
      "ip6tables-restore": "/usr/sbin/ip6tables-restore",
    });
    const unit = await rootOk(lab, OTHER, "cat /etc/systemd/system/mpi-hosts-iptables.service");
    expect(unit.split("\n").filter((l) => l.startsWith("ExecStart="))).toEqual([
      `ExecStart=${paths["iptables-restore"]} -w --noflush /etc/mpi-hosts/firewall.iptables`,
      `ExecStart=-${paths["ip6tables-restore"]} -w --noflush /etc/mpi-hosts/firewall.ip6tables`,
      `ExecStart=-${paths.nft} -f /etc/mpi-hosts/firewall-guests.nft`,
    ]);
    expect(unit).toContain("\nBefore=network-pre.target shutdown.target\n");
    // systemd's own check of the unit (syntax, executables, ordering), offline: no systemd runs in a lab host.
    const verify = await rootExec(lab, OTHER, "systemd-analyze verify /etc/systemd/system/mpi-hosts-iptables.service 2>&1");
    expect({ code: verify.code, output: verify.stdout.split("\n").filter((l) => /mpi-hosts/.test(l)) }).toEqual({ code: 0, output: [] });
    await runFacet(conn, iptables, "remove");
    expect(await rootOk(lab, OTHER, SNAPSHOT)).toBe(before);
  });
});

// Issue 13 review: the iptables backend skipped every table named ip filter, though on an iptables-legacy host
// iptables' rules live in the kernel's xtables and a table of that name is the admin's own nftables table.
describe("an iptables-legacy host whose admin wrote a native nftables table named ip filter that drops", () => {
  const LEGACY = "host3";
  const nativeFilter = (sshPort: number) => `table ip filter {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		iif "lo" accept
		tcp dport ${sshPort} accept
	}
}
`;
  const alternatives = (variant: "legacy" | "nft") =>
    `update-alternatives --set iptables /usr/sbin/iptables-${variant} >/dev/null && update-alternatives --set ip6tables /usr/sbin/ip6tables-${variant} >/dev/null`;

  test("the iptables backend names that table's drop, puts our chain into it (host1 gets in, host2 not), and remove gives every byte back", async () => {
    const h = cluster.hosts.find((x) => x.name === LEGACY)!;
    const iptables = renderFirewall(cluster, { ...h, firewallBackend: "iptables" });
    const conn = connectionFor(lab, LEGACY);
    await rootOk(lab, LEGACY, `${alternatives("legacy")} && nft -f -`, nativeFilter(labHost(lab, LEGACY).port));
    try {
      expect(await rootOk(lab, LEGACY, "iptables -V")).toMatch(/\(legacy\)/);
      await startListeners(LEGACY);
      const fresh = await probe(conn, iptables);
      // After the first read: iptables-legacy's first `iptables -S` makes the kernel's filter table (empty, ACCEPT),
      // as any `iptables -L` would, and a legacy table cannot be deleted again; iptables-save prints it from then on.
      const before = await rootOk(lab, LEGACY, SNAPSHOT);
      expect(fresh.state.effective).toBe(
        "nftables: table ip filter, chain input drops what it does not accept on the input hook, and does not jump to our chain mpi_hosts there, so the MPI ports stay closed (apply adds the chain, and the jump after their rules, before a last drop or reject)",
      );
      expect(await connect("host1", ports[0], LEGACY)).toBe("timeout");
      const applied = await runFacet(conn, iptables, "apply");
      expect(applied.stderr).toContain("nftables: chain mpi_hosts jumped to from: ip filter input;");
      expect((await probe(conn, iptables)).differences).toEqual([]);
      expect(await rootOk(lab, LEGACY, "iptables-legacy -S INPUT")).toContain("-A INPUT -j MPI-HOSTS\n");
      expect({ host1: await connect("host1", ports[0], LEGACY), host2: await connect("host2", ports[0], LEGACY) }).toEqual({
        host1: "connected MPI",
        host2: "timeout",
      });
      await runFacet(conn, iptables, "remove");
      expect(await rootOk(lab, LEGACY, SNAPSHOT)).toBe(before);
    } finally {
      await rootExec(lab, LEGACY, `nft delete table ip filter; ${alternatives("nft")}`);
    }
  });
});
