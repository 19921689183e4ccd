/**
 * Firewall persistence: how the MPI port rules come back after a reboot, per Linux backend, the way the host's own
 * boot loads its firewall (issue 13). The scripts (templates/firewall/<backend>/persist.sh.hbs) read which loader the
 * host has enabled and write our part of what it loads; this module holds the paths, the files and the blocks.
 *
 *   nftables: when nftables.service is enabled and loads a file at boot (`nft -f FILE` in its ExecStart, drop-ins
 *     included, as systemctl shows it: /etc/nftables.conf on Debian, /etc/sysconfig/nftables.conf on RHEL), that file
 *     includes ours through one managed block at its end (after its `flush ruleset`); otherwise (not enabled, masked,
 *     a script or several files) a unit of our own loads the file (`nft -f`), ordered after nftables.service. The file
 *     holds our table, then our chain in the other tables that drop (with its jump), as apply loaded them.
 *   iptables: when netfilter-persistent is enabled and /etc/iptables/rules.v4 exists, our chain and its jump go into
 *     that file's *filter as one managed block (every other line keeps its bytes), and the ip6tables twin, as it runs,
 *     into rules.v6; otherwise a unit of our own loads both with `iptables-restore --noflush` / `ip6tables-restore`.
 *     Our chain in nftables tables of others that drop (firewall-guests.nft, as it runs) comes back through an include
 *     in /etc/nftables.conf when nftables.service is enabled, else through our unit.
 *   ufw: persists by itself (every `ufw allow` is saved in /etc/ufw/user*.rules); boot needs ENABLED=yes.
 *   firewalld: our rich rules are permanent ones; boot loads the permanent configuration.
 *   ufw and firewalld: our chain in nftables tables of others that drop (firewall-guests.nft) comes back through an
 *     include in /etc/nftables.conf, which is what makes those tables at boot on Debian; without nftables.service the
 *     probe says so (not persistent) and names what to do.
 *   pf (macOS): a block in /etc/pf.conf loads our anchor file at boot, a LaunchDaemon of ours enables pf
 *     (firewallPersistencePf.ts).
 */
import { BLOCK_BEGIN, BLOCK_END, HEADER } from "./facet";

/** Where our own boot-time files live. */
export const PERSIST_DIR = "/etc/mpi-hosts";
export const NFT_PERSIST_FILE = `${PERSIST_DIR}/firewall.nft`;
export const IPTABLES_PERSIST_FILE = `${PERSIST_DIR}/firewall.iptables`;
/**
 * With the iptables, ufw and firewalld backends: our chain in the nftables tables of others that drop, as it runs after
 * apply (the nftables backend keeps it in its own file, after its table).
 */
export const GUESTS_PERSIST_FILE = `${PERSIST_DIR}/firewall-guests.nft`;
/** The ip6tables twin of our chain, as it runs after apply (written only when there is one). */
export const IP6TABLES_PERSIST_FILE = `${PERSIST_DIR}/firewall.ip6tables`;
export const NFTABLES_CONF = "/etc/nftables.conf";
/** What RHEL's (and Fedora's) nftables.service loads at boot (`nft -f /etc/sysconfig/nftables.conf`). */
export const NFTABLES_CONF_SYSCONFIG = "/etc/sysconfig/nftables.conf";
export const IPTABLES_RULES_V4 = "/etc/iptables/rules.v4";
export const IPTABLES_RULES_V6 = "/etc/iptables/rules.v6";
/** Our unit per backend (one each, so that one backend's remove never takes the other's unit). */
export function unitName(backend: "nftables" | "iptables"): string {
  return `mpi-hosts-${backend}.service`;
}
export function unitFile(backend: "nftables" | "iptables"): string {
  return `/etc/systemd/system/${unitName(backend)}`;
}
/** What `systemctl enable` makes for WantedBy=multi-user.target (made by hand: it must work while systemd is not running). */
export function unitWantsLink(backend: "nftables" | "iptables"): string {
  return `/etc/systemd/system/multi-user.target.wants/${unitName(backend)}`;
}
/** The value of the probe's `boot` field when the host's boot loads exactly the declared rules. */
export const PERSISTENT = "persistent";
/** How the drift report names a firewall whose rules are open now but would not come back after a reboot. */
export const NOT_PERSISTENT_FINDING = "open now but not persistent";

/**
 * The loaders of the host's own firewall our unit must run after: a loader that flushes would take our rules out.
 * RHEL's iptables.service / ip6tables.service (iptables-services) restore without --noflush, replacing the tables.
 */
const HOST_LOADERS = [
  "nftables.service",
  "netfilter-persistent.service",
  "iptables.service",
  "ip6tables.service",
  "ufw.service",
  "firewalld.service",
];

/**
 * Stands for a program's absolute path in our units' ExecStart lines: systemd before 239 refuses a relative one, and
 * the path differs between hosts (/usr/sbin, /sbin). The scripts put in what `command -v` finds on the host, which the
 * probe reports (`exec_paths`); a "-" line (allowed to fail) whose program is not installed is left out.
 */
export function execPath(program: string): string {
  return `@${program}@`;
}

/**
 * Our unit, ordered as the host's own firewall loaders are (systemd.special(7), network-pre.target: pulled in and run
 * before it by services that set up a firewall, so no network is up without our rules), and after each of those
 * loaders. DefaultDependencies=no, as those loaders have: they run in early boot, before basic.target, which the
 * default dependencies would make us wait for; our files under /etc need only local-fs.target. A oneshot runs its ExecStart lines in order;
 * a leading "-" lets the boot go on when that line fails (no ip6tables file: no IPv6 chain to load).
 */
export function renderPersistUnit(backend: "nftables" | "iptables", execStart: string[]): string {
  return `${HEADER}
[Unit]
Description=mpi-hosts: the MPI port rules (firewall backend ${backend})
DefaultDependencies=no
Wants=network-pre.target
After=local-fs.target ${HOST_LOADERS.join(" ")}
Before=network-pre.target shutdown.target
Conflicts=shutdown.target

[Service]
Type=oneshot
RemainAfterExit=yes
# Programs by their absolute paths on this host (found by the firewall apply): systemd before 239 refuses relative ones.
${execStart.map((line) => `ExecStart=${line}`).join("\n")}

[Install]
WantedBy=multi-user.target
`;
}

export function nftablesPersistUnit(): string {
  return renderPersistUnit("nftables", [`${execPath("nft")} -f ${NFT_PERSIST_FILE}`]);
}

export function iptablesPersistUnit(): string {
  return renderPersistUnit("iptables", [
    `${execPath("iptables-restore")} -w --noflush ${IPTABLES_PERSIST_FILE}`,
    `-${execPath("ip6tables-restore")} -w --noflush ${IP6TABLES_PERSIST_FILE}`,
    `-${execPath("nft")} -f ${GUESTS_PERSIST_FILE}`,
  ]);
}

/**
 * The block at the end of /etc/nftables.conf (without final newline): one include of our file, spelled as a glob
 * (`/etc/mpi-hosts/[f]irewall.nft`). nft skips a glob that matches nothing (nft(8), INCLUDE FILES) but fails the whole
 * file on a plain include of a missing one: a deleted /etc/mpi-hosts would otherwise leave the host with no firewall
 * at all after the next boot, the admin's own rules included.
 */
export function nftablesIncludeBlock(file = NFT_PERSIST_FILE): string {
  const name = file.lastIndexOf("/") + 1;
  return `${BLOCK_BEGIN}\ninclude "${file.slice(0, name)}[${file[name]}]${file.slice(name + 1)}"\n${BLOCK_END}`;
}

/**
 * The block inside rules.v4's *filter (without final newline): our chain, the jump as the first rule of INPUT, our
 * rules. It goes in before the table's first rule, so the jump is INPUT's rule 1 as at run time.
 */
export function iptablesRulesBlock(chain: string, chainRules: string): string {
  return `${BLOCK_BEGIN}\n:${chain} - [0:0]\n-A INPUT -j ${chain}\n${chainRules.replace(/\n+$/, "")}\n${BLOCK_END}`;
}

/** Our own file for the unit: one iptables-restore --noflush transaction, the same one apply runs on a host without our chain. */
export function iptablesPersistFile(chain: string, chainRules: string): string {
  return `${HEADER}\n*filter\n:${chain} - [0:0]\n${chainRules.replace(/\n+$/, "")}\n-I INPUT 1 -j ${chain}\nCOMMIT\n`;
}

export interface PersistNames {
  /** Our iptables chain and its rules in iptables-restore syntax. */
  chain: string;
  chainRules: string;
  /** Our own nftables table, and the chain of ours in other tables that drop (the same name), jumped to with comment `tag`. */
  nftGuestChain: string;
  tag: string;
}

/** Template variables (under `persist`) and files for review of the Linux persistence partials. */
export function persistVars(names: PersistNames): { vars: object; files: Record<string, string> } {
  const { chain, chainRules: iptablesChainRules } = names;
  const noNewline = (text: string) => text.replace(/\n$/, "");
  const nft = { unit: unitFile("nftables"), text: nftablesPersistUnit() };
  const ipt = { unit: unitFile("iptables"), text: iptablesPersistUnit() };
  const fileText = iptablesPersistFile(chain, iptablesChainRules);
  return {
    vars: {
      dir: PERSIST_DIR,
      header: HEADER,
      guestChain: names.nftGuestChain,
      tag: names.tag,
      guestsFile: GUESTS_PERSIST_FILE,
      guestsBlock: nftablesIncludeBlock(GUESTS_PERSIST_FILE),
      nftables: {
        file: NFT_PERSIST_FILE,
        confs: [NFTABLES_CONF, NFTABLES_CONF_SYSCONFIG].join(" "),
        block: nftablesIncludeBlock(),
        unit: nft.unit,
        unitText: noNewline(nft.text),
        link: unitWantsLink("nftables"),
      },
      iptables: {
        rulesV4: IPTABLES_RULES_V4,
        rulesV6: IPTABLES_RULES_V6,
        file6: IP6TABLES_PERSIST_FILE,
        block: iptablesRulesBlock(chain, iptablesChainRules),
        file: IPTABLES_PERSIST_FILE,
        fileText: noNewline(fileText),
        unit: ipt.unit,
        unitText: noNewline(ipt.text),
        link: unitWantsLink("iptables"),
      },
    },
    files: {
      [`persist/${unitName("nftables")}`]: nft.text,
      "persist/nftables.conf-block": `${nftablesIncludeBlock()}\n`,
      [`persist/${unitName("iptables")}`]: ipt.text,
      "persist/rules.v4-block": `${iptablesRulesBlock(chain, iptablesChainRules)}\n`,
      "persist/firewall.iptables": fileText,
    },
  };
}

/**
 * The firewall's `boot` difference in words. When the running rules are as declared (no `rules` or `effective`
 * difference), the host is "open now but not persistent": MPI works until the next reboot, then silently stops.
 */
export function describeBoot(actual: string, differingKeys: string[]): string {
  const why = actual.replace(/^not persistent: /, "");
  if (actual === PERSISTENT) return PERSISTENT;
  const openNow = !differingKeys.includes("rules") && !differingKeys.includes("effective");
  return openNow ? `${NOT_PERSISTENT_FINDING}: ${why}` : `not persistent: ${why}`;
}
