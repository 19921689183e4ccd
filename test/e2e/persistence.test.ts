/**
 * Issue 13, persistence on the real engine: three trixie lab hosts (iptables DROP, a Debian /etc/nftables.conf that
 * drops, none), the lab stack config (firewall backend auto). After `pulumi up`, the include of our rules taken out of
 * /etc/nftables.conf by hand is named by `npm run drift` as "open now but not persistent" and repaired by
 * `pulumi up --refresh`; then every host reboots (runtime rules gone, boot-time loaders run) and, without Pulumi,
 * `npm run verify` passes and `npm run drift` is clean; after `pulumi destroy` and another reboot no rule of ours comes
 * back and the boot-time files are as before.
 *   npx jest --selectProjects e2e --runInBand test/e2e/persistence.test.ts
 */
import { FirewallKind } from "../../lab/firewallKinds";
import { rebootHost } from "../../lab/lab";
import { drift, EngineLab, expectExit, mpiHosts, pulumi, root, startEngineLab, stopEngineLab, Timings } from "./support";

const NAME = "ps5";
const KINDS: FirewallKind[] = ["iptables", "nftables-debian", "none"];
const HOSTS = KINDS.map((_, i) => `host${i + 1}`);
const timings = new Timings("persistence e2e (3 trixie hosts: iptables, nftables-debian, none) wall times");
/** What the host's boot loads and our files for it: the files' bytes, the enabled units, and our directory. */
const BOOT_FILES = [
  'for f in /etc/nftables.conf /etc/iptables/rules.v4 /etc/iptables/rules.v6; do if [ -e "$f" ]; then sha256sum "$f"; else echo "no $f"; fi; done',
  "find /etc/systemd/system -type l -printf '%p -> %l\\n' | LC_ALL=C sort",
  'if [ -e /etc/mpi-hosts ]; then echo "/etc/mpi-hosts exists"; else echo "no /etc/mpi-hosts"; fi',
].join("\n");
/** Rules of ours anywhere: our chain, our table and guest chains, ufw comments. */
const OURS = "{ iptables-save; ip6tables-save; nft list ruleset; } | grep -c -e MPI-HOSTS -e mpi_hosts -e mpi-hosts || true";

let e: EngineLab;
const before: Record<string, string> = {};

beforeAll(async () => {
  e = await timings.time("lab up + stack init", () => startEngineLab(NAME, KINDS.length, "trixie", { firewall: KINDS }));
  for (const h of HOSTS) before[h] = await root(e.lab, h, BOOT_FILES);
});

afterAll(async () => {
  process.stdout.write(timings.report());
  await stopEngineLab(e, NAME);
});

async function rebootAll(): Promise<void> {
  for (const h of HOSTS) await rebootHost(e.lab, h); // one at a time: each rewrites the lab's record
}

describe("the real engine, reboots and persistence", () => {
  it("pulumi up converges, and every host's firewall loads at boot", async () => {
    expectExit(await timings.time("pulumi up", () => pulumi(e, ["up", "--yes", "--skip-preview"])), 0);
    expect((await root(e.lab, "host2", "grep -c -x 'include \"/etc/mpi-hosts/\\[f\\]irewall.nft\"' /etc/nftables.conf")).trim()).toBe("1");
    expectExit(await timings.time("drift (clean)", () => drift(e)), 0);
  });

  it("the include taken out by hand is named 'open now but not persistent' by npm run drift; pulumi up --refresh writes it again", async () => {
    // What an admin who rewrites /etc/nftables.conf from their own copy does to our block.
    await root(e.lab, "host2", "sed -i '/^# BEGIN mpi-hosts managed block$/,/^# END mpi-hosts managed block$/d' /etc/nftables.conf");
    const found = await timings.time("drift (not persistent)", () => drift(e));
    expectExit(found, 2);
    expect(found.stdout).toContain(
      "host2:\n  firewall: changed on the host since the last `pulumi up`\n" +
        "    boot: open now but not persistent: nftables.service loads /etc/nftables.conf at boot, and it has no mpi-hosts block " +
        "including /etc/mpi-hosts/firewall.nft (apply adds it at the end)\n",
    );
    expectExit(await timings.time("pulumi up --refresh", () => pulumi(e, ["up", "--yes", "--skip-preview", "--refresh"])), 0);
    expectExit(await timings.time("drift (repaired)", () => drift(e)), 0);
  });

  it("after every host reboots, without Pulumi, npm run verify passes and npm run drift is clean", async () => {
    await timings.time("reboot 3 hosts", rebootAll);
    const job = await timings.time("npm run verify after the reboot", () => mpiHosts(e, "verify"));
    expect({ code: job.code, stderr: job.code === 0 ? "" : job.stderr + job.stdout }).toEqual({ code: 0, stderr: "" });
    expectExit(await timings.time("drift after the reboot", () => drift(e)), 0);
  });

  it("after pulumi destroy and a reboot no rule of ours comes back, and the boot-time files are as before", async () => {
    expectExit(await timings.time("pulumi destroy", () => pulumi(e, ["destroy", "--yes", "--skip-preview"])), 0);
    await rebootAll();
    for (const h of HOSTS) {
      expect({ host: h, ours: (await root(e.lab, h, OURS)).trim(), files: await root(e.lab, h, BOOT_FILES) }).toEqual({
        host: h,
        ours: "0",
        files: before[h],
      });
    }
  });
});
