/**
 * firewall: opens exactly the MPI port ranges (BTL and runtime/OOB, TCP) to `firewall.allowFrom` and closes
 * the fixed ones to everyone else, through the host's own firewall. The desired state is semantic and the same for every
 * backend (`allow tcp 50000-50099 from 10.0.0.0/24`, `deny tcp 50000-50099 from others`); each backend's probe
 * reads back only what mpi-hosts owns (table inet mpi_hosts, chain MPI-HOSTS, rules tagged mpi-hosts, anchor
 * com.apple/mpi-hosts) and prints the same lines, so drift reads the same on every host.
 *
 * "deny" closes new connections only (conntrack state / pf `flags S/SA`): Linux and macOS pick ephemeral source
 * ports from ranges that contain the usual MPI ports (32768-60999, 49152-65535), and replies to the host's own
 * outgoing connections must keep arriving.
 *
 * Backend specifics are data here (rendered rule files, command arguments, tags); templates/firewall/<backend>/
 * holds each backend's shell functions, and templates/firewall/<os>/ the three scripts that call them.
 */
import { Cluster, FirewallBackend, Host, Mpi } from "../config/types";
import { BackendOn, backendsOn } from "../config/firewallBackends";
import { shellQuote } from "../templates/shellQuote";
import { templates } from "../templates/templates";
import { facetInputsRef } from "./inputSchemas";
import { defineFacet, FACET_TIMEOUT_SECONDS, FacetRender, FacetState, HEADER, RenderedFacet, renderFromInputs } from "./facet";
import { persistVars, PERSISTENT } from "./firewallPersistence";
import { pfPersistVars } from "./firewallPersistencePf";
import { renderScripts } from "./scripts";

export type LinuxBackend = BackendOn<"linux">;
export type ConcreteBackend = LinuxBackend | "pf";

/** The order `auto` tries on Linux: a front end that is in charge wins over the tables underneath it. */
export const LINUX_AUTO_ORDER: LinuxBackend[] = ["ufw", "firewalld", "iptables", "nftables"];

/** Marks what mpi-hosts owns where the firewall has no namespace of its own (ufw comments). */
export const FIREWALL_TAG = "mpi-hosts";
export const NFT_TABLE = "mpi_hosts";
/**
 * Our chain inside another nftables table whose input chain drops (an accept in our own table cannot override that
 * drop: every base chain on a hook sees the packet, and any drop wins), jumped to by one rule commented FIREWALL_TAG,
 * placed after their own rules (before a last catch-all drop or reject), so that their earlier drops still decide
 * first. The tables each backend owns itself are never a guest's host.
 */
export const NFT_GUEST_CHAIN = "mpi_hosts";
export const NFT_OWN_TABLES: Record<LinuxBackend, string[]> = {
  nftables: [`inet ${NFT_TABLE}`],
  // iptables-nft's tables (ip filter, ip6 filter) are added on the host (fw_ipt_nft_tables): with iptables-legacy the
  // same names are an admin's native nftables tables, which drop like any other. ufw drives iptables.
  iptables: [],
  ufw: [],
  // firewalld's nftables backend: inet firewalld (>= 1.0), ip/ip6/inet firewalld (0.6 to 0.9).
  firewalld: ["inet firewalld", "ip firewalld", "ip6 firewalld"],
};
export const IPTABLES_CHAIN = "MPI-HOSTS";
/** firewalld rich rules have no comment: these two priorities are our tag, and put allow before deny before everything else. */
export const FIREWALLD_PRIORITY = { allow: -30001, deny: -30000 };
export const PF_ANCHOR = "com.apple/mpi-hosts";
export const PF_ANCHOR_FILE = "/etc/pf.anchors/mpi-hosts";
/** What apply did to pf and the Application Firewall, so that remove undoes exactly that. */
export const MACOS_STATE_DIR = "/var/db/mpi-hosts";
/** Our pf enable token and the boot it was taken in (written by apply, and at boot by our LaunchDaemon's script). */
export const PF_TOKEN_FILE = `${MACOS_STATE_DIR}/pf-token`;
export const SOCKETFILTERFW = "/usr/libexec/ApplicationFirewall/socketfilterfw";
/** Binaries that accept MPI connections on macOS: the interpreter and Open MPI 4 (orted) / 5 (prted, prterun) launchers. */
export const MPI_BINARIES = ["python3", "mpirun", "mpiexec", "orted", "prted", "prterun"];

/** What the firewall reads from the cluster config (a Cluster is one): part of the facet's declared inputs. */
export interface FirewallCluster {
  mpi: Pick<Mpi, "btlPorts" | "oobPorts" | "oobEphemeral" | "network">;
  firewall: Pick<Cluster["firewall"], "allowFrom">;
}
/** What the firewall reads from the host's config (a Host is one). */
export type FirewallHost = Pick<Host, "name" | "os" | "firewallBackend" | "firewallPersist" | "firewallNftables" | "pythonPrefix">;

export interface PortRule {
  action: "allow" | "deny";
  first: number;
  last: number;
  /** Source network; absent for "from others". */
  from?: string;
}

/**
 * Allow rules for every (range, network), then one deny per fixed range: the order every backend keeps. The ephemeral
 * runtime window (oobPorts: ephemeral) is only opened, never closed to others: every service that listens on a port
 * the system handed out lives there, and closing it would change what the host's own firewall decided for them.
 */
export function firewallRules(cluster: FirewallCluster): PortRule[] {
  const ranges = [cluster.mpi.btlPorts, cluster.mpi.oobPorts];
  const closed = cluster.mpi.oobEphemeral ? [cluster.mpi.btlPorts] : ranges;
  const networks = [...new Set(cluster.firewall.allowFrom)];
  return [
    ...ranges.flatMap((r) => networks.map((from): PortRule => ({ action: "allow", first: r.first, last: r.last, from }))),
    ...closed.map((r): PortRule => ({ action: "deny", first: r.first, last: r.last })),
  ];
}

export function describeRule(rule: PortRule): string {
  return `${rule.action} tcp ${rule.first}-${rule.last} from ${rule.from ?? "others"}`;
}

/** The semantic rule lines, as the probe prints them (one per line, final newline). */
export function describeRules(rules: PortRule[]): string {
  return rules.map((r) => `${describeRule(r)}\n`).join("");
}

/** The backends a host's scripts carry: the configured one, or every candidate of `auto` in detection order. */
export function backendCandidates(host: Pick<Host, "name" | "os" | "firewallBackend">): ConcreteBackend[] {
  const backend: FirewallBackend = host.firewallBackend;
  if (backend === "none") return [];
  if (host.os === "macos") {
    if (backend !== "auto" && backend !== "pf")
      throw new Error(`firewall backend ${backend} does not exist on macos host ${host.name} (${backendsOn("macos")})`);
    return ["pf"];
  }
  if (backend === "pf") throw new Error(`firewall backend pf does not exist on linux host ${host.name} (${backendsOn("linux")})`);
  return backend === "auto" ? [...LINUX_AUTO_ORDER] : [backend];
}

export function desiredFirewallState(cluster: FirewallCluster, host: Pick<Host, "os" | "firewallPersist">): FacetState {
  const state: FacetState = { rules: describeRules(firewallRules(cluster)), effective: "open" };
  // With firewallPersist off the rules are run time only by choice: the probe still reports what the boot would load,
  // as information (Linux: firewallPersistence.ts; pf: firewallPersistencePf.ts).
  if (host.firewallPersist) state.boot = PERSISTENT;
  if (host.os === "macos") state.apps = "allowed";
  return state;
}

const ports = (r: PortRule, sep: string) => (r.first === r.last ? `${r.first}` : `${r.first}${sep}${r.last}`);
const allows = (rules: PortRule[]) => rules.filter((r) => r.action === "allow");
const denies = (rules: PortRule[]) => rules.filter((r) => r.action === "deny");

/** The whole `table inet mpi_hosts`, for one `nft -f` (the leading `table; delete table` makes reloading idempotent). */
export function renderNftables(rules: PortRule[]): string {
  return templates().render("firewall/nftables/table.nft", {
    header: HEADER,
    table: NFT_TABLE,
    allow: allows(rules).map((r) => ({ from: r.from, ports: ports(r, "-") })),
    deny: denies(rules).map((r) => ({ ports: ports(r, "-") })),
  });
}

export type IpFamily = "ip" | "ip6";
const familyOf = (cidr: string): IpFamily => (cidr.includes(":") ? "ip6" : "ip");

/** The rules as a table of one address family sees them: allows from that family's networks only, every deny. */
export function rulesForFamily(rules: PortRule[], family: IpFamily): PortRule[] {
  return rules.filter((r) => r.action === "deny" || familyOf(r.from!) === family);
}

/**
 * The rules of chain MPI-HOSTS in iptables-restore syntax, exactly as `iptables -S` prints them back (with "ip6":
 * the ip6tables twin, allowing only the IPv6 networks of allowFrom).
 */
export function renderIptables(rules: PortRule[], family: IpFamily = "ip"): string {
  const own = rulesForFamily(rules, family);
  return templates().render("firewall/iptables/chain.rules", {
    chain: IPTABLES_CHAIN,
    allow: allows(own).map((r) => ({ from: r.from, ports: ports(r, ":") })),
    deny: denies(own).map((r) => ({ ports: ports(r, ":") })),
  });
}

/** The statements of our guest chain in another table of that family, one per line, as `nft list chain` prints them. */
export function nftGuestRules(rules: PortRule[], family: IpFamily): string[] {
  return rulesForFamily(rules, family).map((r) =>
    r.action === "allow"
      ? `${familyOf(r.from!)} saddr ${r.from} tcp dport ${ports(r, "-")} accept`
      : `iifname != "lo" tcp dport ${ports(r, "-")} ct state != { established, related } drop`,
  );
}

/** Template data of the guest chains (templates/firewall/linux/common.sh.hbs): what they hold, per family. */
export function nftGuestVars(rules: PortRule[]) {
  return {
    chain: NFT_GUEST_CHAIN,
    tag: FIREWALL_TAG,
    rulesIp: noNewline(describeRules(rulesForFamily(rules, "ip"))),
    rulesIp6: noNewline(describeRules(rulesForFamily(rules, "ip6"))),
    nftIp: nftGuestRules(rules, "ip").join("\n"),
    nftIp6: nftGuestRules(rules, "ip6").join("\n"),
  };
}

/**
 * The chain named in config (firewall.nftables, hosts[].firewallNftables) as the guest partial reads it: "FAMILY TABLE
 * CHAIN" in place of the input chains the probe would pick in that table; the host's name for the message when the
 * host has no such chain.
 */
export function nftNamedChainVars(host: Pick<Host, "name" | "firewallNftables">) {
  const c = host.firewallNftables;
  return { named: c ? `${c.family} ${c.table} ${c.chain}` : "", host: host.name };
}

/** Arguments of one `ufw` call per rule, in order (ufw appends, so allows come before denies). */
export function ufwCommands(rules: PortRule[]): string[][] {
  return rules.map((r) =>
    r.action === "allow"
      ? ["allow", "from", r.from!, "to", "any", "port", ports(r, ":"), "proto", "tcp", "comment", FIREWALL_TAG]
      : ["deny", "proto", "tcp", "to", "any", "port", ports(r, ":"), "comment", FIREWALL_TAG],
  );
}

/** Rich rules exactly as `firewall-cmd --list-rich-rules` prints them (firewalld's Rich_Rule.__str__ order). */
export function firewalldRichRules(rules: PortRule[]): string[] {
  return rules.map((r) =>
    r.action === "allow"
      ? `rule priority="${FIREWALLD_PRIORITY.allow}" family="ipv4" source address="${r.from}" port port="${ports(r, "-")}" protocol="tcp" accept`
      : `rule priority="${FIREWALLD_PRIORITY.deny}" port port="${ports(r, "-")}" protocol="tcp" drop`,
  );
}

/** /etc/pf.anchors/mpi-hosts, loaded into anchor com.apple/mpi-hosts (the stock /etc/pf.conf evaluates com.apple/*). */
export function renderPfAnchor(rules: PortRule[]): string {
  return templates().render("firewall/pf/anchor.conf", {
    header: HEADER,
    anchor: PF_ANCHOR,
    allow: allows(rules).map((r) => ({ from: r.from, ports: ports(r, ":") })),
    deny: denies(rules).map((r) => ({ ports: ports(r, ":") })),
  });
}

const noNewline = (text: string) => text.replace(/\n$/, "");

interface BackendData {
  /** Partial holding the backend's shell functions. */
  partial: string;
  /** Files for review, by name. */
  files: Record<string, string>;
  /** Template variables under the backend's name. */
  vars: object;
}

function backendData(backend: ConcreteBackend, rules: PortRule[], cluster: FirewallCluster): BackendData {
  const partial = `firewall/${backend}/lib.sh`;
  switch (backend) {
    case "nftables": {
      const ruleset = renderNftables(rules);
      return {
        partial,
        files: { "nftables/mpi-hosts.nft": ruleset },
        vars: { table: NFT_TABLE, ruleset: noNewline(ruleset), managed: NFT_OWN_TABLES.nftables.join("\n") },
      };
    }
    case "iptables": {
      const chainRules = renderIptables(rules);
      const chainRules6 = renderIptables(rules, "ip6");
      return {
        partial,
        files: { "iptables/MPI-HOSTS.rules": chainRules, "iptables/MPI-HOSTS.rules6": chainRules6 },
        vars: {
          chain: IPTABLES_CHAIN,
          rules: noNewline(chainRules),
          rules6: noNewline(chainRules6),
        },
      };
    }
    case "ufw": {
      const commands = ufwCommands(rules);
      // A shell file for review: the directive lets shellcheck check it as sh (SC2148 without it).
      const listing =
        "#!/bin/sh\n# The ufw commands the firewall apply runs on this host (rules tagged with the comment mpi-hosts).\n" +
        commands.map((args) => `ufw ${args.map(shellQuote).join(" ")}\n`).join("");
      return { partial, files: { "ufw/commands.sh": listing }, vars: { tag: FIREWALL_TAG, commands } };
    }
    case "firewalld": {
      const richRules = firewalldRichRules(rules);
      return {
        partial,
        files: { "firewalld/rich-rules.txt": richRules.map((r) => `${r}\n`).join("") },
        vars: {
          richRules,
          tagPattern: `^rule priority="(${FIREWALLD_PRIORITY.allow}|${FIREWALLD_PRIORITY.deny})" `,
          managed: NFT_OWN_TABLES.firewalld.join("\n"),
          network: cluster.mpi.network,
        },
      };
    }
    case "pf": {
      const anchor = renderPfAnchor(rules);
      return {
        partial,
        files: { "pf/mpi-hosts": anchor },
        vars: {
          anchor: PF_ANCHOR,
          file: PF_ANCHOR_FILE,
          ruleset: noNewline(anchor),
          tokenFile: PF_TOKEN_FILE,
          header: HEADER,
        },
      };
    }
  }
}

function noBackendSentence(host: Pick<Host, "os">, candidates: ConcreteBackend[]): string {
  return host.os === "macos"
    ? "firewall backend auto: pfctl is not on this Mac; set firewallBackend: none for this host, or pf once pfctl is there"
    : `firewall backend auto: none of ${candidates.join(", ")} is in charge on this host (looked for: ufw active, firewalld running, ` +
        "iptables INPUT with a non-ACCEPT policy or rules, nft installed); install nftables, or set firewallBackend for this host (none if it has no firewall)";
}

/** The firewall facet of a host, rendered from what it reads of the config (a Cluster and a Host will do). */
export function renderFirewall(cluster: FirewallCluster, host: FirewallHost): RenderedFacet {
  return renderFromInputs(firewall, firewallInputs(cluster, host));
}

function firewallRender(cluster: FirewallCluster, host: FirewallHost): FacetRender {
  const candidates = backendCandidates(host);
  if (candidates.length === 0) throw new Error(`host ${host.name} has firewallBackend none: the firewall facet does not apply to it`);
  const rules = firewallRules(cluster);
  const desired = desiredFirewallState(cluster, host);
  const data = Object.fromEntries(candidates.map((b) => [b, backendData(b, rules, cluster)])) as Partial<
    Record<ConcreteBackend, BackendData>
  >;
  const files: Record<string, string> = { "rules.txt": desired.rules as string };
  const vars: Record<string, unknown> = {
    backend: host.firewallBackend,
    candidates: candidates.join(" "),
    // Each backend's lib, then its persist partial (the Linux ones share firewall/linux/persist.sh).
    partials: [
      ...(host.os === "linux" ? [{ partial: "firewall/linux/persist.sh" }] : []),
      ...candidates.flatMap((b) => [{ partial: data[b]!.partial }, { partial: `firewall/${b}/persist.sh` }]),
    ],
    rules: noNewline(desired.rules as string),
    persistAtBoot: host.firewallPersist ? "yes" : "no",
    noBackend: noBackendSentence(host, candidates),
    guest: { ...nftGuestVars(rules), ...nftNamedChainVars(host) },
  };
  for (const b of candidates) {
    Object.assign(files, data[b]!.files);
    vars[b] = data[b]!.vars;
  }
  if (host.os === "linux") {
    const persist = persistVars({
      chain: IPTABLES_CHAIN,
      chainRules: renderIptables(rules),
      nftGuestChain: NFT_GUEST_CHAIN,
      tag: FIREWALL_TAG,
    });
    vars.persist = persist.vars;
    Object.assign(files, persist.files);
  }
  if (host.os === "macos") {
    const pfPersist = pfPersistVars({
      anchor: PF_ANCHOR,
      anchorFile: PF_ANCHOR_FILE,
      tokenFile: PF_TOKEN_FILE,
      stateDir: MACOS_STATE_DIR,
    });
    vars.pfPersist = pfPersist.vars;
    Object.assign(files, pfPersist.files);
    const alf = {
      tool: SOCKETFILTERFW,
      prefix: host.pythonPrefix,
      names: MPI_BINARIES.join(" "),
      recordFile: `${MACOS_STATE_DIR}/alf-apps`,
      header: HEADER,
    };
    vars.alf = alf;
    files["alf/binaries.txt"] =
      `# Allowed through the Application Firewall when it is on (socketfilterfw --add/--unblockapp), symlinks resolved:\n` +
      MPI_BINARIES.map((n) => `${host.pythonPrefix}/bin/${n}\n`).join("");
  }
  return { desired, files, scripts: renderScripts(`firewall/${host.os}`, host.name, "firewall", vars) };
}

/** The facet's declared inputs: the parts of the cluster and host config the firewall reads, as plain data. */
function firewallInputs(cluster: FirewallCluster, host: FirewallHost) {
  const { btlPorts, oobPorts, oobEphemeral, network } = cluster.mpi;
  const { name, os, firewallBackend, firewallPersist, firewallNftables, pythonPrefix } = host;
  return {
    host: name,
    cluster: { mpi: { btlPorts, oobPorts, oobEphemeral, network }, firewall: { allowFrom: cluster.firewall.allowFrom } },
    hostConfig: { name, os, firewallBackend, firewallPersist, firewallNftables, pythonPrefix },
  };
}

export const firewall = defineFacet({
  name: "firewall",
  appliesTo: (_cluster, host) => host.firewallBackend !== "none",
  privileged: true,
  // Reading the rules needs root on every backend (nft, iptables, ufw status, firewall-cmd, pfctl).
  probePrivileged: true,
  timeoutSeconds: FACET_TIMEOUT_SECONDS,
  secretEnv: [],
  inputs: ({ cluster, host }) => firewallInputs(cluster, host),
  inputSchema: facetInputsRef("firewallInputs"),
  render: ({ cluster, hostConfig }) => firewallRender(cluster, hostConfig),
});
