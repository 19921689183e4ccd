/**
 * The nftables backend against rulesets a careful admin writes (issue 13, review): real nftables on lab hosts, checked
 * with plain tools (nft, TCP connections) and after simulated reboots (lab/lab.ts rebootHost).
 *   host1, host2: the cluster (allowFrom: both /32s); host3: trixie, host4: bookworm, each with the lab's Debian-style
 *   /etc/nftables.conf (table inet filter, input policy drop, nftables.service enabled), changed per test as an admin
 *   would.
 *   npx jest test/lab/nftablesAdmin.test.ts --selectProjects lab --runInBand
 */
import * as fs from "fs";
import * as path from "path";
import { Cluster } from "../../components/config/types";
import { RenderedFacet } from "../../components/facets/facet";
import { closeAll } from "../../components/provider/remote";
import { Lab, rebootHost, startLab, stopLab } from "../../lab/lab";
import { connectionFor, probe, runFacet } from "../../lab/harness/facetRunner";
import { labHost, rootOk } from "../../lab/harness/labHelpers";
import { firewallFacetOf, labCluster } from "../../lab/harness/labCluster";
import { connect as connectFrom, startListeners } from "./support/traffic";

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

/** The lab's cluster with the MPI ports allowed from host1 and host2, and `extra` firewall settings. */
function adminCluster(extra: Record<string, unknown> = {}): Cluster {
  const allowFrom = [`${labHost(lab, "host1").address}/32`, `${labHost(lab, "host2").address}/32`];
  return labCluster(lab, { firewall: { backend: "auto", allowFrom, ...extra } });
}

function firewallOf(host: string, extra: Record<string, unknown> = {}): RenderedFacet {
  const cluster = adminCluster(extra);
  return firewallFacetOf(cluster, host);
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
const listen = (host: string) => startListeners(lab, host, [BTL]).then(() => undefined);

/** How a TCP connection from `from` to `to`'s BTL port ends: connected, timeout (dropped) or the error's name. */
const connect = (from: string, to: string) =>
  connectFrom(lab, from, to, BTL).then((end) => (end.startsWith("connected ") ? "connected" : end));

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
    const placed =
      /tcp dport 2400 accept\n\t\tjump mpi_hosts comment "mpi-hosts"\n\t\tcounter reject with icmpx (type )?admin-prohibited\n\t}/;
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

describe("a jump placed by position at boot, and an admin who took rules out of the file since", () => {
  test("the probe names what nft -c says of the boot file before a reboot would load none of it", async () => {
    const rules = [
      "ct state established,related accept",
      'iif "lo" accept',
      "ct state invalid drop",
      "tcp dport 2400 accept",
      "counter reject with icmpx admin-prohibited",
    ];
    const conf = (lines: string[]) =>
      adminConf(
        `\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n${lines.map((l) => `\t\t${l}\n`).join("")}\t}`,
      );
    await setAdminConf("host3", conf(rules));
    const conn = connectionFor(lab, "host3");
    const facet = firewallOf("host3");
    await runFacet(conn, facet, "apply");
    expect(await rootOk(lab, "host3", "grep 'jump mpi_hosts' /etc/mpi-hosts/firewall.nft")).toBe(
      'insert rule inet filter input index 4 jump mpi_hosts comment "mpi-hosts"\n',
    );
    // The admin takes two rules out of the file and does not load it yet; the running rules are as before.
    const edited = `${conf([rules[0], rules[3], rules[4]]).replace(/\n$/, "")}\n# BEGIN mpi-hosts managed block\ninclude "/etc/mpi-hosts/[f]irewall.nft"\n# END mpi-hosts managed block\n`;
    await rootOk(lab, "host3", "cat >/etc/nftables.conf", edited);
    const { state } = await probe(conn, facet);
    expect(state.effective).toBe("open");
    expect(state.boot).toMatch(
      /^not persistent: nft -c rejects \/etc\/nftables.conf as the boot would load it, so a reboot would load none of it: .*index 4/s,
    );
    await rootOk(lab, "host3", "cat >/etc/nftables.conf", conf(rules));
    await runFacet(conn, facet, "remove");
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

/** Every path under /etc with its type, mode and link target, and every regular file's sha256. */
const ETC_SNAPSHOT =
  "find /etc -xdev -printf '%y %m %p %l\\n' | LC_ALL=C sort; find /etc -xdev -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum";
const DEBIAN_DROP = adminConf(`\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t\tct state established,related accept
\t\tiif "lo" accept
\t\ttcp dport 2400 accept
\t}`);

/** Apply, the boot persistent, a reboot (nothing of mpi-hosts runs), the rules still there, remove: /etc as before. */
async function persistsThroughReboot(host: string, check: () => Promise<void>): Promise<void> {
  const conn = connectionFor(lab, host);
  const facet = firewallOf(host);
  const etcBefore = await rootOk(lab, host, ETC_SNAPSHOT);
  await runFacet(conn, facet, "apply");
  expect((await probe(conn, facet)).state).toMatchObject({ boot: "persistent", effective: "open" });
  await check();
  await closeAll();
  await rebootHost(lab, host);
  expect((await probe(conn, facet)).differences).toEqual([]);
  expect((await reachable(host)).host1).toBe("connected");
  await runFacet(conn, facet, "remove");
  expect(await rootOk(lab, host, ETC_SNAPSHOT)).toBe(etcBefore);
}

describe("what nftables.service really loads at boot, as systemctl answers", () => {
  afterEach(async () => {
    await rootOk(
      lab,
      "host4",
      "systemctl unmask nftables.service >/dev/null 2>&1; rm -rf /etc/systemd/system/nftables.service.d /etc/nft-site.conf /etc/systemd/system/nftables.service /etc/sysconfig/nftables.conf /etc/systemd/system/multi-user.target.wants/nftables.service; systemctl enable nftables.service >/dev/null 2>&1",
    );
    await setAdminConf("host4", DEBIAN_DROP);
  });

  test("nftables.service masked (its wants link still there): a unit of ours, not an include in a file nothing loads", async () => {
    await setAdminConf("host4", DEBIAN_DROP);
    expect(
      await rootOk(lab, "host4", "systemctl mask nftables.service >/dev/null 2>&1; systemctl is-enabled nftables.service || true"),
    ).toBe("masked\n");
    const conn = connectionFor(lab, "host4");
    const facet = firewallOf("host4");
    // Before: the wants link read as "enabled", the include went into /etc/nftables.conf and the probe said persistent.
    expect((await probe(conn, facet)).state.boot).toBe(
      "not persistent: no unit /etc/systemd/system/mpi-hosts-nftables.service loads the MPI rules at boot (apply writes and enables it)",
    );
    await persistsThroughReboot("host4", async () => {
      expect(await rootOk(lab, "host4", "grep -c 'mpi-hosts' /etc/nftables.conf || true")).toBe("0\n");
      expect(await rootOk(lab, "host4", "readlink /etc/systemd/system/multi-user.target.wants/mpi-hosts-nftables.service")).toBe(
        "/etc/systemd/system/mpi-hosts-nftables.service\n",
      );
    });
  });

  test("a drop-in whose ExecStart loads another file: the include goes into that file", async () => {
    await rootOk(
      lab,
      "host4",
      "mkdir -p /etc/systemd/system/nftables.service.d && printf '[Service]\\nExecStart=\\nExecStart=/usr/sbin/nft -f /etc/nft-site.conf\\n' >/etc/systemd/system/nftables.service.d/site.conf && cat >/etc/nft-site.conf && nft -f /etc/nft-site.conf",
      DEBIAN_DROP,
    );
    // Before: the include went into /etc/nftables.conf, which this boot does not load; after a reboot the ports were shut.
    await persistsThroughReboot("host4", async () => {
      expect(await rootOk(lab, "host4", "grep -c 'mpi-hosts' /etc/nftables.conf || true")).toBe("0\n");
      expect(await rootOk(lab, "host4", "grep -c -x 'include \"/etc/mpi-hosts/\\[f\\]irewall.nft\"' /etc/nft-site.conf")).toBe("1\n");
    });
  });

  test("RHEL's nftables.service, which loads /etc/sysconfig/nftables.conf: the include goes there", async () => {
    // RHEL 9's unit and its default /etc/sysconfig/nftables.conf (from the nftables package), on this Debian host.
    const unit = fs.readFileSync(path.join(__dirname, "../fixtures/rhel9-nftables.service"), "utf8");
    const sysconfig = `# Uncomment the include statement here to load the default config sample
# in /etc/nftables for nftables service.

#include "/etc/nftables/main.nft"

# To customize, either edit the samples in /etc/nftables, append further
# commands to the end of this file or overwrite it after first service
# start by calling: 'nft list ruleset >/etc/sysconfig/nftables.conf'.
`;
    await rootOk(lab, "host4", "cat >/etc/systemd/system/nftables.service && systemctl enable nftables.service >/dev/null 2>&1", unit);
    await rootOk(lab, "host4", "mkdir -p /etc/sysconfig && cat >/etc/sysconfig/nftables.conf && nft flush ruleset", sysconfig);
    await persistsThroughReboot("host4", async () => {
      expect(await rootOk(lab, "host4", "grep -c 'mpi-hosts' /etc/nftables.conf || true")).toBe("0\n");
      expect(await rootOk(lab, "host4", "tail -n 3 /etc/sysconfig/nftables.conf")).toBe(
        '# BEGIN mpi-hosts managed block\ninclude "/etc/mpi-hosts/[f]irewall.nft"\n# END mpi-hosts managed block\n',
      );
    });
  });
});

describe("the admin's nftables.conf, byte for byte", () => {
  afterAll(async () => {
    await setAdminConf("host4", DEBIAN_DROP);
  });

  test("a file without a final newline: remove takes out the newline apply had to add", async () => {
    const noNewline = DEBIAN_DROP.replace(/\n$/, "");
    await setAdminConf("host4", noNewline);
    const conn = connectionFor(lab, "host4");
    const facet = firewallOf("host4");
    await runFacet(conn, facet, "apply");
    expect(await rootOk(lab, "host4", "tail -n 5 /etc/nftables.conf")).toBe(
      '}\n# BEGIN mpi-hosts managed block\n# (mpi-hosts added the newline at the end of the line above; remove takes it out again)\ninclude "/etc/mpi-hosts/[f]irewall.nft"\n# END mpi-hosts managed block\n',
    );
    expect((await probe(conn, facet)).differences).toEqual([]);
    expect((await runFacet(conn, facet, "apply")).stderr).toContain("no change");
    await runFacet(conn, facet, "remove");
    // Before: the file ended "}\n", one byte more than the admin's.
    expect(await rootOk(lab, "host4", "cat /etc/nftables.conf")).toBe(noNewline);
  });

  test("`nft list ruleset > /etc/nftables.conf` after apply saved copies of our rules: probe, apply and remove name the file and lines", async () => {
    await setAdminConf("host4", DEBIAN_DROP);
    const conn = connectionFor(lab, "host4");
    const facet = firewallOf("host4");
    await runFacet(conn, facet, "apply");
    await rootOk(
      lab,
      "host4",
      "{ echo 'flush ruleset'; nft list ruleset; } >/etc/nftables.conf.new && mv /etc/nftables.conf.new /etc/nftables.conf",
    );
    const why = new RegExp(
      `/etc/nftables.conf holds copies of the rules of mpi-hosts outside its mpi-hosts block, as \`nft list ruleset > /etc/nftables.conf\` saves them \\(lines [0-9, ]+\\); at boot they would load besides the include of mpi-hosts \\(a second jump\\), and remove could not take them out. Take those lines out of /etc/nftables.conf`,
    );
    const { state } = await probe(conn, facet);
    expect(state.boot).toMatch(why);
    // The lines named are the copies: our table, our chain in theirs, the jump to it.
    const named = /\(lines ([0-9, ]+)\)/.exec(String(state.boot))![1].split(", ");
    const text = await rootOk(lab, "host4", named.map((n) => `sed -n ${n}p /etc/nftables.conf`).join("; "));
    expect(text.replace(/\t/g, "").split("\n").filter(Boolean).sort()).toEqual(
      ["chain mpi_hosts {", 'jump mpi_hosts comment "mpi-hosts"', "table inet mpi_hosts {"].sort(),
    );
    // Before: apply put its include back after the copies; a reboot loaded two jumps, and remove left the copies.
    await expect(runFacet(conn, facet, "apply")).rejects.toThrow(why);
    await expect(runFacet(conn, facet, "remove")).rejects.toThrow(why);
    // What could go went: the running rules and the include.
    expect(await rootOk(lab, "host4", "nft list ruleset")).not.toContain("mpi_hosts");
    // The admin takes the copies out (here: the file as it was), and remove has nothing left to say.
    await setAdminConf("host4", DEBIAN_DROP);
    await runFacet(conn, facet, "remove");
  });
});

describe("temp files and directories of ours", () => {
  afterEach(async () => {
    await rootOk(lab, "host4", "rm -f /usr/local/sbin/nft");
    await runFacet(connectionFor(lab, "host4"), firewallOf("host4"), "remove");
  });

  test.each([
    ["the ruleset loaded at run time (/tmp)", "/tmp/mpi-hosts-nft."],
    ["our boot-time file (/etc/mpi-hosts)", "/etc/mpi-hosts/.mpi-hosts."],
    ["nftables.conf with our include (/etc)", "/etc/.mpi-hosts."],
  ])("an apply killed while nft -c checks %s leaves no temp file", async (_label, prefix) => {
    await setAdminConf("host4", DEBIAN_DROP);
    // A stand-in nft first on the scripts' PATH: on the check of that file it kills the apply's process group, as a
    // Ctrl-C or a killed ssh session would; every other call goes to the real nft.
    await rootOk(
      lab,
      "host4",
      `cat >/usr/local/sbin/nft <<'EOF'
#!/bin/sh
case "$*" in "-c -f ${prefix}"*) kill -TERM 0; sleep 5 ;; esac
exec /usr/sbin/nft "$@"
EOF
chmod 755 /usr/local/sbin/nft`,
    );
    await expect(runFacet(connectionFor(lab, "host4"), firewallOf("host4"), "apply")).rejects.toThrow();
    // Before: the temp file stayed (no trap removed it).
    expect(await rootOk(lab, "host4", "ls -a /tmp /etc /etc/mpi-hosts 2>/dev/null | grep -c '^\\.\\?mpi-hosts[-.]' || true")).toBe("0\n");
  });

  test("directories apply makes are 755, as the distro's own under /etc (the scripts run with umask 077)", async () => {
    await setAdminConf("host4", DEBIAN_DROP);
    await rootOk(
      lab,
      "host4",
      "systemctl disable nftables.service >/dev/null 2>&1; mv /etc/systemd/system/multi-user.target.wants /root/mu-away",
    );
    try {
      await runFacet(connectionFor(lab, "host4"), firewallOf("host4"), "apply");
      expect(await rootOk(lab, "host4", "stat -c '%a %n' /etc/systemd/system/multi-user.target.wants /etc/mpi-hosts")).toBe(
        "755 /etc/systemd/system/multi-user.target.wants\n755 /etc/mpi-hosts\n",
      );
    } finally {
      await runFacet(connectionFor(lab, "host4"), firewallOf("host4"), "remove");
      await rootOk(
        lab,
        "host4",
        "rm -rf /etc/systemd/system/multi-user.target.wants && mv /root/mu-away /etc/systemd/system/multi-user.target.wants && systemctl enable nftables.service >/dev/null 2>&1",
      );
    }
  });
});
