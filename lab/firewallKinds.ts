/**
 * The firewalls a lab host can come with: the ones real admins leave on their machines (none, iptables DROP, ufw,
 * an nftables ruleset with a drop policy: a test that passes only on an open host proves little). Each
 * kind is set up on the host's first boot the way its admin would (a package installed and enabled, a hand-written
 * /etc/nftables.conf) and loaded on every boot the way the OS does it (nftables.service runs `nft -f
 * /etc/nftables.conf`, ufw.service runs `/lib/ufw/ufw-init start`); the boot script (lab/boot.ts) holds the shell.
 */
import { cachedDeb, debCacheDir } from "./debianPackages";

export const FIREWALL_KINDS = ["none", "iptables", "ufw", "nftables-debian", "nftables-foreign"] as const;
export type FirewallKind = (typeof FIREWALL_KINDS)[number];

/** What the lab has always given a host: INPUT policy DROP, only SSH in. */
export const DEFAULT_FIREWALL: FirewallKind = "iptables";

export const FIREWALL_KIND_HELP: Record<FirewallKind, string> = {
  none: "no firewall at all",
  iptables: "iptables filter INPUT policy DROP; loopback, replies and SSH accepted (loaded at every boot)",
  ufw: "Debian's ufw, enabled: default deny incoming, SSH allowed (ufw-init at every boot)",
  "nftables-debian": "a hand-written Debian-style /etc/nftables.conf: table inet filter, input policy drop, replies, lo and SSH accepted",
  "nftables-foreign":
    "Debian's stock /etc/nftables.conf (inet filter, accept) plus a second table of its own, ip guard, input policy drop (SSH accepted)",
};

export function isFirewallKind(value: string): value is FirewallKind {
  return (FIREWALL_KINDS as readonly string[]).includes(value);
}

/**
 * The firewall kind of each host, in order, from `--firewall`: one kind for every host (`ufw`), one per host in
 * order (`none,iptables,ufw`), or by host name (`host2=ufw,host5=nftables-foreign`, the others keep the default).
 */
export function parseFirewallKinds(spec: string, hostNames: string[]): FirewallKind[] {
  const items = spec
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (items.length === 0) throw new Error(`--firewall is empty; give one of ${FIREWALL_KINDS.join(", ")}, a list, or HOST=KIND pairs`);
  const kind = (text: string): FirewallKind => {
    if (!isFirewallKind(text)) throw new Error(`firewall kind '${text}' is not one of ${FIREWALL_KINDS.join(", ")}`);
    return text;
  };
  if (items.every((i) => i.includes("="))) {
    const kinds = hostNames.map(() => DEFAULT_FIREWALL);
    for (const item of items) {
      const [host, value] = item.split("=", 2);
      const at = hostNames.indexOf(host);
      if (at < 0) throw new Error(`--firewall names host '${host}', but the lab's hosts are ${hostNames.join(", ")}`);
      kinds[at] = kind(value);
    }
    return kinds;
  }
  if (items.some((i) => i.includes("="))) throw new Error(`--firewall mixes HOST=KIND pairs and plain kinds: '${spec}'`);
  if (items.length === 1) return hostNames.map(() => kind(items[0]));
  if (items.length !== hostNames.length)
    throw new Error(
      `--firewall lists ${items.length} kinds for ${hostNames.length} hosts; give one kind, one per host, or HOST=KIND pairs`,
    );
  return items.map(kind);
}

/** One word for a lab's firewall: the kind all its hosts share, or each host's. */
export function describeFirewalls(kinds: FirewallKind[]): string {
  return new Set(kinds).size === 1 ? kinds[0] : kinds.join(",");
}

/** Debian's ufw package, downloaded once by scripts/setup.sh (the lab image does not carry it). */
export function ufwPackagePath(dir = debCacheDir()): string {
  const deb = cachedDeb("ufw", dir);
  if (!deb) throw new Error(`a lab host with firewall ufw needs Debian's ufw package in ${dir}; run scripts/setup.sh`);
  return deb;
}

/** The /etc/nftables.conf a careful Debian admin writes: everything dropped but replies, loopback and SSH. */
export function debianDropNftablesConf(sshPort: number): string {
  return `#!/usr/sbin/nft -f
# Written by the admin of this host (mpi-hosts lab: firewall nftables-debian).

flush ruleset

table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		iif "lo" accept
		tcp dport ${sshPort} accept
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
	}
	chain output {
		type filter hook output priority filter;
	}
}
`;
}

/** Debian's stock /etc/nftables.conf (accept everything), plus a guard table of the admin's own that drops. */
export function foreignTableNftablesConf(sshPort: number): string {
  return `#!/usr/sbin/nft -f

flush ruleset

table inet filter {
	chain input {
		type filter hook input priority filter;
	}
	chain forward {
		type filter hook forward priority filter;
	}
	chain output {
		type filter hook output priority filter;
	}
}

# The admin's own guard (mpi-hosts lab: firewall nftables-foreign).
table ip guard {
	chain input {
		type filter hook input priority filter - 10; policy drop;
		ct state established,related accept
		iif "lo" accept
		tcp dport ${sshPort} accept
	}
}
`;
}

/** The /etc/nftables.conf a kind writes on first boot, if any. */
export function nftablesConfFor(kind: FirewallKind, sshPort: number): string {
  if (kind === "nftables-debian") return debianDropNftablesConf(sshPort);
  if (kind === "nftables-foreign") return foreignTableNftablesConf(sshPort);
  return "";
}
