/**
 * The macOS firewall facet (pf + Application Firewall) against how pfctl and socketfilterfw really behave (issue 18,
 * items 7, 9 and 10), and pf persistence across a reboot (issue 13). There is no Mac here: the facet's scripts run as
 * root on a real lab host, under dash and bash (macOS's /bin/sh is bash), against TEST DOUBLES of pfctl, launchctl,
 * socketfilterfw and sysctl and a SIMULATED BOOT (test/doubles/), each citing what it was checked against. The
 * doubles filter nothing; these tests prove what the scripts read and decide, and what a Mac's boot would load.
 *   npx jest --selectProjects lab --runTestsByPath test/lab/macos.test.ts --runInBand
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { loadClusterOrThrow, namespaceKeys } from "../../components/config/load";
import { decodeProbe, describeDifferences, diffStates } from "../../components/facets/compare";
import { RenderedFacet } from "../../components/facets/facet";
import { renderFirewall } from "../../components/facets/firewall";
import { shellQuote } from "../../components/templates/shellQuote";
import { Lab, renderLabStack, rootExec, startLab, stopLab } from "../../lab/lab";
import { rootOk } from "../../lab/harness/labHelpers";

jest.setTimeout(300000);

const LAB = "cm-mac";
const HOST = "host1";
const DOUBLES = path.resolve(__dirname, "../doubles");
const PREFIX = "/opt/anaconda";
const SFW = "/usr/libexec/ApplicationFirewall/socketfilterfw";
const STATE = "/var/lib/mpi-hosts-doubles";
const DAEMON = "org.mpi-hosts.pf-enable";
const PLIST = `/Library/LaunchDaemons/${DAEMON}.plist`;
/** Apple's /etc/pf.conf as macOS ships it, as users print it (since 10.10, which added dummynet-anchor). */
const STOCK_PF_CONF = `#
# Default PF configuration file.
#
# This file contains the main ruleset, which gets automatically loaded
# at startup.  PF will not be automatically enabled, however.  Instead,
# each component which utilizes PF is responsible for enabling and disabling
# PF via -E and -X as documented in pfctl(8).  That will ensure that PF
# is disabled only when the last enable reference is released.
#
# Care must be taken to ensure that the main ruleset does not get flushed,
# as the nested anchors rely on the anchor point defined here. In
# particular, establish this anchor point first before flushing the main
# ruleset.
#
# See pf.conf(5) for syntax.
#

#
# com.apple anchor point
#
scrub-anchor "com.apple/*"
nat-anchor "com.apple/*"
rdr-anchor "com.apple/*"
dummynet-anchor "com.apple/*"
anchor "com.apple/*"
load anchor "com.apple" from "/etc/pf.anchors/com.apple"
`;
/** Apple's /etc/pf.anchors/com.apple as krypted.com prints it, without its last line (a load anchor from a Server.app file). */
const STOCK_COM_APPLE = `#
# Default com.apple anchor point
#
scrub-anchor "100.InternetSharing/*"
scrub-anchor "300.NetworkLinkConditioner/*"
nat-anchor "100.InternetSharing/*"
rdr-anchor "100.InternetSharing/*"
anchor "100.InternetSharing/*"
anchor "200.AirDrop/*"
anchor "250.ApplicationFirewall/*"
dummynet-anchor "300.NetworkLinkConditioner/*"
anchor "300.NetworkLinkConditioner/*"
anchor "400.AdaptiveFirewall/*"
`;

describe("macOS pf and Application Firewall, as pfctl and socketfilterfw behave (issue 18)", () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await startLab({ name: LAB, hosts: 1, release: "trixie", firewall: "none" });
    for (const name of ["pfctl", "sysctl", "launchctl", "macos-boot"]) {
      await rootOk(
        lab,
        HOST,
        `cat >/usr/local/sbin/${name} && chmod 755 /usr/local/sbin/${name}`,
        fs.readFileSync(path.join(DOUBLES, name), "utf8"),
      );
    }
    // Our LaunchDaemon's script calls pfctl and sysctl by their macOS paths (/sbin/pfctl, /usr/sbin/sysctl): the
    // doubles take those places (Debian's /sbin is /usr/sbin), the real sysctl moves aside for the double to call.
    await rootOk(
      lab,
      HOST,
      "if [ -e /usr/sbin/sysctl ] && [ ! -L /usr/sbin/sysctl ]; then mv /usr/sbin/sysctl /usr/sbin/sysctl.real; fi\n" +
        "ln -sfn /usr/local/sbin/sysctl /usr/sbin/sysctl && ln -sfn /usr/local/sbin/pfctl /usr/sbin/pfctl && test -x /sbin/pfctl",
    );
    await rootOk(
      lab,
      HOST,
      `mkdir -p /usr/libexec/ApplicationFirewall && cat >${SFW} && chmod 755 ${SFW}`,
      fs.readFileSync(path.join(DOUBLES, "socketfilterfw"), "utf8"),
    );
    await rootOk(
      lab,
      HOST,
      `mkdir -p ${PREFIX}/bin && cd ${PREFIX}/bin && printf '#!/bin/sh\\n' >python3.12 && chmod 755 python3.12 && ln -s python3.12 python3`,
    );
  });
  afterAll(() => stopLab(LAB));

  /** The firewall facet of a Mac, allowing the MPI ports from `allowFrom` (or from anywhere). */
  function mac(allow: { allowFrom?: string[]; allowAnywhere?: boolean }, persist = true): RenderedFacet {
    const doc = parse(renderLabStack(lab)) as { config: Record<string, unknown> };
    // A fixed runtime range: with oobPorts ephemeral, validate refuses 0.0.0.0/0 (it would open 32768-65535 to all).
    const config = {
      ...doc.config,
      "mpi-hosts:mpi": { ...(doc.config["mpi-hosts:mpi"] as object), oobPorts: "50100-50199" },
      "mpi-hosts:firewall": { backend: "auto", ...allow },
    };
    const cluster = loadClusterOrThrow(namespaceKeys(config)).cluster;
    const h = cluster.hosts.find((x) => x.name === HOST)!;
    h.os = "macos";
    h.firewallBackend = "auto";
    h.pythonPrefix = PREFIX;
    h.firewallPersist = persist;
    return renderFirewall(cluster, h);
  }
  /** A Mac as it comes: Apple's pf.conf and com.apple anchor file, booted (pf off, the main ruleset loaded). */
  async function reset(setup = "", pfConf = STOCK_PF_CONF): Promise<void> {
    await rootOk(
      lab,
      HOST,
      `rm -rf ${STATE} /etc/pf.anchors /var/db/mpi-hosts /Library/LaunchDaemons && mkdir -p ${STATE} /etc/pf.anchors /Library/LaunchDaemons\n` +
        `printf '%s' ${shellQuote(pfConf)} >/etc/pf.conf && printf '%s' ${shellQuote(STOCK_COM_APPLE)} >/etc/pf.anchors/com.apple\n` +
        `chmod 644 /etc/pf.conf /etc/pf.anchors/com.apple && macos-boot >/dev/null\n${setup}\n: >${STATE}/calls.log`,
    );
  }
  const calls = async () => (await rootOk(lab, HOST, `cat ${STATE}/calls.log; : >${STATE}/calls.log`)).split("\n").filter(Boolean);
  const changes = (log: string[]) =>
    log.filter((l) => !/^pfctl( -a \S+)? -s (info|rules|References)$|^pfctl -n |^launchctl print|^socketfilterfw --get/.test(l));
  /** Runs the simulated boot; fails on any job that failed. */
  async function boot(): Promise<void> {
    const out = await rootOk(lab, HOST, "macos-boot");
    expect(out.split("\n").filter((l) => / failed| not loaded/.test(l))).toEqual([]);
  }
  const sha = (file: string) => rootOk(lab, HOST, `sha256sum ${file} | cut -d' ' -f1`);
  /** What is ours on the Mac besides pf.conf's block: files, loaded daemon, rules, references. */
  const ours = () =>
    rootOk(
      lab,
      HOST,
      `ls /etc/pf.anchors /Library/LaunchDaemons /var/db | grep -i mpi-hosts; launchctl print system/${DAEMON} >/dev/null 2>&1 && echo loaded; ` +
        "pfctl -a com.apple/mpi-hosts -s rules; pfctl -s References | tail -n +3; pfctl -s info | head -n 1 | cut -c1-16; true",
    );
  /** A reboot as pf sees it: runtime state (enabled, tokens, anchors) gone, token numbers handed out again. */
  const reboot = () =>
    rootOk(
      lab,
      HOST,
      `rm -rf ${STATE}/pfctl ${STATE}/launchctl/loaded; echo $(( $(cat ${STATE}/sysctl-boottime 2>/dev/null || echo 1764547200) + 86400 )) >${STATE}/sysctl-boottime`,
    );

  describe.each(["dash", "bash"])("under %s", (shell) => {
    const run = (f: RenderedFacet, kind: "probe" | "apply" | "remove") => rootExec(lab, HOST, `${shell} -s`, { input: f.scripts[kind] });
    async function ok(f: RenderedFacet, kind: "apply" | "remove"): Promise<string> {
      const r = await run(f, kind);
      if (r.code !== 0) throw new Error(`${kind} under ${shell} exited ${r.code}:\n${r.stderr}${r.stdout}`);
      return r.stderr;
    }
    async function probe(f: RenderedFacet) {
      const r = await run(f, "probe");
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
      const state = decodeProbe(r.stdout);
      return { state, differences: diffStates(f.desired as never, state as never) };
    }

    test("item 7: allowAnywhere converges: pfctl prints 0.0.0.0/0 as any, the read-back understands it, drift clears", async () => {
      const f = mac({ allowAnywhere: true, allowFrom: ["0.0.0.0/0"] });
      await reset();
      expect(f.files["pf/mpi-hosts"]).toContain("from 0.0.0.0/0 to any port 50000:50099");
      await ok(f, "apply");
      expect(await rootOk(lab, HOST, "pfctl -a com.apple/mpi-hosts -s rules")).toContain(
        "pass in quick inet proto tcp from any to any port 50000:50099 flags S/SA keep state\n",
      );
      expect(describeDifferences((await probe(f)).differences)).toBe("");
      expect(await ok(f, "apply")).toContain("firewall (pf): MPI ports already open to the cluster network only, no change");
      await ok(f, "remove");
    });

    test("item 10: pf already on with someone else's only reference: apply takes its own, so their release leaves pf filtering", async () => {
      const f = mac({ allowFrom: ["10.0.0.0/8"] });
      // Another component (a VPN, say) enabled pf with its own reference.
      await reset("pfctl -E >/dev/null 2>&1");
      const other = (await rootOk(lab, HOST, `cat ${STATE}/pfctl/tokens`)).trim();
      expect(describeDifferences((await probe(f)).differences)).toContain(
        "pf: pf is enabled, but mpi-hosts holds no pf enable reference of its own (pfctl -s References)",
      );
      const applied = await ok(f, "apply");
      expect(applied).toContain("pf: took a pf enable reference of our own (pfctl -E, reference 12884901890); pf was already on");
      expect(changes(await calls())).toContain("pfctl -E");
      expect((await probe(f)).differences).toEqual([]);
      // The other component lets go of its reference: pf stays on, because ours is still held.
      await rootOk(lab, HOST, `pfctl -X ${other} 2>/dev/null`);
      expect(await rootOk(lab, HOST, "pfctl -s info | head -n 1 | cut -c1-15")).toBe("Status: Enabled\n");
      expect((await probe(f)).differences).toEqual([]);
      await calls();
      await ok(f, "remove");
      expect(changes(await calls())).toEqual([
        "pfctl -a com.apple/mpi-hosts -F rules",
        `launchctl bootout system/${DAEMON}`,
        "pfctl -X 12884901890",
      ]);
      expect(await rootOk(lab, HOST, "pfctl -s info | head -n 1 | cut -c1-16")).toBe("Status: Disabled\n");
    });

    test("item 10: after a reboot the old token is never released: its number may be someone else's now", async () => {
      const f = mac({ allowFrom: ["10.0.0.0/8"] });
      await reset();
      await ok(f, "apply");
      expect(await rootOk(lab, HOST, "sed -n 3p /var/db/mpi-hosts/pf-token")).toBe("12884901889\n");
      await reboot();
      // After the reboot another component enables pf first and is handed the same number.
      await rootOk(lab, HOST, "pfctl -E >/dev/null 2>&1");
      expect((await rootOk(lab, HOST, `cat ${STATE}/pfctl/tokens`)).trim()).toBe("12884901889");
      expect(describeDifferences((await probe(f)).differences)).toContain("mpi-hosts holds no pf enable reference of its own");
      await calls();
      const removed = await ok(f, "remove");
      expect(removed).toContain("pf: the enable reference apply took is gone (a reboot, or released by hand): nothing to release");
      expect(changes(await calls()).filter((l) => l.startsWith("pfctl -X"))).toEqual([]);
      expect(await rootOk(lab, HOST, `cat ${STATE}/pfctl/tokens; pfctl -s info | head -n 1 | cut -c1-15`)).toBe(
        "12884901889\nStatus: Enabled\n",
      );
    });

    test("issue 13: apply persists pf the way a Mac boots: after a simulated reboot the rules are back and pf is on with our reference; after destroy and a reboot nothing of ours, pf.conf byte for byte", async () => {
      const f = mac({ allowFrom: ["10.0.0.0/8"] });
      await reset();
      const stock = await sha("/etc/pf.conf");
      expect((await probe(f)).state.boot).toMatch(
        /^not persistent: \/etc\/pf.conf, which com.apple.pfctl loads at boot, has no mpi-hosts block/,
      );
      await ok(f, "apply");
      // Checked with plain tools: the block at the end of pf.conf, the daemon root:wheel 0644 and loaded, one reference.
      expect(await rootOk(lab, HOST, "tail -n 4 /etc/pf.conf")).toBe(f.files["pf/pf.conf-block"]);
      expect(await rootOk(lab, HOST, `head -c ${STOCK_PF_CONF.length} /etc/pf.conf`)).toBe(STOCK_PF_CONF);
      expect(await rootOk(lab, HOST, `stat -c '%u:%g %a' ${PLIST}; launchctl print system/${DAEMON} >/dev/null && echo loaded`)).toBe(
        "0:0 644\nloaded\n",
      );
      expect(await rootOk(lab, HOST, "pfctl -s References | tail -n +3 | wc -l")).toBe("1\n");
      const running = await rootOk(lab, HOST, "pfctl -a com.apple/mpi-hosts -s rules");
      expect(running).toContain("pass in quick inet proto tcp from 10.0.0.0/8 to any port");
      expect(await probe(f)).toMatchObject({ state: { boot: "persistent" }, differences: [] });
      await calls();
      expect(await ok(f, "apply")).toContain("firewall (pf): MPI ports already open to the cluster network only, no change");
      expect(changes(await calls())).toEqual([]);

      await boot();
      // No Pulumi run: the boot alone loaded our anchor from pf.conf and our daemon enabled pf with a reference of ours.
      expect(await rootOk(lab, HOST, "pfctl -a com.apple/mpi-hosts -s rules")).toBe(running);
      expect(await rootOk(lab, HOST, "pfctl -s info | head -n 1 | cut -c1-15")).toBe("Status: Enabled\n");
      const token = (await rootOk(lab, HOST, "sed -n 3p /var/db/mpi-hosts/pf-token")).trim();
      expect(await rootOk(lab, HOST, "pfctl -s References | tail -n +3 | awk '{ print $3 }'")).toBe(`${token}\n`);
      expect(await probe(f)).toMatchObject({ state: { boot: "persistent", effective: "open" }, differences: [] });

      await calls();
      await ok(f, "remove");
      expect(changes(await calls())).toEqual([
        "pfctl -a com.apple/mpi-hosts -F rules",
        `launchctl bootout system/${DAEMON}`,
        `pfctl -X ${token}`,
      ]);
      expect(await sha("/etc/pf.conf")).toBe(stock);
      expect(await ours()).toBe("Status: Disabled\n");
      await boot();
      expect(await ours()).toBe("Status: Disabled\n");
      expect(await sha("/etc/pf.conf")).toBe(stock);
    });

    test("issue 17: the boot script fails and shows pfctl's output when pfctl -E prints no enable token (the pfctl double made to print none)", async () => {
      const f = mac({ allowFrom: ["10.0.0.0/8"] });
      await reset();
      await ok(f, "apply");
      await reboot();
      const recorded = await sha("/var/db/mpi-hosts/pf-token");
      await rootOk(lab, HOST, `touch ${STATE}/pfctl-no-token`);
      try {
        // What launchd runs at boot (/bin/sh SCRIPT), with the test double's pfctl printing no "Token : N" line.
        const r = await rootExec(lab, HOST, `${shell} /var/db/mpi-hosts/pf-enable.sh`);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain('mpi-hosts: pfctl -E printed no enable token (expected a line "Token : N")');
        // pfctl's own words (the double's -E output) are in the message.
        expect(r.stderr).toContain("pf enabled");
        expect(await sha("/var/db/mpi-hosts/pf-token")).toBe(recorded);
      } finally {
        await rootOk(lab, HOST, `rm -f ${STATE}/pfctl-no-token`);
      }
      await ok(f, "remove");
    });

    test("issue 13: a macOS update that rewrites /etc/pf.conf, or a disabled daemon, is drift named 'open now but not persistent'; apply puts both back", async () => {
      const f = mac({ allowFrom: ["10.0.0.0/8"] });
      await reset();
      await ok(f, "apply");
      await rootOk(lab, HOST, `printf '%s' ${shellQuote(STOCK_PF_CONF)} >/etc/pf.conf`);
      expect(describeDifferences((await probe(f)).differences)).toBe(
        "boot: open now but not persistent: /etc/pf.conf, which com.apple.pfctl loads at boot, has no mpi-hosts block loading /etc/pf.anchors/mpi-hosts into anchor com.apple/mpi-hosts (a macOS update rewrites the file and drops it; apply adds it again at the end)",
      );
      await ok(f, "apply");
      expect((await probe(f)).differences).toEqual([]);
      await rootOk(lab, HOST, `launchctl disable system/${DAEMON}`);
      expect(describeDifferences((await probe(f)).differences)).toContain(
        `boot: open now but not persistent: launchd has LaunchDaemon ${DAEMON} disabled`,
      );
      expect(await ok(f, "apply")).toContain(`pf: launchd had ${DAEMON} disabled; enabled it (launchctl enable)`);
      await boot();
      expect(await probe(f)).toMatchObject({ state: { boot: "persistent" }, differences: [] });
      await ok(f, "remove");
      expect(await sha("/etc/pf.conf")).toBe(
        await rootOk(lab, HOST, `printf '%s' ${shellQuote(STOCK_PF_CONF)} | sha256sum | cut -d' ' -f1`),
      );
    });

    test("issue 13: firewall persist off takes the block and the daemon out again and keeps the rules for now; a reboot then drops them", async () => {
      await reset();
      const stock = await sha("/etc/pf.conf");
      await ok(mac({ allowFrom: ["10.0.0.0/8"] }), "apply");
      const off = mac({ allowFrom: ["10.0.0.0/8"] }, false);
      expect(off.desired).not.toHaveProperty("boot");
      await ok(off, "apply");
      expect(await sha("/etc/pf.conf")).toBe(stock);
      expect(await rootOk(lab, HOST, "ls /Library/LaunchDaemons; ls /var/db/mpi-hosts | grep -c pf-enable || true")).toBe("0\n");
      expect(await rootOk(lab, HOST, "pfctl -a com.apple/mpi-hosts -s rules")).toContain("from 10.0.0.0/8");
      const { state, differences } = await probe(off);
      expect(differences).toEqual([]);
      expect(state.boot).toMatch(/^not persistent: /);
      await boot();
      expect(await rootOk(lab, HOST, "pfctl -a com.apple/mpi-hosts -s rules; pfctl -s info | head -n 1 | cut -c1-16")).toBe(
        "Status: Disabled\n",
      );
      await ok(off, "remove");
      expect(await ours()).toBe("Status: Disabled\n");
    });

    test("issue 13: pf.conf keeps its bytes when its last line has no newline, and stays untouched when pfctl -nf refuses it with our block", async () => {
      const f = mac({ allowFrom: ["10.0.0.0/8"] });
      const noNewline = STOCK_PF_CONF.replace(/\n$/, "");
      await reset("", noNewline);
      await ok(f, "apply");
      expect((await probe(f)).differences).toEqual([]);
      expect(await ok(f, "apply")).toContain("no change");
      await ok(f, "remove");
      expect(await rootOk(lab, HOST, "cat /etc/pf.conf")).toBe(noNewline);

      // An admin's pf.conf with rules out of order: pfctl refuses it (and would at boot); apply says so and leaves it.
      const outOfOrder = `${STOCK_PF_CONF}set skip on lo0\n`;
      await reset("", outOfOrder);
      const r = await run(f, "apply");
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("mpi-hosts: pf: pfctl -nf rejects /etc/pf.conf with the mpi-hosts block added, so it stays as it was");
      expect(r.stderr).toContain("Rules must be in order: options, normalization, queueing, translation, filtering");
      expect(await rootOk(lab, HOST, "cat /etc/pf.conf")).toBe(outOfOrder);
      await ok(f, "remove");
      expect(await rootOk(lab, HOST, "cat /etc/pf.conf")).toBe(outOfOrder);
    });

    test("item 9: the state is read from '(State = N)', block all (State = 2) included", async () => {
      const f = mac({ allowFrom: ["10.0.0.0/8"] });
      await reset(`${SFW} --setglobalstate on >/dev/null; ${SFW} --setblockall on >/dev/null`);
      expect(await rootOk(lab, HOST, `${SFW} --getglobalstate`)).toBe(
        "Firewall is blocking all non-essential incoming connections. (State = 2)\n",
      );
      const { state } = await probe(f);
      expect(state).toMatchObject({
        alf: "on",
        apps: "blocked: the Application Firewall blocks all incoming connections (block all is on), whatever the per-app rules say; turn that off (socketfilterfw --setblockall off) for MPI to work",
      });
    });

    test("item 9: a managed Mac refuses socketfilterfw changes: apply fails with the tool's own sentence and what to do", async () => {
      const f = mac({ allowFrom: ["10.0.0.0/8"] });
      await reset(`${SFW} --setglobalstate on >/dev/null; touch ${STATE}/socketfilterfw/managed`);
      const r = await run(f, "apply");
      expect(r.code).toBe(1);
      const last = r.stderr.trim().split("\n").pop();
      expect(last).toBe(
        `mpi-hosts: Application Firewall: socketfilterfw --add ${PREFIX}/bin/python3.12 was refused: Firewall settings cannot be modified from command line on managed Mac computers. (this Mac's firewall is managed by a configuration profile: allow incoming connections for ${PREFIX}/bin/python3.12 in the profile, or turn the Application Firewall off there and let pf alone filter; see docs/macos.md)`,
      );
      await ok(f, "remove");
      expect(await rootOk(lab, HOST, `ls ${shellQuote("/var/db")}`)).not.toContain("mpi-hosts");
    });
  });
});
