/**
 * Issue 13 on the real engine: five trixie lab hosts whose firewalls someone else set up (none, iptables DROP, ufw,
 * a Debian-style /etc/nftables.conf with inet filter policy drop, a foreign ip guard table with policy drop), the lab
 * stack config as `npm run lab -- up` writes it (firewall backend auto). `pulumi up` converges and the verification
 * job passes; `npm run drift` is clean; one of our rules deleted by hand on every host is named by `npm run drift`
 * and repaired by `pulumi up --refresh`; `pulumi destroy` gives every host its ruleset and files back byte for byte.
 */
import { HAND_DELETION, hostOfKind, KINDS, SNAPSHOT } from "../lab/support/firewallKinds";
import { drift, EngineLab, expectExit, pulumi, root, startEngineLab, stopEngineLab, Timings } from "./support";

const NAME = "fwe1";
const timings = new Timings("firewallKinds e2e (5 trixie hosts, one firewall kind each) wall times");

let e: EngineLab;
const original: Record<string, string> = {};

beforeAll(async () => {
  e = await timings.time("lab up + stack init", () => startEngineLab(NAME, KINDS.length, "trixie", { firewall: KINDS }));
  for (const kind of KINDS) original[kind] = await root(e.lab, hostOfKind(kind), SNAPSHOT);
});

afterAll(async () => {
  process.stdout.write(timings.report());
  await stopEngineLab(e, NAME);
});

describe("the real engine on five hosts with five firewalls set up by someone else", () => {
  it("pulumi up converges every host (backend auto) and the verification job passes", async () => {
    const up = await timings.time("pulumi up", () => pulumi(e, ["up", "--yes", "--skip-preview"]));
    expectExit(up, 0);
    const report = JSON.parse((await pulumi(e, ["stack", "output", "verification", "--json"])).stdout) as { failures: unknown[] };
    expect(report.failures).toEqual([]);
    // As plain tools see it: our chain inside the admins' own drop tables, jumped to after their own rules.
    expect(await root(e.lab, hostOfKind("nftables-debian"), "nft list chain inet filter input")).toMatch(
      /\ttcp dport 2400 accept\n\t\tjump mpi_hosts comment "mpi-hosts"\n\t}/,
    );
    expect(await root(e.lab, hostOfKind("nftables-foreign"), "nft list chain ip guard input")).toMatch(
      /\ttcp dport 2400 accept\n\t\tjump mpi_hosts comment "mpi-hosts"\n\t}/,
    );
    expect(await root(e.lab, hostOfKind("ufw"), "ufw status")).toContain("# mpi-hosts");
    expect(await root(e.lab, hostOfKind("iptables"), "iptables -S INPUT 1; ip6tables -S INPUT 1")).toBe(
      "-A INPUT -j MPI-HOSTS\n-A INPUT -j MPI-HOSTS\n",
    );
    expect(await root(e.lab, hostOfKind("none"), "nft list tables")).toContain("table inet mpi_hosts");
  });

  it("npm run drift finds nothing", async () => {
    expectExit(await timings.time("drift (clean)", () => drift(e)), 0);
  });

  it("one of our rules deleted by hand on every host: npm run drift names each host's firewall; pulumi up --refresh repairs all", async () => {
    for (const kind of KINDS) await root(e.lab, hostOfKind(kind), HAND_DELETION[kind]);
    const found = await timings.time("drift (5 hand deletions)", () => drift(e));
    expectExit(found, 2);
    for (const kind of KINDS)
      expect(found.stdout).toContain(`${hostOfKind(kind)}:\n  firewall: changed on the host since the last \`pulumi up\``);
    expectExit(await timings.time("pulumi up --refresh", () => pulumi(e, ["up", "--yes", "--skip-preview", "--refresh"])), 0);
    expectExit(await timings.time("drift (after repair)", () => drift(e)), 0);
  });

  it("pulumi destroy gives every host its ruleset and files back, byte for byte", async () => {
    expectExit(await timings.time("pulumi destroy", () => pulumi(e, ["destroy", "--yes", "--skip-preview"])), 0);
    for (const kind of KINDS) {
      expect({ kind, snapshot: await root(e.lab, hostOfKind(kind), SNAPSHOT) }).toEqual({ kind, snapshot: original[kind] });
    }
  });
});
