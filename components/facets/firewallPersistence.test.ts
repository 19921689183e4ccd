/**
 * Firewall persistence without a host: the files and blocks the scripts write, and how a `boot` difference is named.
 * The scripts themselves run on real hosts in test/lab/persistence.test.ts (reboots included).
 */
import { BLOCK_BEGIN, BLOCK_END, HEADER } from "./facet";
import { describeDifferences } from "./compare";
import {
  describeBoot,
  iptablesPersistFile,
  iptablesRulesBlock,
  nftablesIncludeBlock,
  nftablesPersistUnit,
  NOT_PERSISTENT_FINDING,
  PERSISTENT,
  unitWantsLink,
} from "./firewallPersistence";

const CHAIN_RULES = "-A MPI-HOSTS -s 10.0.0.0/24 -p tcp -m tcp --dport 50000:50099 -j ACCEPT\n";

describe("what the scripts write for the boot", () => {
  it("includes our nftables file from /etc/nftables.conf with one marked line", () => {
    expect(nftablesIncludeBlock()).toBe(`${BLOCK_BEGIN}\ninclude "/etc/mpi-hosts/[f]irewall.nft"\n${BLOCK_END}`);
  });

  it("puts the jump to our chain first in the rules.v4 block, so it is INPUT's rule 1 as at run time", () => {
    const lines = iptablesRulesBlock("MPI-HOSTS", CHAIN_RULES).split("\n");
    expect(lines).toEqual([BLOCK_BEGIN, ":MPI-HOSTS - [0:0]", "-A INPUT -j MPI-HOSTS", CHAIN_RULES.trim(), BLOCK_END]);
  });

  it("gives our own unit the transaction apply runs on a host without our chain (--noflush: the host's rules stay)", () => {
    expect(iptablesPersistFile("MPI-HOSTS", CHAIN_RULES)).toBe(
      `${HEADER}\n*filter\n:MPI-HOSTS - [0:0]\n${CHAIN_RULES}-I INPUT 1 -j MPI-HOSTS\nCOMMIT\n`,
    );
  });

  it("orders our unit after the host's own firewall loaders, which may flush (RHEL's iptables.service restores without --noflush), and before network-pre.target as they are", () => {
    const unit = nftablesPersistUnit();
    expect(unit.split("\n")[0]).toBe(HEADER);
    expect(unit).toContain(
      "\nDefaultDependencies=no\nWants=network-pre.target\n" +
        "After=local-fs.target nftables.service netfilter-persistent.service iptables.service ip6tables.service ufw.service firewalld.service\n" +
        "Before=network-pre.target shutdown.target\nConflicts=shutdown.target\n",
    );
    // The program's absolute path is put in on the host (systemd before 239 refuses a relative ExecStart).
    expect(unit).toContain("\nExecStart=@nft@ -f /etc/mpi-hosts/firewall.nft\n");
    expect(unit).toContain("\nWantedBy=multi-user.target\n");
    expect(unitWantsLink("nftables")).toBe("/etc/systemd/system/multi-user.target.wants/mpi-hosts-nftables.service");
  });
});

describe("a boot difference", () => {
  const why = "not persistent: unit X is not enabled";

  it.each([
    { keys: ["boot"], expected: `${NOT_PERSISTENT_FINDING}: unit X is not enabled` },
    { keys: ["boot", "rules"], expected: why },
    { keys: ["boot", "effective"], expected: why },
  ])("with differences in $keys reads '$expected'", ({ keys, expected }) => {
    expect(describeBoot(why, keys)).toBe(expected);
  });

  it("says persistent as is", () => {
    expect(describeBoot(PERSISTENT, ["rules"])).toBe(PERSISTENT);
  });

  it("is its own line in the drift and diff text when only the boot differs", () => {
    expect(describeDifferences([{ key: "boot", expected: PERSISTENT, actual: why }])).toBe(
      "boot: open now but not persistent: unit X is not enabled",
    );
  });

  it("is plain 'not persistent' next to rules that differ now", () => {
    const text = describeDifferences([
      { key: "boot", expected: PERSISTENT, actual: why },
      { key: "rules", expected: "allow tcp 1-2 from 10.0.0.0/24\n", actual: "" },
    ]);
    expect(text.split("\n")[0]).toBe("boot: not persistent: unit X is not enabled");
  });
});
