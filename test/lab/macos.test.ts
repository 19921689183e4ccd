/**
 * The macOS firewall facet (pf + Application Firewall) against how pfctl and socketfilterfw really behave (issue 18,
 * items 7, 9 and 10). There is no Mac here: the facet's scripts run as root on a real lab host, under dash and bash
 * (macOS's /bin/sh is bash), against TEST DOUBLES of pfctl, socketfilterfw and sysctl (test/doubles/), each citing
 * what it was checked against. The doubles filter nothing; these tests prove what the scripts read and decide.
 *   npx jest --selectProjects lab --runTestsByPath test/lab/macos.test.ts --runInBand
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { loadClusterOrThrow, namespaceKeys } from "../../components/config/load";
import { decodeProbe, describeDifferences, diffStates } from "../../components/facets/compare";
import { RenderedFacet } from "../../components/facets/facet";
import { renderFirewall } from "../../components/facets/firewall";
import { shellQuote } from "../../components/render/shellQuote";
import { Lab, renderLabStack, rootExec, startLab, stopLab } from "../../lab/lab";
import { rootOk } from "./lab-helpers";

jest.setTimeout(300000);

const LAB = "cm-mac";
const HOST = "host1";
const DOUBLES = path.resolve(__dirname, "../doubles");
const PREFIX = "/opt/anaconda";
const SFW = "/usr/libexec/ApplicationFirewall/socketfilterfw";
const STATE = "/var/lib/mpi-hosts-doubles";

describe("macOS pf and Application Firewall, as pfctl and socketfilterfw behave (issue 18)", () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await startLab({ name: LAB, hosts: 1, release: "trixie", firewall: "none" });
    for (const name of ["pfctl", "sysctl"]) {
      await rootOk(
        lab,
        HOST,
        `cat >/usr/local/sbin/${name} && chmod 755 /usr/local/sbin/${name}`,
        fs.readFileSync(path.join(DOUBLES, name), "utf8"),
      );
    }
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
  function mac(allow: { allowFrom?: string[]; allowAnywhere?: boolean }): RenderedFacet {
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
    return renderFirewall(cluster, h);
  }
  async function reset(setup = ""): Promise<void> {
    await rootOk(lab, HOST, `rm -rf ${STATE} /etc/pf.anchors /var/db/mpi-hosts && mkdir -p ${STATE}\n${setup}\n: >${STATE}/calls.log`);
  }
  const calls = async () => (await rootOk(lab, HOST, `cat ${STATE}/calls.log; : >${STATE}/calls.log`)).split("\n").filter(Boolean);
  const changes = (log: string[]) => log.filter((l) => !/^pfctl( -a \S+)? -s (info|rules|References)$|^socketfilterfw --get/.test(l));
  /** A reboot as pf sees it: runtime state (enabled, tokens, anchors) gone, token numbers handed out again. */
  const reboot = () =>
    rootOk(
      lab,
      HOST,
      `rm -rf ${STATE}/pfctl; echo $(( $(cat ${STATE}/sysctl-boottime 2>/dev/null || echo 1764547200) + 86400 )) >${STATE}/sysctl-boottime`,
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
      expect(changes(await calls())).toEqual(["pfctl -a com.apple/mpi-hosts -F rules", "pfctl -X 12884901890"]);
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
