/**
 * The firewall facet on real lab hosts, trixie and bookworm. Each backend on host2 runs one lifecycle
 * (test/lab/support/lifecycle.ts, in Molecule's order), instantiated from the table BACKEND_LIFECYCLES: fresh probe
 * (nothing of ours, nothing changed) -> apply (the probe then finds no difference) -> apply again (no change, same
 * bytes) -> plain tools (iptables -S, iptables-save, nft list ruleset) and real TCP traffic -> hand edits (the probe
 * names exactly them, apply repairs them) -> remove (the host's rules back, byte for byte).
 *   iptables (and auto): hosts locked down by the lab (INPUT policy DROP, SSH only); then, on the same hosts, what
 *   one lifecycle does not show (a refused backend, reboots, persist off);
 *   nftables (and auto): hosts without a firewall; then, on the same hosts, a table of the user's own that drops by
 *   policy (conflict), ufw for real (Debian's package, installed into the lab host from the machine's apt cache);
 *   pf + Application Firewall (macOS), ufw, firewalld: no Mac or firewalld here, so their scripts run on host1 of the
 *   hosts without a firewall against TEST DOUBLES of pfctl, socketfilterfw, ufw and firewall-cmd (test/doubles/,
 *   first in PATH), under bash, zsh and dash, asserting the exact commands and files.
 * Each release starts two labs of three hosts, and the describes of a lab share its hosts: the lifecycles' remove
 * steps give host2's rulesets back byte for byte (what they assert: the rulesets, not the boot-time files, which the
 * reboot and persist-off tests below check for themselves, and not the ufw package the real-ufw test installs, which
 * runs after every lifecycle of its lab).
 *   npx jest test/lab/firewall.test.ts --selectProjects lab --runInBand
 */
import * as fs from "fs";
import * as path from "path";
import { FirewallBackend, Host } from "../../components/config/types";
import { decodeProbe, describeDifferences, diffStates } from "../../components/facets/compare";
import { RenderedFacet } from "../../components/facets/facet";
import { PERSIST_DIR, unitFile, unitWantsLink } from "../../components/facets/firewallPersistence";
import { closeAll, Connection, runScript } from "../../components/provider/remote";
import { shellQuote } from "../../components/templates/shellQuote";
import { Lab, rootExec, startHost, startLab, stopHost, stopLab } from "../../lab/lab";
import type { FirewallKind } from "../../lab/firewallKinds";
import { fetchDebs } from "../../lab/debianPackages";
import { connectionFor, probe, runFacet, sshDriver } from "../../lab/harness/facetRunner";
import { labHost, rootOk } from "../../lab/harness/labHelpers";
import { firewallFacetOf, firewallTestCluster } from "../../lab/harness/labCluster";
import { describeLifecycle, Lifecycle } from "./support/lifecycle";
import { Timings } from "./support/timings";
import { connect, reach as reachFrom, startListeners } from "./support/traffic";

jest.setTimeout(600000);

const DOUBLES = path.resolve(__dirname, "../doubles");
const BTL = 50050;
const OOB = 50150;
/** A source port inside the BTL range for the host's own outgoing connection (replies must still arrive). */
const EPHEMERAL_IN_RANGE = 50060;

const timings = new Timings("firewall.test.ts timings (script over SSH through sudo -n sh, or rootExec for the doubles)");
const timed = <T>(label: string, fn: () => Promise<T>) => timings.time(label, fn);
afterAll(async () => {
  await closeAll();
  timings.print();
});

function firewallOf(lab: Lab, host: string, backend: FirewallBackend, adjust: (h: Host) => void = () => undefined): RenderedFacet {
  return firewallFacetOf(firewallTestCluster(lab), host, (h) => {
    h.firewallBackend = backend;
    adjust(h);
  });
}

const linesOf = (text: string) => text.split("\n").filter((l) => l !== "");

// ---------------------------------------------------------------------------------------------------------------
// Traffic: a listener in each MPI range on the target, connections with a short timeout from the other hosts.

/** Listeners on host2's two MPI ports for the describe it is called in. */
function listenersOnHost2(labOf: () => Lab): void {
  let listener: string | undefined;
  beforeAll(async () => {
    listener = await startListeners(labOf(), "host2", [BTL, OOB]);
  });
  afterAll(async () => {
    if (listener) await rootExec(labOf(), "host2", `kill ${listener}`);
  });
}

/** host1 (in allowFrom) and host3 (not) to both MPI ports of `target`. */
const reach = (lab: Lab, target: string) => reachFrom(lab, target, ["host1", "host3"], { btl: BTL, oob: OOB });

const NOBODY_IN = { "host1 btl": "timeout", "host1 oob": "timeout", "host3 btl": "timeout", "host3 oob": "timeout" };
const EVERYONE_IN = {
  "host1 btl": "connected MPI",
  "host1 oob": "connected MPI",
  "host3 btl": "connected MPI",
  "host3 oob": "connected MPI",
};
const HOST1_ONLY = { "host1 btl": "connected MPI", "host1 oob": "connected MPI", "host3 btl": "timeout", "host3 oob": "timeout" };

// ---------------------------------------------------------------------------------------------------------------
// The host's rules as plain tools print them.

/** iptables-save without its two timestamp comments and with chain counters zeroed (they move with any traffic). */
const stableSave = (text: string) =>
  text
    .split("\n")
    .filter((l) => !/^# (Generated by|Completed on) /.test(l))
    .map((l) => l.replace(/ \[\d+:\d+\]$/, " [0:0]"))
    .join("\n");

async function ruleset(lab: Lab, host: string) {
  return {
    "iptables -S": await rootOk(lab, host, "iptables -w -S"),
    "iptables-save": stableSave(await rootOk(lab, host, "iptables-save")),
    "nft -s list ruleset": await rootOk(lab, host, "nft -s list ruleset"),
  };
}
type Ruleset = Awaited<ReturnType<typeof ruleset>>;

/** Runs a script the way the provider does (ssh, sudo -n sh -s) but returns failures instead of throwing. */
async function runAllowingFailure(conn: Connection, facet: RenderedFacet, kind: "apply" | "probe" | "remove") {
  return runScript(conn, facet.scripts[kind], { sudo: true, step: `firewall ${kind}`, timeoutSeconds: 120 });
}

// ---------------------------------------------------------------------------------------------------------------
// One lifecycle per backend on host2, by the firewall the lab's hosts come with.

type BackendLifecycle = (labOf: () => Lab, backend: FirewallBackend, release: string) => Lifecycle<Ruleset>;

/** The common part: the facet for `backend` on host2, run over SSH, its baseline the ruleset as plain tools print it. */
function onHost2(labOf: () => Lab, backend: FirewallBackend, release: string) {
  let facet: RenderedFacet;
  return {
    facet: () => facet,
    driver: () => {
      facet = firewallOf(labOf(), "host2", backend);
      const conn = connectionFor(labOf(), "host2");
      return sshDriver(conn, facet, (label, fn) => timed(`${release} ${backend} ${label}`, fn));
    },
    baseline: () => ruleset(labOf(), "host2"),
  };
}

const iptablesLifecycle: BackendLifecycle = (labOf, backend, release) => {
  const host2 = onHost2(labOf, backend, release);
  const lab = labOf;
  return {
    driver: host2.driver,
    baseline: host2.baseline,
    prepare: {
      title: "a fresh host: the probe finds none of our rules, picks iptables, and changes nothing",
      fresh: ({ state, differences }) => {
        expect(state).toMatchObject({ backend: "iptables", rules: "", effective: "open", iptables_variant: "nf_tables" });
        // Nothing of ours loads at boot yet either (no netfilter-persistent here: apply's own unit would).
        expect(differences.map((d) => d.key)).toEqual(["boot", "rules"]);
        expect(state.boot).toBe(
          `not persistent: no unit ${unitFile("iptables")} loads the MPI rules at boot (apply writes and enables it)`,
        );
      },
      before: [
        {
          title: "before apply the MPI listeners on host2 are unreachable from host1",
          run: async () => expect(await reach(lab(), "host2")).toEqual(NOBODY_IN),
        },
      ],
    },
    converge: {
      title: "apply loads chain MPI-HOSTS and its jump in one transaction; the probe then finds no difference",
      says: "iptables: loaded chain MPI-HOSTS and its jump from rule 1 of INPUT with one iptables-restore --noflush",
      converged: ({ state }) => expect(state).toMatchObject({ backend: "iptables", jump: "first", effective: "open" }),
    },
    idempotence: {
      title: "apply again says no change and leaves the ruleset byte for byte",
      says: "firewall (iptables): MPI ports already open to the cluster network only, no change",
      changeWords: ["loaded"],
    },
    verify: [
      {
        title: "plain iptables and nft show our chain, jumped to first, and the lab's own rules unchanged after it",
        run: async ({ before }) => {
          const own = linesOf(before["iptables -S"]);
          const policies = own.filter((l) => l.startsWith("-P "));
          const rules = own.filter((l) => l.startsWith("-A "));
          expect(linesOf(await rootOk(lab(), "host2", "iptables -w -S"))).toEqual([
            ...policies,
            "-N MPI-HOSTS",
            "-A INPUT -j MPI-HOSTS",
            ...rules,
            ...linesOf(host2.facet().files["iptables/MPI-HOSTS.rules"]),
          ]);
          const nft = await rootOk(lab(), "host2", "nft -s list table ip filter");
          expect(nft).toMatch(/chain INPUT \{\n\t\ttype filter hook input priority filter; policy drop;\n\t\tcounter jump MPI-HOSTS\n/);
          expect(nft).toContain(`ip saddr ${labHost(lab(), "host1").address} tcp dport 50000-50099 counter accept`);
          expect(nft).toContain("tcp dport 50100-50199 ct state ! related,established counter drop");
        },
      },
      {
        title: "host2 still reaches its own MPI ports over loopback (Open MPI's local daemons listen there)",
        run: async () => {
          expect(await connect(lab(), "host2", "loopback", BTL)).toBe("connected MPI");
          expect(await connect(lab(), "host2", "loopback", OOB)).toBe("connected MPI");
        },
      },
      {
        title: "after apply host1 reaches both ranges, host3 (not in allowFrom) neither",
        run: async () => expect(await reach(lab(), "host2")).toEqual(HOST1_ONLY),
      },
      {
        title: "replies to host2's own connection from a source port inside the BTL range still arrive (deny is for new connections)",
        run: async () => expect(await connect(lab(), "host2", "host3", 2400, EPHEMERAL_IN_RANGE)).toBe("connected SSH-2.0"),
      },
      {
        title: "a later user rule accepting the MPI ports from anywhere does not reopen them to host3: our jump comes first",
        run: async () => {
          await rootOk(lab(), "host2", "iptables -w -A INPUT -p tcp --dport 50000:50199 -j ACCEPT");
          try {
            expect(await connect(lab(), "host3", "host2", BTL)).toBe("timeout");
            expect(await connect(lab(), "host1", "host2", BTL)).toBe("connected MPI");
          } finally {
            await rootOk(lab(), "host2", "iptables -w -D INPUT -p tcp --dport 50000:50199 -j ACCEPT");
          }
        },
      },
    ],
    drift: [
      {
        title: "a rule deleted by hand shows as exactly that rule missing; apply puts it back",
        edit: async () => {
          const host1 = labHost(lab(), "host1").address;
          await rootOk(lab(), "host2", `iptables -w -D MPI-HOSTS -s ${host1}/32 -p tcp -m tcp --dport 50100:50199 -j ACCEPT`);
        },
        drifted: async ({ differences }) => {
          const host1 = labHost(lab(), "host1").address;
          expect(describeDifferences(differences)).toBe(`rules:\n  + allow tcp 50100-50199 from ${host1}/32`);
          expect(differences[0].actual).toBe(
            (host2.facet().desired.rules as string).replace(`allow tcp 50100-50199 from ${host1}/32\n`, ""),
          );
          expect(await connect(lab(), "host1", "host2", OOB)).toBe("timeout");
        },
        repaired: async () => expect(await connect(lab(), "host1", "host2", OOB)).toBe("connected MPI"),
      },
      {
        title: "a jump moved down by hand shows in effective; apply moves it back to rule 1",
        edit: () => rootOk(lab(), "host2", "iptables -w -D INPUT -j MPI-HOSTS && iptables -w -A INPUT -j MPI-HOSTS").then(() => undefined),
        drifted: ({ state, differences }) => {
          expect(differences.map((d) => d.key)).toEqual(["effective"]);
          expect(state.effective).toBe(
            "iptables: INPUT jumps to MPI-HOSTS at rule 4, not rule 1, so the rules before it decide first (apply moves the jump to rule 1)",
          );
        },
        repaired: async ({ state }) => {
          expect(state).toMatchObject({ jump: "first", effective: "open" });
          expect(linesOf(await rootOk(lab(), "host2", "iptables -w -S INPUT")).filter((l) => l.includes("MPI-HOSTS"))).toEqual([
            "-A INPUT -j MPI-HOSTS",
          ]);
        },
      },
    ],
    remove: {
      title: "remove gives back the host's rules byte for byte (iptables -S, iptables-save, nft list ruleset); remove again finds nothing",
      says: "iptables: deleted the jump from INPUT and chain MPI-HOSTS",
      saysAgain: "iptables: no chain MPI-HOSTS, nothing to remove",
      removed: async () => expect(await connect(lab(), "host1", "host2", BTL)).toBe("timeout"),
    },
  };
};

const nftablesLifecycle: BackendLifecycle = (labOf, backend, release) => {
  const host2 = onHost2(labOf, backend, release);
  const lab = labOf;
  return {
    driver: host2.driver,
    baseline: host2.baseline,
    prepare: {
      title: "a fresh host: the probe finds no table of ours, picks nftables, and changes nothing",
      fresh: ({ state, differences }) => {
        expect(state).toMatchObject({ backend: "nftables", rules: "", effective: "open" });
        // Nothing of ours loads at boot yet either (nftables.service is not enabled here: apply's own unit would).
        expect(differences.map((d) => d.key)).toEqual(["boot", "rules"]);
        expect(state.boot).toBe(
          `not persistent: no unit ${unitFile("nftables")} loads the MPI rules at boot (apply writes and enables it)`,
        );
      },
      before: [
        {
          title: "before apply the open host lets everyone reach the MPI listeners",
          run: async () => expect(await reach(lab(), "host2")).toEqual(EVERYONE_IN),
        },
      ],
    },
    converge: {
      title: "apply loads table inet mpi_hosts with one nft -f; the probe then finds no difference",
      says: "nftables: loaded table inet mpi_hosts with one nft -f",
    },
    idempotence: {
      title: "apply again says no change and leaves the ruleset byte for byte",
      says: "firewall (nftables): MPI ports already open to the cluster network only, no change",
      changeWords: ["loaded"],
    },
    verify: [
      {
        title: "plain nft shows exactly our table, and nothing else changed",
        run: async ({ before }) => {
          const host1 = labHost(lab(), "host1").address;
          expect(await rootOk(lab(), "host2", "nft list table inet mpi_hosts")).toBe(
            [
              "table inet mpi_hosts {",
              "\tchain input {",
              "\t\ttype filter hook input priority filter; policy accept;",
              `\t\tip saddr ${host1} tcp dport 50000-50099 accept`,
              `\t\tip saddr ${host1} tcp dport 50100-50199 accept`,
              '\t\tiifname != "lo" tcp dport 50000-50099 ct state != { established, related } drop',
              '\t\tiifname != "lo" tcp dport 50100-50199 ct state != { established, related } drop',
              "\t}",
              "}",
              "",
            ].join("\n"),
          );
          const now = await ruleset(lab(), "host2");
          expect(now["iptables -S"]).toBe(before["iptables -S"]);
          expect(now["nft -s list ruleset"].replace(/table inet mpi_hosts \{[\s\S]*?\n\}\n/, "")).toBe(before["nft -s list ruleset"]);
        },
      },
      {
        title: "host2 still reaches its own MPI ports over loopback (Open MPI's local daemons listen there)",
        run: async () => {
          expect(await connect(lab(), "host2", "loopback", BTL)).toBe("connected MPI");
          expect(await connect(lab(), "host2", "loopback", OOB)).toBe("connected MPI");
        },
      },
      {
        title: "after apply host1 reaches both ranges and host3 neither: the deny closes them to everyone else",
        run: async () => expect(await reach(lab(), "host2")).toEqual(HOST1_ONLY),
      },
      {
        title: "replies to host2's own connection from a source port inside the BTL range still arrive",
        run: async () => expect(await connect(lab(), "host2", "host3", 2400, EPHEMERAL_IN_RANGE)).toBe("connected SSH-2.0"),
      },
    ],
    drift: [
      {
        title: "a rule deleted by hand shows as exactly that rule missing; apply puts it back",
        edit: async () => {
          const handle = (await rootOk(lab(), "host2", "nft -a list chain inet mpi_hosts input"))
            .split("\n")
            .find((l) => l.includes("tcp dport 50000-50099 ct state"))!
            .match(/# handle (\d+)/)![1];
          await rootOk(lab(), "host2", `nft delete rule inet mpi_hosts input handle ${handle}`);
        },
        drifted: async ({ differences }) => {
          expect(describeDifferences(differences)).toBe("rules:\n  + deny tcp 50000-50099 from others");
          expect(await connect(lab(), "host3", "host2", BTL)).toBe("connected MPI");
        },
        repaired: async () => expect(await connect(lab(), "host3", "host2", BTL)).toBe("timeout"),
      },
      {
        title: "a rule added to our table by hand is printed raw, so the drift shows",
        edit: () => rootOk(lab(), "host2", "nft add rule inet mpi_hosts input tcp dport 6000 accept").then(() => undefined),
        drifted: ({ differences }) => expect(describeDifferences(differences)).toBe("rules:\n  - tcp dport 6000 accept"),
      },
    ],
    remove: {
      title: "remove deletes the table and gives back the ruleset byte for byte; remove again finds nothing",
      says: "nftables: deleted table inet mpi_hosts",
      saysAgain: "nftables: no table inet mpi_hosts, nothing to remove",
      removed: async () => expect(await connect(lab(), "host3", "host2", BTL)).toBe("connected MPI"),
    },
  };
};

/** Which backends run a whole lifecycle on host2, by the firewall the lab's hosts come with. */
const BACKEND_LIFECYCLES: { hosts: FirewallKind; backends: FirewallBackend[]; lifecycle: BackendLifecycle }[] = [
  { hosts: "iptables", backends: ["iptables", "auto"], lifecycle: iptablesLifecycle },
  { hosts: "none", backends: ["nftables", "auto"], lifecycle: nftablesLifecycle },
];

/** The host kinds this file starts labs of (below). A row of another kind would never run: refused, not skipped. */
const LAB_KINDS: FirewallKind[] = ["iptables", "none"];
for (const row of BACKEND_LIFECYCLES)
  if (!LAB_KINDS.includes(row.hosts))
    throw new Error(`BACKEND_LIFECYCLES: no lab of this file has hosts of kind ${row.hosts}; add a lab describe for it`);

/** One describe per backend the table gives for hosts of kind `hosts`, each a whole lifecycle on host2. */
function describeBackendLifecycles(labOf: () => Lab, hosts: FirewallKind, release: string): void {
  for (const row of BACKEND_LIFECYCLES.filter((r) => r.hosts === hosts))
    describe.each(row.backends)("backend %s on host2", (backend) => describeLifecycle(row.lifecycle(labOf, backend, release)));
}

// ---------------------------------------------------------------------------------------------------------------

describe.each(["trixie", "bookworm"] as const)("firewall on %s lab hosts", (release) => {
  describe("hosts the lab locked down (INPUT policy DROP, SSH only)", () => {
    const LAB = `fw-ipt-${release}`;
    let lab: Lab;
    const labOf = () => lab;

    beforeAll(async () => {
      lab = await timed(`${release} start ${LAB}`, () => startLab({ name: LAB, hosts: 3, release, firewall: "iptables" }));
    });
    afterAll(() => stopLab(LAB));

    describe("iptables backend", () => {
      listenersOnHost2(labOf);
      describeBackendLifecycles(labOf, "iptables", release);
    });

    describe("the same locked-down hosts, beyond one apply", () => {
      test("backend nftables there is refused: the drop is in iptables-nft's own table ip filter, where only iptables may add rules", async () => {
        const facet = firewallOf(lab, "host2", "nftables");
        const conn = connectionFor(lab, "host2");
        const sentence =
          "nftables: table ip filter, chain INPUT drops what it does not accept on the input hook, and that table is iptables' own (iptables-nft): an accept in table inet mpi_hosts cannot override its drop, and rules added there with nft would break iptables-save; use firewall backend iptables for this host (auto picks it when INPUT drops)";
        expect((await probe(conn, facet)).state.effective).toBe(sentence);
        const before = await ruleset(lab, "host2");
        const result = await runAllowingFailure(conn, facet, "apply");
        expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 1, stderr: `mpi-hosts: ${sentence}\n` });
        expect(await ruleset(lab, "host2")).toEqual(before);
      });

      test("after a reboot the rules come back by themselves (a unit of ours: no netfilter-persistent here); after remove and a reboot they do not", async () => {
        // Each way of persisting, with traffic and /etc byte for byte: test/lab/persistence.test.ts.
        const facet = firewallOf(lab, "host2", "iptables");
        await runFacet(connectionFor(lab, "host2"), facet, "apply");
        await closeAll(); // the pooled SSH connection dies with the host
        await stopHost(lab, "host2");
        await startHost(lab, "host2");
        const conn = connectionFor(lab, "host2");
        const { state, differences } = await probe(conn, facet);
        expect(state).toMatchObject({ backend: "iptables", effective: "open", boot: "persistent" });
        expect(differences).toEqual([]);
        await runFacet(conn, facet, "remove");
        await closeAll();
        await stopHost(lab, "host2");
        await startHost(lab, "host2");
        expect((await probe(conn, facet)).state.rules).toBe("");
      });

      test("firewall persist off: apply loads the rules at run time only and takes out the boot-time files of an earlier apply; a reboot drops them and drift names that", async () => {
        const conn = connectionFor(lab, "host2");
        const ours = `ls -d ${PERSIST_DIR} ${unitFile("iptables")} ${unitWantsLink("iptables")} 2>/dev/null || true`;
        await runFacet(conn, firewallOf(lab, "host2", "iptables"), "apply");
        expect(linesOf(await rootOk(lab, "host2", ours)).sort()).toEqual(
          [PERSIST_DIR, unitWantsLink("iptables"), unitFile("iptables")].sort(),
        );
        const runOnly = firewallOf(lab, "host2", "iptables", (h) => (h.firewallPersist = false));
        const applied = await runFacet(conn, runOnly, "apply");
        expect(applied.stderr).toContain(`firewall persistence: disabled ${unitFile("iptables")}`);
        expect(await rootOk(lab, "host2", ours)).toBe("");
        const { state, differences } = await probe(conn, runOnly);
        expect(state).toMatchObject({ backend: "iptables", rules: runOnly.desired.rules, effective: "open" });
        expect(String(state.boot)).toMatch(/^not persistent: /);
        expect(differences).toEqual([]);
        const again = await runFacet(conn, runOnly, "apply");
        expect(again.stderr).not.toContain("firewall persistence");
        await closeAll();
        await stopHost(lab, "host2");
        await startHost(lab, "host2");
        const rebooted = await probe(connectionFor(lab, "host2"), runOnly);
        expect(rebooted.state.rules).toBe("");
        expect(rebooted.differences.map((d) => d.key)).toEqual(["rules"]);
        // Remove after that reboot: the ip6 filter table apply had made is gone with it, and only its note is left.
        await runFacet(connectionFor(lab, "host2"), runOnly, "remove");
        expect(await rootOk(lab, "host2", `ls -d /var/lib/mpi-hosts ${PERSIST_DIR} 2>/dev/null || true`)).toBe("");
      });
    });
  });

  describe("hosts without a firewall", () => {
    const LAB = `fw-nft-${release}`;
    let lab: Lab;
    const labOf = () => lab;

    beforeAll(async () => {
      lab = await timed(`${release} start ${LAB}`, () => startLab({ name: LAB, hosts: 3, release, firewall: "none" }));
    });
    afterAll(() => stopLab(LAB));

    describe("nftables backend; a table of the user's own; ufw for real", () => {
      listenersOnHost2(labOf);
      describeBackendLifecycles(labOf, "none", release);

      test("a table of the user's own that drops by policy: nftables and iptables each put our chain into it, jumped to after their rules; traffic passes; remove gives the ruleset back byte for byte", async () => {
        await rootOk(
          lab,
          "host2",
          `nft -f - <<'EOF'
table inet userfw {
	chain input {
		type filter hook input priority filter; policy drop;
		iif lo accept
		ct state established,related accept
		tcp dport 2400 accept
	}
}
EOF`,
        );
        try {
          const before = await ruleset(lab, "host2");
          for (const backend of ["nftables", "iptables"] as const) {
            const facet = firewallOf(lab, "host2", backend);
            const conn = connectionFor(lab, "host2");
            const fresh = await probe(conn, facet);
            expect(fresh.state.effective).toBe(
              "nftables: table inet userfw, chain input drops what it does not accept on the input hook, and does not jump to our chain mpi_hosts there, so the MPI ports stay closed (apply adds the chain, and the jump after their rules, before a last drop or reject)",
            );
            const applied = await runFacet(conn, facet, "apply");
            expect(applied.stderr).toContain("chain mpi_hosts jumped to from: inet userfw input;");
            // The boot loads them too (a unit of ours); reboots with this kind of table: test/lab/persistence.test.ts.
            expect((await probe(conn, facet)).differences).toEqual([]);
            expect(await rootOk(lab, "host2", "nft list table inet userfw")).toContain(
              `\t\ttcp dport 2400 accept\n\t\tjump mpi_hosts comment "mpi-hosts"\n\t}\n`,
            );
            expect(await reach(lab, "host2")).toEqual({
              "host1 btl": "connected MPI",
              "host1 oob": "connected MPI",
              "host3 btl": "timeout",
              "host3 oob": "timeout",
            });
            const removed = await runFacet(conn, facet, "remove");
            expect(removed.stderr).toContain("nftables: removed chain mpi_hosts and the jumps to it from: table inet userfw;");
            expect({ backend, ruleset: await ruleset(lab, "host2") }).toEqual({ backend, ruleset: before });
          }
        } finally {
          await rootOk(lab, "host2", "nft delete table inet userfw");
        }
      });

      test("ufw for real (Debian's package in the lab host): auto picks it, host1 gets in, host3 not, remove restores ufw's rules", async () => {
        // Debian's ufw package (bookworm's 0.36.2, pure Python: it installs on trixie too).
        const [deb] = fetchDebs(["ufw"]);
        await rootOk(
          lab,
          "host2",
          "base64 -d >/tmp/ufw.deb && DEBIAN_FRONTEND=noninteractive dpkg -i /tmp/ufw.deb >/dev/null 2>&1 && rm /tmp/ufw.deb",
          fs.readFileSync(deb).toString("base64"),
        );
        await rootOk(lab, "host2", "ufw allow 2400/tcp >/dev/null && ufw --force enable >/dev/null");
        const facet = firewallOf(lab, "host2", "auto");
        const conn = connectionFor(lab, "host2");
        const before = await rootOk(lab, "host2", "ufw status verbose; ufw show added");
        expect(await reach(lab, "host2")).toEqual({
          "host1 btl": "timeout",
          "host1 oob": "timeout",
          "host3 btl": "timeout",
          "host3 oob": "timeout",
        });
        const first = await probe(conn, facet);
        expect(first.state).toMatchObject({ backend: "ufw", rules: "", effective: "open" });
        await timed(`${release} ufw (real) apply`, () => runFacet(conn, facet, "apply"));
        expect((await timed(`${release} ufw (real) probe`, () => probe(conn, facet))).differences).toEqual([]);
        expect(await reach(lab, "host2")).toEqual({
          "host1 btl": "connected MPI",
          "host1 oob": "connected MPI",
          "host3 btl": "timeout",
          "host3 oob": "timeout",
        });
        const host1 = labHost(lab, "host1").address;
        expect(linesOf(await rootOk(lab, "host2", "ufw show added"))).toEqual([
          "Added user rules (see 'ufw status' for running firewall):",
          "ufw allow 2400/tcp",
          `ufw allow from ${host1} to any port 50000:50099 proto tcp comment 'mpi-hosts'`,
          `ufw allow from ${host1} to any port 50100:50199 proto tcp comment 'mpi-hosts'`,
          "ufw deny 50000:50099/tcp comment 'mpi-hosts'",
          "ufw deny 50100:50199/tcp comment 'mpi-hosts'",
        ]);
        // The double must copy this ufw: the same commands through it print the same status and listings.
        const dbl = "MH_DOUBLES=/tmp/ufw-double-state /tmp/ufw-double";
        await rootOk(lab, "host2", "cat >/tmp/ufw-double && chmod 755 /tmp/ufw-double", fs.readFileSync(path.join(DOUBLES, "ufw"), "utf8"));
        const commands = [
          "allow 2400/tcp",
          "--force enable",
          ...linesOf(facet.files["ufw/commands.sh"])
            .filter((l) => l.startsWith("ufw "))
            .map((l) => l.replace(/^ufw /, "")),
        ];
        await rootOk(lab, "host2", commands.map((c) => `${dbl} ${c} >/dev/null`).join("\n"));
        for (const view of ["status", "status numbered", "show added"]) {
          expect(await rootOk(lab, "host2", `${dbl} ${view}`)).toBe(await rootOk(lab, "host2", `ufw ${view}`));
        }
        const again = await timed(`${release} ufw (real) apply (no change)`, () => runFacet(conn, facet, "apply"));
        expect(again.stderr).toContain("firewall (ufw): MPI ports already open to the cluster network only, no change");
        await timed(`${release} ufw (real) remove`, () => runFacet(conn, facet, "remove"));
        expect(await rootOk(lab, "host2", "ufw status verbose; ufw show added")).toBe(before);
        expect(await connect(lab, "host1", "host2", BTL)).toBe("timeout");
      });
    });

    describe("macOS pf + Application Firewall, ufw and firewalld against test doubles, on host1", () => {
      const HOST = "host1";
      const PREFIX = "/opt/My Conda";
      const SFW = "/usr/libexec/ApplicationFirewall/socketfilterfw";

      beforeAll(async () => {
        for (const name of ["pfctl", "ufw", "firewall-cmd"]) {
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
          "mkdir -p /usr/libexec/ApplicationFirewall && cat >/usr/libexec/ApplicationFirewall/socketfilterfw && chmod 755 /usr/libexec/ApplicationFirewall/socketfilterfw",
          fs.readFileSync(path.join(DOUBLES, "socketfilterfw"), "utf8"),
        );
        // A conda prefix as Open MPI 5 lays it out: python3 -> python3.12, mpirun/mpiexec -> prterun, prted; no orted.
        await rootOk(
          lab,
          HOST,
          `mkdir -p ${shellQuote(`${PREFIX}/bin`)} && cd ${shellQuote(`${PREFIX}/bin`)} &&
for f in python3.12 prterun prted; do printf '#!/bin/sh\\n' >"$f"; chmod 755 "$f"; done
ln -s python3.12 python3 && ln -s prterun mpirun && ln -s prterun mpiexec`,
        );
      });
      /** Runs a rendered script as root under `shell`, the way sudo would hand it over (script on stdin). */
      const runUnder = (shell: string, script: string) => rootExec(lab, HOST, `${shell} -s`, { input: script });

      async function resetDoubles(setup: string): Promise<void> {
        await rootOk(
          lab,
          HOST,
          `rm -rf /var/lib/mpi-hosts-doubles /etc/pf.anchors /var/db/mpi-hosts\n${setup}\n: >/var/lib/mpi-hosts-doubles/calls.log`,
        );
      }
      async function calls(): Promise<string[]> {
        const log = linesOf(await rootOk(lab, HOST, "cat /var/lib/mpi-hosts-doubles/calls.log; : >/var/lib/mpi-hosts-doubles/calls.log"));
        return log.map((l) => l.replace(/\/etc\/pf\.anchors\/\.mpi-hosts\.[A-Za-z0-9]+/, "/etc/pf.anchors/.mpi-hosts.TMP"));
      }
      const READ_ONLY = [
        /^pfctl( -a \S+)? -s (info|rules|References)$/,
        /^socketfilterfw --get/,
        /^ufw (status|show added|--version)$/,
        /^firewall-cmd .*--(list-rich-rules|get-default-zone|get-zones|get-active-zones|state|version|get-zone-of-interface=\S+)$/,
      ];
      const changes = (log: string[]) => log.filter((l) => !READ_ONLY.some((re) => re.test(l)));
      /** How the doubles log one argument (shell-quoted when it holds anything but safe characters). */
      const arg = (a: string) => (/^[A-Za-z0-9_./:=@%+,-]+$/.test(a) ? a : shellQuote(a));

      async function run(shell: string, facet: RenderedFacet, kind: "probe" | "apply" | "remove", label: string) {
        const started = Date.now();
        const result = await runUnder(shell, facet.scripts[kind]);
        timings.record(`${release} ${label} ${kind} under ${shell} (doubles, rootExec)`, Date.now() - started);
        return result;
      }
      async function probeUnder(shell: string, facet: RenderedFacet, label: string) {
        const result = await run(shell, facet, "probe", label);
        expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" });
        const state = decodeProbe(result.stdout);
        return { state, differences: diffStates(facet.desired as never, state as never) };
      }
      async function ok(shell: string, facet: RenderedFacet, kind: "apply" | "remove", label: string): Promise<string> {
        const result = await run(shell, facet, kind, label);
        if (result.code !== 0 || result.stdout !== "")
          throw new Error(`${label} ${kind} under ${shell} exited ${result.code}:\n${result.stderr}${result.stdout}`);
        return result.stderr;
      }

      describe.each(["bash", "zsh", "dash"])("macOS pf and Application Firewall under %s", (shell) => {
        // Run-time pf and the Application Firewall only: pf's persistence (/etc/pf.conf, a LaunchDaemon, a simulated
        // boot) is tested with its own doubles in test/lab/macos.test.ts.
        const mac = () =>
          firewallOf(lab, HOST, "auto", (h) => {
            h.os = "macos";
            h.pythonPrefix = PREFIX;
            h.firewallPersist = false;
          });
        const bin = (name: string) => `${PREFIX}/bin/${name}`;

        test("probe, apply, apply again, drift, remove: exact commands and files", async () => {
          const facet = mac();
          const host1 = labHost(lab, "host1").address;
          // ALF on; prterun already listed and blocked by the user; pf disabled (as macOS ships).
          await resetDoubles(`${SFW} --setglobalstate on >/dev/null; ${SFW} --add ${shellQuote(bin("prterun"))} >/dev/null`);

          const fresh = await probeUnder(shell, facet, "pf+alf");
          expect(fresh.state).toMatchObject({
            backend: "pf",
            rules: "",
            effective: "pf: pf is disabled, so the rules in anchor com.apple/mpi-hosts are not enforced (apply enables it with pfctl -E)",
            apps: `unlisted ${bin("python3.12")}\nblocked ${bin("prterun")}\nunlisted ${bin("prted")}`,
            pf_enabled: false,
            anchor_file: null,
            alf: "on",
          });
          expect(changes(await calls())).toEqual([]);

          const applied = await ok(shell, facet, "apply", "pf+alf");
          expect(applied).toContain("pf: enabled pf (pfctl -E, reference 12884901889)");
          expect(changes(await calls())).toEqual([
            "pfctl -n -a com.apple/mpi-hosts -f /etc/pf.anchors/.mpi-hosts.TMP",
            "pfctl -a com.apple/mpi-hosts -f /etc/pf.anchors/mpi-hosts",
            "pfctl -E",
            `socketfilterfw --add ${arg(bin("python3.12"))}`,
            `socketfilterfw --unblockapp ${arg(bin("python3.12"))}`,
            `socketfilterfw --unblockapp ${arg(bin("prterun"))}`,
            `socketfilterfw --add ${arg(bin("prted"))}`,
            `socketfilterfw --unblockapp ${arg(bin("prted"))}`,
          ]);
          expect(await rootOk(lab, HOST, "cat /etc/pf.anchors/mpi-hosts")).toBe(facet.files["pf/mpi-hosts"]);
          expect(await rootOk(lab, HOST, "pfctl -a com.apple/mpi-hosts -s rules")).toBe(
            [
              `pass in quick inet proto tcp from ${host1} to any port 50000:50099 flags S/SA keep state`,
              `pass in quick inet proto tcp from ${host1} to any port 50100:50199 flags S/SA keep state`,
              "block drop in quick on ! lo0 proto tcp from any to any port 50000:50099 flags S/SA",
              "block drop in quick on ! lo0 proto tcp from any to any port 50100:50199 flags S/SA",
              "",
            ].join("\n"),
          );
          expect(await rootOk(lab, HOST, "tail -n +3 /var/db/mpi-hosts/pf-token; tail -n +3 /var/db/mpi-hosts/alf-apps")).toBe(
            // The token's boot (kern.boottime) is empty here: no macOS sysctl on a lab host (test/lab/macos.test.ts has a double).
            `12884901889\nboot \nadded ${bin("python3.12")}\nunblocked ${bin("prterun")}\nadded ${bin("prted")}\n`,
          );
          await calls();

          const synced = await probeUnder(shell, facet, "pf+alf");
          expect(synced.differences).toEqual([]);
          expect(synced.state).toMatchObject({
            pf_enabled: true,
            apps_detail: `allowed ${bin("python3.12")}\nallowed ${bin("prterun")}\nallowed ${bin("prted")}\n`,
          });

          const again = await ok(shell, facet, "apply", "pf+alf (no change)");
          expect(again).toBe(
            "mpi-hosts: firewall (pf): MPI ports already open to the cluster network only, no change\n" +
              "mpi-hosts: Application Firewall: python and the Open MPI launchers already accept connections, no change\n",
          );
          expect(changes(await calls())).toEqual([]);

          // Drift: someone disables pf and blocks python by hand.
          await rootOk(lab, HOST, `pfctl -d 2>/dev/null; ${SFW} --blockapp ${shellQuote(bin("python3.12"))} >/dev/null`);
          await calls();
          const drifted = await probeUnder(shell, facet, "pf+alf");
          expect(drifted.differences.map((d) => [d.key, d.actual])).toEqual([
            ["apps", `blocked ${bin("python3.12")}`],
            [
              "effective",
              "pf: pf is disabled, so the rules in anchor com.apple/mpi-hosts are not enforced (apply enables it with pfctl -E)",
            ],
          ]);
          await ok(shell, facet, "apply", "pf+alf (repair)");
          expect(changes(await calls())).toEqual([
            "pfctl -a com.apple/mpi-hosts -f /etc/pf.anchors/mpi-hosts",
            "pfctl -E",
            `socketfilterfw --unblockapp ${arg(bin("python3.12"))}`,
          ]);
          expect((await probeUnder(shell, facet, "pf+alf")).differences).toEqual([]);
          await calls();

          const removed = await ok(shell, facet, "remove", "pf+alf");
          expect(removed).toContain("pf: released the pf enable reference apply took");
          expect(changes(await calls())).toEqual([
            "pfctl -a com.apple/mpi-hosts -F rules",
            "pfctl -X 12884901889",
            `socketfilterfw --remove ${arg(bin("python3.12"))}`,
            `socketfilterfw --blockapp ${arg(bin("prterun"))}`,
            `socketfilterfw --remove ${arg(bin("prted"))}`,
          ]);
          expect(await rootOk(lab, HOST, "ls -A /etc/pf.anchors; ls -d /var/db/mpi-hosts 2>&1 || true")).toBe(
            "ls: cannot access '/var/db/mpi-hosts': No such file or directory\n",
          );
          expect(
            await rootOk(
              lab,
              HOST,
              "cat /var/lib/mpi-hosts-doubles/socketfilterfw/apps; cat /var/lib/mpi-hosts-doubles/pfctl/enabled; pfctl -a com.apple/mpi-hosts -s rules",
            ),
          ).toBe(`${bin("prterun")}\tblocked\n0\n`);
        });

        test("a main ruleset without the com.apple anchor, or ALF blocking everything: clear sentences, nothing changed", async () => {
          const facet = mac();
          await resetDoubles(
            `pfctl -e 2>/dev/null; printf 'pass all\\n' >/var/lib/mpi-hosts-doubles/pfctl/main.rules; ${SFW} --setglobalstate on >/dev/null; ${SFW} --setblockall on`,
          );
          const { state } = await probeUnder(shell, facet, "pf+alf");
          const pfSentence =
            'pf: the main ruleset has no anchor "com.apple/*" rule, so rules in anchor com.apple/mpi-hosts are never evaluated; load the stock /etc/pf.conf (pfctl -f /etc/pf.conf) or restore its com.apple anchor lines (mpi-hosts never loads /etc/pf.conf itself)';
          const alfSentence =
            "blocked: the Application Firewall blocks all incoming connections (block all is on), whatever the per-app rules say; turn that off (socketfilterfw --setblockall off) for MPI to work";
          expect(state).toMatchObject({ effective: pfSentence, apps: alfSentence });
          const result = await run(shell, facet, "apply", "pf+alf (conflict)");
          expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 1, stderr: `mpi-hosts: ${pfSentence}\n` });
          await rootOk(lab, HOST, "rm /var/lib/mpi-hosts-doubles/pfctl/main.rules");
          const second = await run(shell, facet, "apply", "pf+alf (conflict)");
          expect(second.code).toBe(1);
          expect(
            second.stderr
              .split("\n")
              .filter((l) => l)
              .pop(),
          ).toBe(`mpi-hosts: Application Firewall: ${alfSentence}`);
          expect(changes(await calls()).filter((c) => c.startsWith("socketfilterfw"))).toEqual([]);
        });
      });

      describe.each(["bash", "zsh", "dash"])("ufw (double) under %s", (shell) => {
        test("auto picks an active ufw; apply adds tagged rules in order; hand edit, repair, inactive ufw, remove", async () => {
          const facet = firewallOf(lab, HOST, "auto");
          const host1 = labHost(lab, "host1").address;
          await resetDoubles("ufw allow 2400/tcp >/dev/null; ufw enable >/dev/null");
          const fresh = await probeUnder(shell, facet, "ufw");
          expect(fresh.state).toMatchObject({ backend: "ufw", rules: "", effective: "open", ufw_version: "0.36.2" });
          expect(changes(await calls())).toEqual([]);

          await ok(shell, facet, "apply", "ufw");
          const added = [
            `ufw allow from ${host1}/32 to any port 50000:50099 proto tcp comment mpi-hosts`,
            `ufw allow from ${host1}/32 to any port 50100:50199 proto tcp comment mpi-hosts`,
            "ufw deny proto tcp to any port 50000:50099 comment mpi-hosts",
            "ufw deny proto tcp to any port 50100:50199 comment mpi-hosts",
          ];
          expect(changes(await calls())).toEqual(added);
          expect(linesOf(await rootOk(lab, HOST, "ufw show added"))).toEqual([
            "Added user rules (see 'ufw status' for running firewall):",
            "ufw allow 2400/tcp",
            `ufw allow from ${host1} to any port 50000:50099 proto tcp comment 'mpi-hosts'`,
            `ufw allow from ${host1} to any port 50100:50199 proto tcp comment 'mpi-hosts'`,
            "ufw deny 50000:50099/tcp comment 'mpi-hosts'",
            "ufw deny 50100:50199/tcp comment 'mpi-hosts'",
          ]);
          await calls();
          expect((await probeUnder(shell, facet, "ufw")).differences).toEqual([]);
          expect(await ok(shell, facet, "apply", "ufw (no change)")).toBe(
            "mpi-hosts: firewall (ufw): MPI ports already open to the cluster network only, no change\n",
          );
          expect(changes(await calls())).toEqual([]);

          await rootOk(lab, HOST, "ufw delete deny 50100:50199/tcp >/dev/null");
          await calls();
          expect(describeDifferences((await probeUnder(shell, facet, "ufw")).differences)).toBe(
            "rules:\n  + deny tcp 50100-50199 from others",
          );
          await ok(shell, facet, "apply", "ufw (repair)");
          expect(changes(await calls())).toEqual([
            `ufw delete allow from ${host1} to any port 50000:50099 proto tcp`,
            `ufw delete allow from ${host1} to any port 50100:50199 proto tcp`,
            "ufw delete deny 50000:50099/tcp",
            ...added,
          ]);

          await rootOk(lab, HOST, "ufw disable >/dev/null");
          await calls();
          const inactive =
            "ufw: ufw is inactive, so rules added through it would not be enforced; enable it yourself (allow your SSH port first, then ufw enable) or set firewallBackend to the firewall this host uses";
          const explicit = firewallOf(lab, HOST, "ufw");
          expect((await probeUnder(shell, explicit, "ufw")).state.effective).toBe(inactive);
          const refused = await run(shell, explicit, "apply", "ufw (inactive)");
          expect({ code: refused.code, stderr: refused.stderr }).toEqual({ code: 1, stderr: `mpi-hosts: ${inactive}\n` });
          expect(changes(await calls())).toEqual([]);

          // Remove works while ufw is inactive too: the rules are found through `ufw show added`.
          expect(await ok(shell, explicit, "remove", "ufw")).toBe("mpi-hosts: ufw: deleted 4 rules with the comment mpi-hosts\n");
          expect(changes(await calls())).toEqual([
            `ufw delete allow from ${host1} to any port 50000:50099 proto tcp`,
            `ufw delete allow from ${host1} to any port 50100:50199 proto tcp`,
            "ufw delete deny 50000:50099/tcp",
            "ufw delete deny 50100:50199/tcp",
          ]);
          expect(linesOf(await rootOk(lab, HOST, "ufw show added"))).toEqual([
            "Added user rules (see 'ufw status' for running firewall):",
            "ufw allow 2400/tcp",
          ]);
        });
      });

      describe.each(["bash", "zsh", "dash"])("firewalld (double) under %s", (shell) => {
        test("auto picks a running firewalld when ufw is inactive; rich rules added permanent and running, never a reload (the admin's runtime-only rule stays); runtime drift; remove; the interface's zone", async () => {
          const facet = firewallOf(lab, HOST, "auto");
          const host1 = labHost(lab, "host1").address;
          // A rule the admin (or fail2ban) added at run time only: a --reload would throw it away.
          const theirs = 'rule priority="0" port port="2222" protocol="tcp" drop';
          await resetDoubles(
            `mkdir -p /var/lib/mpi-hosts-doubles/ufw && echo 0 >/var/lib/mpi-hosts-doubles/ufw/active\nfirewall-cmd --zone=public ${shellQuote(`--add-rich-rule=${theirs}`)} >/dev/null`,
          );
          const fresh = await probeUnder(shell, facet, "firewalld");
          expect(fresh.state).toMatchObject({
            backend: "firewalld",
            rules: "",
            effective: "open",
            zone: "public",
            firewalld_version: "1.3.3",
          });
          expect(changes(await calls())).toEqual([]);

          await ok(shell, facet, "apply", "firewalld");
          const rich = [
            `rule priority="-30001" family="ipv4" source address="${host1}/32" port port="50000-50099" protocol="tcp" accept`,
            `rule priority="-30001" family="ipv4" source address="${host1}/32" port port="50100-50199" protocol="tcp" accept`,
            'rule priority="-30000" port port="50000-50099" protocol="tcp" drop',
            'rule priority="-30000" port port="50100-50199" protocol="tcp" drop',
          ];
          expect(changes(await calls())).toEqual([
            ...rich.map((r) => `firewall-cmd --permanent --zone=public ${arg(`--add-rich-rule=${r}`)}`),
            ...rich.map((r) => `firewall-cmd --zone=public ${arg(`--add-rich-rule=${r}`)}`),
          ]);
          const runtime = () => rootOk(lab, HOST, "cat /var/lib/mpi-hosts-doubles/firewalld/runtime/public").then(linesOf);
          expect(await runtime()).toEqual([theirs, ...rich]);
          await calls();
          expect((await probeUnder(shell, facet, "firewalld")).differences).toEqual([]);
          expect(await ok(shell, facet, "apply", "firewalld (no change)")).toBe(
            "mpi-hosts: firewall (firewalld): MPI ports already open to the cluster network only, no change\n",
          );
          expect(changes(await calls())).toEqual([]);

          // A rule taken out of the running configuration only: drift in rules and in effective; apply repairs the running one only.
          await rootOk(lab, HOST, `firewall-cmd --zone=public ${shellQuote(`--remove-rich-rule=${rich[0]}`)} >/dev/null`);
          await calls();
          const drifted = await probeUnder(shell, facet, "firewalld");
          expect(describeDifferences(drifted.differences)).toBe(
            `effective: "firewalld: the mpi-hosts rules of zone public differ between the running and the permanent configuration (a reload or reboot would change them; apply puts them in both)" (expected "open")\n` +
              `rules:\n  + allow tcp 50000-50099 from ${host1}/32`,
          );
          await ok(shell, facet, "apply", "firewalld (repair)");
          expect(changes(await calls())).toEqual([
            ...rich.slice(1).map((r) => `firewall-cmd --zone=public ${arg(`--remove-rich-rule=${r}`)}`),
            ...rich.map((r) => `firewall-cmd --zone=public ${arg(`--add-rich-rule=${r}`)}`),
          ]);
          expect((await probeUnder(shell, facet, "firewalld")).differences).toEqual([]);
          expect(await runtime()).toEqual([theirs, ...rich]);
          await calls();

          expect(await ok(shell, facet, "remove", "firewalld")).toContain(
            "firewalld: deleted 8 rich rules of mpi-hosts from the permanent and the running configuration (no reload)",
          );
          expect(changes(await calls())).toEqual([
            ...rich.map((r) => `firewall-cmd --permanent --zone=public ${arg(`--remove-rich-rule=${r}`)}`),
            ...rich.map((r) => `firewall-cmd --zone=public ${arg(`--remove-rich-rule=${r}`)}`),
          ]);
          expect(await rootOk(lab, HOST, "cat /var/lib/mpi-hosts-doubles/firewalld/permanent/*")).toBe("");
          expect(await runtime()).toEqual([theirs]);

          // The cluster interface (eth0, on the lab network) bound to zone internal: the rules go there, not to the default zone.
          await rootOk(lab, HOST, "echo 'eth0 internal' >/var/lib/mpi-hosts-doubles/firewalld/interface-zones");
          expect((await probeUnder(shell, facet, "firewalld")).state).toMatchObject({ zone: "internal" });
          await calls();
          await ok(shell, facet, "apply", "firewalld (zone internal)");
          expect(changes(await calls())).toEqual([
            ...rich.map((r) => `firewall-cmd --permanent --zone=internal ${arg(`--add-rich-rule=${r}`)}`),
            ...rich.map((r) => `firewall-cmd --zone=internal ${arg(`--add-rich-rule=${r}`)}`),
          ]);
          await ok(shell, facet, "remove", "firewalld (zone internal)");
          expect(
            await rootOk(lab, HOST, "cat /var/lib/mpi-hosts-doubles/firewalld/permanent/* /var/lib/mpi-hosts-doubles/firewalld/runtime/*"),
          ).toBe(`${theirs}\n`);

          await rootOk(lab, HOST, "echo 0 >/var/lib/mpi-hosts-doubles/firewalld/running");
          const stopped = firewallOf(lab, HOST, "firewalld");
          const sentence =
            "firewalld: firewalld is not running, so its rules are not enforced (and firewall-cmd cannot change them); start it (systemctl start firewalld) or set firewallBackend to the firewall this host uses";
          expect((await probeUnder(shell, stopped, "firewalld")).state.effective).toBe(sentence);
          const refused = await run(shell, stopped, "apply", "firewalld (stopped)");
          expect({ code: refused.code, stderr: refused.stderr }).toEqual({ code: 1, stderr: `mpi-hosts: ${sentence}\n` });
        });

        // Issue 13 review: the zone was picked by interface only. firewalld hands a packet to the zone its source is bound
        // to before the zone of its interface (firewalld.zones(5), "Which zone is used for a connection?").
        test("the cluster network bound to a zone by source: the rules go to that zone, not to the interface's; a source holding only part of the network does not count", async () => {
          const facet = firewallOf(lab, HOST, "firewalld");
          const network = firewallTestCluster(lab).mpi.network;
          const host1 = labHost(lab, "host1").address;
          await resetDoubles(
            [
              "mkdir -p /var/lib/mpi-hosts-doubles/firewalld && echo 'eth0 internal' >/var/lib/mpi-hosts-doubles/firewalld/interface-zones",
              ...["", "--permanent "].flatMap((p) => [
                `firewall-cmd ${p}--zone=trusted --add-source=${network} >/dev/null`,
                `firewall-cmd ${p}--zone=dmz --add-source=${host1}/32 >/dev/null`,
              ]),
            ].join("\n"),
          );
          expect(await rootOk(lab, HOST, "firewall-cmd --get-active-zones")).toBe(
            `dmz\n  sources: ${host1}/32\ninternal\n  interfaces: eth0\ntrusted\n  sources: ${network}\n`,
          );
          await calls();
          expect((await probeUnder(shell, facet, "firewalld (source zone)")).state).toMatchObject({ zone: "trusted", rules: "" });
          await ok(shell, facet, "apply", "firewalld (source zone)");
          const added = changes(await calls());
          expect(added.length).toBeGreaterThan(0);
          expect(added.filter((c) => !/^firewall-cmd (--permanent )?--zone=trusted '--add-rich-rule=/.test(c))).toEqual([]);
          expect((await probeUnder(shell, facet, "firewalld (source zone)")).differences).toEqual([]);
          await ok(shell, facet, "remove", "firewalld (source zone)");
          expect(
            await rootOk(lab, HOST, "cat /var/lib/mpi-hosts-doubles/firewalld/permanent/* /var/lib/mpi-hosts-doubles/firewalld/runtime/*"),
          ).toBe("");
          // Without the binding, the interface's zone again.
          await rootOk(lab, HOST, `firewall-cmd --zone=trusted --remove-source=${network} >/dev/null`);
          expect((await probeUnder(shell, facet, "firewalld (interface zone)")).state).toMatchObject({ zone: "internal" });
        });
      });
    });
  });
});
