/**
 * The nftables backend against rulesets a careful admin writes (issue 13, review): real nftables on lab hosts, checked
 * with plain tools (nft, TCP connections) and after simulated reboots (lab/lab.ts rebootHost).
 *   host1, host2: the cluster (allowFrom: both /32s); host3: trixie, host4: bookworm, each with the lab's Debian-style
 *   /etc/nftables.conf (table inet filter, input policy drop, nftables.service enabled), changed per test as an admin
 *   would.
 *   npx jest test/lab/nftablesAdmin.test.ts --selectProjects lab --runInBand
 */
import { parse } from "yaml";
import { loadClusterOrThrow, namespaceKeys } from "../../components/config/load";
import { Cluster } from "../../components/config/types";
import { RenderedFacet } from "../../components/facets/facet";
import { renderFirewall } from "../../components/facets/firewall";
import { closeAll } from "../../components/provider/remote";
import { shellQuote } from "../../components/render/shellQuote";
import { Lab, rebootHost, renderLabStack, startLab, stopLab } from "../../lab/lab";
import { connectionFor, probe, runFacet } from "./facetRunner";
import { labHost, rootOk } from "./lab-helpers";

jest.setTimeout(600000);

const LAB = "nx1";
const BTL = 50050;

let lab: Lab;
beforeAll(async () => {
  lab = await startLab({
    name: LAB,
    releases: ["trixie", "trixie", "trixie", "bookworm"],
    firewall: ["none", "none", "nftables-debian", "nftables-debian"],
  });
});
afterAll(async () => {
  await closeAll();
  await stopLab(LAB);
});

function labCluster(extra: Record<string, unknown> = {}): Cluster {
  const doc = parse(renderLabStack(lab)) as { config: Record<string, unknown> };
  const config = {
    ...doc.config,
    "mpi-hosts:firewall": {
      backend: "auto",
      allowFrom: [`${labHost(lab, "host1").address}/32`, `${labHost(lab, "host2").address}/32`],
      ...extra,
    },
  };
  return loadClusterOrThrow(namespaceKeys(config)).cluster;
}

function firewallOf(host: string, extra: Record<string, unknown> = {}): RenderedFacet {
  const cluster = labCluster(extra);
  return renderFirewall(cluster, cluster.hosts.find((h) => h.name === host)!);
}

/** An admin's /etc/nftables.conf: flush ruleset, then table inet filter with this input chain. */
function adminConf(inputChain: string): string {
  return `#!/usr/sbin/nft -f
# Written by the admin of this host.
flush ruleset

table inet filter {
${inputChain}
}
`;
}

/** Writes and loads an admin's /etc/nftables.conf, as `nft -f /etc/nftables.conf` after an edit does. */
async function setAdminConf(host: string, text: string): Promise<void> {
  await rootOk(lab, host, "cat >/etc/nftables.conf && nft -f /etc/nftables.conf", text);
}

/** A listener on the BTL port of `host` (as root, in the background). */
async function listen(host: string): Promise<void> {
  const py = [
    "import socket",
    "s = socket.socket()",
    "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)",
    `s.bind(('0.0.0.0', ${BTL}))`,
    "s.listen(16)",
    "while True:",
    "    c, _ = s.accept()",
    "    c.close()",
  ].join("\n");
  await rootOk(
    lab,
    host,
    `ss -Hltn "sport = :${BTL}" | grep -q . && exit 0
setsid python3 -c ${shellQuote(py)} </dev/null >/dev/null 2>&1 &
for i in $(seq 100); do ss -Hltn "sport = :${BTL}" | grep -q . && exit 0; sleep 0.05; done
echo "listener did not come up" >&2; exit 1`,
  );
}

/** How a TCP connection from `from` to `to`'s BTL port ends: connected, timeout (dropped) or the error's name. */
async function connect(from: string, to: string): Promise<string> {
  const py = [
    "import socket",
    "try:",
    `    socket.create_connection((${JSON.stringify(labHost(lab, to).address)}, ${BTL}), timeout=1.5).close()`,
    "    print('connected')",
    "except socket.timeout:",
    "    print('timeout')",
    "except OSError as e:",
    "    print(type(e).__name__)",
  ].join("\n");
  return (await rootOk(lab, from, `python3 -c ${shellQuote(py)}`)).trim();
}

async function reachable(target: string): Promise<Record<string, string>> {
  await listen(target);
  return { host1: await connect("host1", target), host2: await connect("host2", target) };
}

/** Their input chain as nft lists it, counters aside. */
async function inputChain(host: string): Promise<string> {
  return (await rootOk(lab, host, "nft list chain inet filter input")).replace(/counter packets \d+ bytes \d+/g, "counter");
}

describe("our jump comes after the admin's own drops (their ban set, their invalid-state drop still decide first)", () => {
  test("policy drop with a ban set: host2 (in allowFrom, but banned by the admin) stays out, host1 gets in; after a reboot too", async () => {
    const host2 = labHost(lab, "host2").address;
    const conf = adminConf(`\tset banned {
\t\ttype ipv4_addr
\t\telements = { ${host2} }
\t}
\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t\tct state invalid drop
\t\tip saddr @banned drop
\t\tct state established,related accept
\t\tiif "lo" accept
\t\ttcp dport 2400 accept
\t}`);
    await setAdminConf("host3", conf);
    const conn = connectionFor(lab, "host3");
    const facet = firewallOf("host3");
    await runFacet(conn, facet, "apply");
    expect((await probe(conn, facet)).differences).toEqual([]);
    // Before: the jump was rule 1, so the ban did not apply to the MPI ports (host2 connected).
    expect(await reachable("host3")).toEqual({ host1: "connected", host2: "timeout" });
    expect(await inputChain("host3")).toMatch(/tcp dport 2400 accept\n\t\tjump mpi_hosts comment "mpi-hosts"\n\t}/);
    const again = await runFacet(conn, facet, "apply");
    expect(again.stderr).toContain("no change");

    await closeAll();
    await rebootHost(lab, "host3");
    expect(await inputChain("host3")).toMatch(/tcp dport 2400 accept\n\t\tjump mpi_hosts comment "mpi-hosts"\n\t}/);
    expect(await reachable("host3")).toEqual({ host1: "connected", host2: "timeout" });
    expect((await probe(conn, facet)).differences).toEqual([]);
    await runFacet(conn, facet, "remove");
    expect(await rootOk(lab, "host3", "cat /etc/nftables.conf")).toBe(conf);
  });

  test("policy accept with a catch-all reject last: the jump goes just before it (apply, and the boot after a reboot)", async () => {
    const conf = adminConf(`\tchain input {
\t\ttype filter hook input priority filter; policy accept;
\t\tct state established,related accept
\t\tiif "lo" accept
\t\ttcp dport 2400 accept
\t\tcounter reject with icmpx admin-prohibited
\t}`);
    await setAdminConf("host3", conf);
    const conn = connectionFor(lab, "host3");
    const facet = firewallOf("host3");
    await runFacet(conn, facet, "apply");
    const placed = /tcp dport 2400 accept\n\t\tjump mpi_hosts comment "mpi-hosts"\n\t\tcounter reject with icmpx (type )?admin-prohibited\n\t}/;
    expect(await inputChain("host3")).toMatch(placed);
    expect(await reachable("host3")).toEqual({ host1: "connected", host2: "connected" });
    expect((await probe(conn, facet)).differences).toEqual([]);

    // Moved to rule 1 by hand (the old place): drift names it, apply puts it back.
    await rootOk(
      lab,
      "host3",
      `h=$(nft -a list chain inet filter input | sed -n 's/.*jump mpi_hosts comment "mpi-hosts" # handle //p')
nft delete rule inet filter input handle "$h" && nft insert rule inet filter input jump mpi_hosts comment '"mpi-hosts"'`,
    );
    const { state } = await probe(conn, facet);
    expect(state.effective).toBe(
      "nftables: table inet filter, chain input jumps to our chain mpi_hosts at rule 1, where it belongs at rule 4 (after their rules, before a last drop or reject), so it either lets MPI traffic past their own drops or comes after their catch-all (apply moves the jump)",
    );
    await runFacet(conn, facet, "apply");
    expect(await inputChain("host3")).toMatch(placed);

    await closeAll();
    await rebootHost(lab, "host3");
    expect(await inputChain("host3")).toMatch(placed);
    expect((await probe(conn, facet)).differences).toEqual([]);
    await runFacet(conn, facet, "remove");
    expect(await rootOk(lab, "host3", "cat /etc/nftables.conf")).toBe(conf);
    expect(await inputChain("host3")).not.toContain("mpi_hosts");
  });
});

describe("a chain named in config (firewall.nftables): the jump goes there, not into the input chain mpi-hosts would pick", () => {
  const conf = adminConf(`\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t\tct state established,related accept
\t\tiif "lo" accept
\t\tjump tcp_in
\t}
\tchain tcp_in {
\t\ttcp dport 2400 accept
\t}`);

  test("apply puts the jump into chain tcp_in (input untouched), the cluster gets in, remove gives the ruleset back", async () => {
    await setAdminConf("host4", conf);
    const before = await rootOk(lab, "host4", "nft list ruleset");
    const conn = connectionFor(lab, "host4");
    const facet = firewallOf("host4", { nftables: { table: "inet filter", chain: "tcp_in" } });
    await runFacet(conn, facet, "apply");
    expect((await probe(conn, facet)).differences).toEqual([]);
    expect(await rootOk(lab, "host4", "nft list chain inet filter tcp_in")).toContain(
      '\t\ttcp dport 2400 accept\n\t\tjump mpi_hosts comment "mpi-hosts"\n\t}',
    );
    expect(await inputChain("host4")).not.toContain("mpi_hosts");
    expect(await reachable("host4")).toEqual({ host1: "connected", host2: "connected" });
    await runFacet(conn, facet, "remove");
    expect(await rootOk(lab, "host4", "nft list ruleset")).toBe(before);
  });

  test("a chain the host does not have: the probe says so, and apply fails naming host, table and chain, changing nothing", async () => {
    await setAdminConf("host4", conf);
    const before = await rootOk(lab, "host4", "nft list ruleset");
    const conn = connectionFor(lab, "host4");
    const facet = firewallOf("host4", { nftables: { table: "inet filter", chain: "services" } });
    const message =
      "nftables: host host4 has no chain services in table inet filter, which firewall.nftables names as the chain to jump to the MPI rules from; name a chain of that table (nft list table inet filter)";
    expect((await probe(conn, facet)).state.effective).toBe(message);
    await expect(runFacet(conn, facet, "apply")).rejects.toThrow(message);
    expect(await rootOk(lab, "host4", "nft list ruleset")).toBe(before);
  });
});
