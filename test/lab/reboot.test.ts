/**
 * The lab's reboot (lab/lab.ts rebootHost, lab/bootUnits.sh) on every firewall kind: the network namespace is new, so
 * a rule added at run time is gone, and the host's own firewall comes back exactly as its OS loads it at boot (the
 * iptables kind from the boot script, the others from the units their setup enabled: nftables.service, ufw.service).
 *   npx jest --selectProjects lab --runInBand test/lab/reboot.test.ts
 */
import { FirewallKind } from "../../lab/firewallKinds";
import { Lab, rebootHost, stopLab, startLab } from "../../lab/lab";
import { rootOk } from "../../lab/harness/labHelpers";

jest.setTimeout(300000);

const LAB = "ps4";
const KINDS: FirewallKind[] = ["iptables", "ufw", "nftables-debian", "nftables-foreign", "none"];
/** The running rules of every table, counters aside. */
const RULESET =
  "iptables-save | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]/[0:0]/'; echo ---; nft list ruleset | sed 's/counter packets [0-9]* bytes [0-9]*/counter/'";

let lab: Lab;
beforeAll(async () => {
  lab = await startLab({ name: LAB, hosts: KINDS.length, firewall: KINDS });
});
afterAll(async () => {
  await stopLab(LAB);
});

/** What marks each kind's own firewall in the ruleset. */
const MARK: Record<FirewallKind, RegExp | undefined> = {
  iptables: /:INPUT DROP/,
  ufw: /ufw-user-input/,
  "nftables-debian": /table inet filter \{\n\tchain input \{\n\t\ttype filter hook input priority filter; policy drop;/,
  "nftables-foreign": /table ip guard \{/,
  none: undefined,
};

test.each(KINDS.map((kind, i) => ({ kind, host: `host${i + 1}` })))(
  "$kind: a rule added at run time is gone after a reboot, and the host's own firewall is back as it was",
  async ({ kind, host }) => {
    const before = await rootOk(lab, host, RULESET);
    const mark = MARK[kind];
    if (mark) expect(before).toMatch(mark);
    else expect(before).not.toMatch(/DROP|drop/);
    await rootOk(
      lab,
      host,
      "nft add table inet runtime_only && nft add chain inet runtime_only input '{ type filter hook input priority 0; }'",
    );
    await rebootHost(lab, host);
    const after = await rootOk(lab, host, RULESET);
    expect(after).not.toContain("runtime_only");
    expect(after).toBe(before);
  },
);
