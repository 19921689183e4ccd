/**
 * Firewall persistence on real lab hosts (issue 13): after apply and a reboot (lab/lab.ts rebootHost: the network
 * namespace and every rule loaded at run time gone, then what the OS runs at boot: the host's firewall kind and its
 * enabled firewall units, lab/bootUnits.ts), the MPI ports are open to the cluster and closed to others again
 * without running anything of mpi-hosts; after remove and a reboot, none of our rules come back and /etc is as it
 * was, byte for byte. One host per way of persisting, firewallBackend auto everywhere:
 *   host3 iptables DROP + netfilter-persistent (rules.v4)    host4 iptables DROP, no netfilter-persistent (our unit)
 *   host5 nftables.service enabled (/etc/nftables.conf)       host6 nftables, service not enabled (our unit)
 *   host7 ufw (persists by itself)
 *   host8 nftables-debian: /etc/nftables.conf with table inet filter, input policy drop (our chain in their table too)
 *   host9 nftables-foreign: stock inet filter plus a table ip guard that drops (our chain in table ip guard)
 *   host10 both: iptables DROP saved for netfilter-persistent and a Debian nftables.conf that drops (backend iptables:
 *     rules.v4, and our chain in table inet filter from an include of firewall-guests.nft)
 * host1 is the cluster (allowFrom), host2 everyone else. firewalld and pf: only test doubles exist here, and a double
 * cannot show what a real boot loads, so they have no reboot test.
 *   npx jest --selectProjects lab --runInBand test/lab/persistence.test.ts
 */
import * as fs from "fs";
import { describeDifferences } from "../../components/facets/compare";
import { RenderedFacet } from "../../components/facets/facet";
import { closeAll } from "../../components/provider/remote";
import { debianDropNftablesConf } from "../../lab/firewallKinds";
import { fetchDebs } from "../../lab/debianPackages";
import { Lab, rebootHost, startLab, stopLab } from "../../lab/lab";
import { connectionFor, probe, runFacet } from "../../lab/harness/facetRunner";
import { rootOk } from "../../lab/harness/labHelpers";
import { Timings } from "./support/timings";
import { reach, startListeners } from "./support/traffic";
import { firewallFacetOf, firewallTestCluster } from "../../lab/harness/labCluster";

jest.setTimeout(600000);

const LAB = "ps1";
const BTL = 50050;
const OOB = 50150;

let lab: Lab;
const timings = new Timings("persistence.test.ts timings");
const timed = <T>(label: string, fn: () => Promise<T>) => timings.time(label, fn);

beforeAll(async () => {
  lab = await timed("lab up (9 hosts)", () =>
    startLab({
      name: LAB,
      hosts: 10,
      firewall: ["none", "none", "iptables", "iptables", "none", "none", "ufw", "nftables-debian", "nftables-foreign", "none"],
    }),
  );
});
afterAll(async () => {
  await closeAll();
  await stopLab(LAB);
  timings.print();
});

function firewallOf(host: string): RenderedFacet {
  const cluster = firewallTestCluster(lab);
  return firewallFacetOf(cluster, host);
}

// ---------------------------------------------------------------------------------------------------------------
// Looking at a host with plain tools.

/** Every path under /etc with its type, mode and link target, and every regular file's sha256. */
const ETC_SNAPSHOT =
  "find /etc -xdev -printf '%y %m %p %l\\n' | LC_ALL=C sort; find /etc -xdev -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum";
/** The running rules of every table, counters aside. */
const RULESET =
  "iptables-save | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]/[0:0]/'; echo ---; nft list ruleset | sed 's/counter packets [0-9]* bytes [0-9]*/counter/'";

/** A listener in each MPI range on `host`, as root; started anew after each reboot. */
const listen = (host: string) => startListeners(lab, host, [BTL, OOB]).then(() => undefined);

/** The TCP matrix for one target: the cluster (host1) gets in on both ranges, everyone else (host2) does not. */
async function matrix(target: string): Promise<Record<string, string>> {
  await listen(target);
  const ends = await reach(lab, target, ["host1", "host2"], { btl: BTL, oob: OOB });
  // "connected" whatever the listener said first: the matrix is about the firewall.
  return Object.fromEntries(Object.entries(ends).map(([k, end]) => [k, end.startsWith("connected ") ? "connected" : end]));
}
const OPEN_TO_CLUSTER_ONLY = { "host1 btl": "connected", "host1 oob": "connected", "host2 btl": "timeout", "host2 oob": "timeout" };

/** Debian's netfilter-persistent and iptables-persistent (Architecture: all), fetched once into the lab cache. */
const persistentPackages = () => fetchDebs(["netfilter-persistent", "iptables-persistent"]);

// ---------------------------------------------------------------------------------------------------------------
// How each host's admin set it up, before mpi-hosts comes.

const SETUP: Record<string, () => Promise<void>> = {
  // The lab's iptables kind (INPUT DROP, SSH only), saved for netfilter-persistent as an admin does after install.
  host3: async () => {
    for (const deb of persistentPackages()) {
      await rootOk(
        lab,
        "host3",
        `base64 -d >/tmp/p.deb && dpkg -i /tmp/p.deb >/dev/null 2>&1 && rm /tmp/p.deb`,
        fs.readFileSync(deb).toString("base64"),
      );
    }
    await rootOk(lab, "host3", "netfilter-persistent save >/dev/null 2>&1; test -s /etc/iptables/rules.v4");
  },
  host4: async () => undefined,
  // Debian's stock /etc/nftables.conf (it comes with the package), enabled and started as `systemctl enable --now
  // nftables` does.
  host5: async () => {
    await rootOk(lab, "host5", "systemctl enable nftables.service && nft -f /etc/nftables.conf");
  },
  host6: async () => undefined,
  host7: async () => undefined,
  host8: async () => undefined,
  host9: async () => undefined,
  // Both at once, each loaded at boot by its own unit in systemd's order: nftables.service (sysinit, its `flush
  // ruleset` first), then netfilter-persistent (multi-user) with the iptables rules an admin saved.
  host10: async () => {
    await rootOk(
      lab,
      "host10",
      "cat >/etc/nftables.conf && systemctl enable nftables.service >/dev/null 2>&1 && nft -f /etc/nftables.conf",
      debianDropNftablesConf(2400),
    );
    await rootOk(
      lab,
      "host10",
      "iptables-restore <<'RULES'\n*filter\n:INPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n-A INPUT -p tcp --dport 2400 -j ACCEPT\nCOMMIT\nRULES",
    );
    for (const deb of persistentPackages()) {
      await rootOk(
        lab,
        "host10",
        `base64 -d >/tmp/p.deb && dpkg -i /tmp/p.deb >/dev/null 2>&1 && rm /tmp/p.deb`,
        fs.readFileSync(deb).toString("base64"),
      );
    }
    // Saved, then loaded as the boot loads it (the saved file declares FORWARD and OUTPUT too).
    await rootOk(
      lab,
      "host10",
      "netfilter-persistent save >/dev/null 2>&1 && test -s /etc/iptables/rules.v4 && netfilter-persistent start >/dev/null 2>&1",
    );
  },
};

/** What each host's boot uses to bring our rules back, checked with plain tools after apply. */
const PERSISTED: Record<string, string> = {
  host3: "grep -c -x -e ':MPI-HOSTS - \\[0:0\\]' -e '-A INPUT -j MPI-HOSTS' /etc/iptables/rules.v4",
  host4: "readlink /etc/systemd/system/multi-user.target.wants/mpi-hosts-iptables.service",
  host5: "grep -c -x 'include \"/etc/mpi-hosts/\\[f\\]irewall.nft\"' /etc/nftables.conf",
  host6: "readlink /etc/systemd/system/multi-user.target.wants/mpi-hosts-nftables.service",
  host7: "grep -c -e '^-A ufw-user-input .*--dports* 50000:50099' /etc/ufw/user.rules",
  host8:
    "cat /etc/nftables.conf /etc/mpi-hosts/firewall.nft | grep -c -x -e 'include \"/etc/mpi-hosts/\\[f\\]irewall.nft\"' -e 'add rule inet filter input jump mpi_hosts comment \"mpi-hosts\"'",
  host9: "grep -c -x 'add rule ip guard input jump mpi_hosts comment \"mpi-hosts\"' /etc/mpi-hosts/firewall.nft",
  host10:
    "cat /etc/nftables.conf /etc/mpi-hosts/firewall-guests.nft /etc/iptables/rules.v4 | grep -c -x -e 'include \"/etc/mpi-hosts/\\[f\\]irewall-guests.nft\"' -e 'add rule inet filter input jump mpi_hosts comment \"mpi-hosts\"' -e '-A INPUT -j MPI-HOSTS'",
};
const PERSISTED_OUTPUT: Record<string, string> = {
  host3: "2",
  host4: "/etc/systemd/system/mpi-hosts-iptables.service",
  host5: "1",
  host6: "/etc/systemd/system/mpi-hosts-nftables.service",
  host7: "2",
  host8: "2",
  host9: "1",
  host10: "3",
};

describe.each([
  { host: "host3", way: "iptables: chain and jump in /etc/iptables/rules.v4 (netfilter-persistent)", backend: "iptables" },
  { host: "host4", way: "iptables: a unit of our own (no netfilter-persistent)", backend: "iptables" },
  { host: "host5", way: "nftables: an include in /etc/nftables.conf (nftables.service enabled)", backend: "nftables" },
  { host: "host6", way: "nftables: a unit of our own (nftables.service not enabled)", backend: "nftables" },
  { host: "host7", way: "ufw: its own saved rules", backend: "ufw" },
  {
    host: "host8",
    way: "nftables, a Debian drop table in /etc/nftables.conf: our chain in it, from the include",
    backend: "nftables",
  },
  { host: "host9", way: "nftables, a foreign table that drops: our chain in it, from the include", backend: "nftables" },
  {
    host: "host10",
    way: "iptables with netfilter-persistent and a Debian nftables.conf that drops: rules.v4, and our chain in inet filter from an include",
    backend: "iptables",
  },
])("$way", ({ host, backend }) => {
  test("open after a reboot without mpi-hosts; after remove and a reboot nothing of ours comes back, /etc byte for byte", async () => {
    await SETUP[host]();
    const conn = connectionFor(lab, host);
    const facet = firewallOf(host);
    const etcBefore = await rootOk(lab, host, ETC_SNAPSHOT);
    const rulesBefore = await rootOk(lab, host, RULESET);

    await timed(`${host} apply`, () => runFacet(conn, facet, "apply"));
    const applied = await probe(conn, facet);
    expect(applied.state).toMatchObject({ backend, boot: "persistent" });
    expect(applied.differences).toEqual([]);
    expect((await rootOk(lab, host, PERSISTED[host])).trim()).toBe(PERSISTED_OUTPUT[host]);

    await closeAll(); // the pooled SSH connection dies with the host
    await timed(`${host} reboot`, () => rebootHost(lab, host));
    expect(await timed(`${host} TCP matrix after reboot`, () => matrix(host))).toEqual(OPEN_TO_CLUSTER_ONLY);
    expect((await probe(conn, facet)).differences).toEqual([]);
    const again = await runFacet(conn, facet, "apply");
    expect(again.stderr).toContain("no change");
    expect(await rootOk(lab, host, ETC_SNAPSHOT)).not.toBe(etcBefore);

    await timed(`${host} remove`, () => runFacet(conn, facet, "remove"));
    expect(await rootOk(lab, host, ETC_SNAPSHOT)).toBe(etcBefore);
    await closeAll();
    await timed(`${host} reboot after remove`, () => rebootHost(lab, host));
    expect(await rootOk(lab, host, RULESET)).toBe(rulesBefore);
    expect(await rootOk(lab, host, ETC_SNAPSHOT)).toBe(etcBefore);
  });
});

describe("drift", () => {
  test("a host whose rules are open but whose boot would not load them is named 'open now but not persistent'; apply repairs it", async () => {
    const conn = connectionFor(lab, "host6");
    const facet = firewallOf("host6");
    await runFacet(conn, facet, "apply");
    // By hand, as `systemctl disable mpi-hosts-nftables` would.
    await rootOk(lab, "host6", "rm /etc/systemd/system/multi-user.target.wants/mpi-hosts-nftables.service");
    const { state, differences } = await probe(conn, facet);
    expect(differences.map((d) => d.key)).toEqual(["boot"]);
    expect(state.effective).toBe("open");
    expect(describeDifferences(differences)).toBe(
      "boot: open now but not persistent: unit /etc/systemd/system/mpi-hosts-nftables.service is not enabled " +
        "(no link /etc/systemd/system/multi-user.target.wants/mpi-hosts-nftables.service), so it does not run at boot (apply enables it)",
    );
    const repaired = await runFacet(conn, facet, "apply");
    expect(repaired.stderr).toContain("enabled /etc/systemd/system/mpi-hosts-nftables.service");
    expect((await probe(conn, facet)).differences).toEqual([]);
    await runFacet(conn, facet, "remove");
  });
});

describe("the admin's /etc/nftables.conf (host5: Debian's stock file, nftables.service enabled)", () => {
  test("a linked nftables.conf stays a link: our block goes into the file it points to, with that file's mode; remove gives /etc back", async () => {
    await rootOk(
      lab,
      "host5",
      "mkdir -p /etc/fw-repo && mv /etc/nftables.conf /etc/fw-repo/nftables.conf && chmod 640 /etc/fw-repo/nftables.conf && ln -s /etc/fw-repo/nftables.conf /etc/nftables.conf",
    );
    const conn = connectionFor(lab, "host5");
    const facet = firewallOf("host5");
    const etcBefore = await rootOk(lab, "host5", ETC_SNAPSHOT);
    await runFacet(conn, facet, "apply");
    // Before: the link was replaced by a regular file of the link's mode, 777: world-writable, loaded by root at boot.
    expect(await rootOk(lab, "host5", "readlink /etc/nftables.conf; stat -c %a /etc/fw-repo/nftables.conf")).toBe(
      "/etc/fw-repo/nftables.conf\n640\n",
    );
    expect((await rootOk(lab, "host5", PERSISTED.host5)).trim()).toBe("1");
    await runFacet(conn, facet, "remove");
    expect(await rootOk(lab, "host5", ETC_SNAPSHOT)).toBe(etcBefore);
    await rootOk(lab, "host5", "rm /etc/nftables.conf && mv /etc/fw-repo/nftables.conf /etc/nftables.conf && rmdir /etc/fw-repo");
  });

  test("with /etc/mpi-hosts gone, the boot still loads the admin's own rules (the include matches nothing, and nft goes on)", async () => {
    const conn = connectionFor(lab, "host5");
    const facet = firewallOf("host5");
    await runFacet(conn, facet, "apply");
    await rootOk(lab, "host5", "mv /etc/mpi-hosts /root/mpi-hosts-away");
    try {
      await closeAll();
      await rebootHost(lab, "host5");
      // Before: `include "/etc/mpi-hosts/firewall.nft"` of a missing file failed the whole load: no table at all.
      expect(await rootOk(lab, "host5", "nft list tables")).toContain("table inet filter");
    } finally {
      await rootOk(lab, "host5", "mv /root/mpi-hosts-away /etc/mpi-hosts");
    }
    await runFacet(conn, facet, "remove");
  });
});
