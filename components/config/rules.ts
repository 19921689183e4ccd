/**
 * Cross-field rules the schema cannot express. Each rule reads the schema-valid raw config
 * (defaults filled in) and returns problems at the path of the field to change.
 */
import { configPath as at, show } from "./schema";
import {
  EPHEMERAL,
  cidrContains,
  parseCidr,
  parsePortRange,
  portCount,
  rangeContains,
  rangesOverlap,
  formatPortRange,
  isIpv4,
} from "./net";
import { backendExistsOn, backendsOn } from "./firewallBackends";
import { RawConfig } from "./rawConfig";
import { ConfigProblem, PortRange } from "./types";

/**
 * The raw config after the schema pass (shapes right, defaults in, typed from the schema: rawConfig.ts) once every host
 * has an address: the stack config's, or the one ssh.useSshConfig found (load.ts refuses a host left without one).
 */
export type RawCluster = Omit<RawConfig, "hosts"> & { hosts: Array<RawConfig["hosts"][number] & { address: string }> };

type Rule = (c: RawCluster) => ConfigProblem[];
const error = (path: string, message: string): ConfigProblem => ({ path, message, severity: "error" });
const warning = (path: string, message: string): ConfigProblem => ({ path, message, severity: "warning" });

const uniqueHostNames: Rule = (c) => {
  const firstIndex = new Map<string, number>();
  return c.hosts.flatMap((h, i) => {
    const key = h.name.toLowerCase();
    const first = firstIndex.get(key);
    if (first === undefined) {
      firstIndex.set(key, i);
      return [];
    }
    return [error(`mpi-hosts:hosts[${i}].name`, `${show(h.name)} is also the name of hosts[${first}] (a unique name per host)`)];
  });
};

const uniqueAddresses: Rule = (c) => {
  const firstIndex = new Map<string, number>();
  return c.hosts.flatMap((h, i) => {
    const key = h.address.toLowerCase();
    const first = firstIndex.get(key);
    if (first === undefined) {
      firstIndex.set(key, i);
      return [];
    }
    return [
      error(`mpi-hosts:hosts[${i}].address`, `${show(h.address)} is also the address of hosts[${first}] (a unique address per host)`),
    ];
  });
};

const userIsSet: Rule = (c) =>
  c.ssh.user
    ? []
    : c.hosts.flatMap((h, i) =>
        h.user ? [] : [error(`mpi-hosts:hosts[${i}].user`, "missing, and ssh.user is not set (a login user for this host)")],
      );

function portRangeProblems(path: string, text: string): ConfigProblem[] {
  const range = parsePortRange(text);
  if (range.first > range.last) return [error(path, `${show(text)} runs backwards (FIRST-LAST with FIRST <= LAST)`)];
  if (range.first < 1024 || range.last > 65535) {
    return [error(path, `${show(text)} is outside the unprivileged ports (1024-65535: MPI runs as an ordinary user)`)];
  }
  return [];
}

/** The fixed port ranges of the config: btlPorts, and oobPorts unless the runtime uses ephemeral ports. */
function fixedRanges(c: RawCluster): Array<"btlPorts" | "oobPorts"> {
  return c.mpi.oobPorts === EPHEMERAL ? ["btlPorts"] : ["btlPorts", "oobPorts"];
}

const portRangesAreSound: Rule = (c) => fixedRanges(c).flatMap((key) => portRangeProblems(at(`/mpi/${key}`), c.mpi[key]));

function soundRange(text: string): PortRange | undefined {
  return text === EPHEMERAL || portRangeProblems("", text).length ? undefined : parsePortRange(text);
}

/** Measured (bench/results/concurrent-jobs-f38d0a2.txt): with a fixed runtime range, 12 of 24 concurrent mpiruns from one host failed. */
const fixedRuntimeRangeAdmitsOneJob: Rule = (c) =>
  c.mpi.oobPorts === EPHEMERAL || !soundRange(c.mpi.oobPorts)
    ? []
    : [
        warning(
          at("/mpi/oobPorts"),
          `${c.mpi.oobPorts} lets only one mpirun at a time start on each host: mpirun listens on every free port of a fixed runtime range (PRRTE and ORTE oob_tcp_listener.c), so a second mpirun started on that host meanwhile fails ("PRTE has lost communication with a remote daemon"); leave oobPorts at ephemeral (the default) for concurrent jobs`,
        ),
      ];

const portRangesDoNotOverlap: Rule = (c) => {
  const btl = soundRange(c.mpi.btlPorts);
  const oob = soundRange(c.mpi.oobPorts);
  if (!btl || !oob || !rangesOverlap(btl, oob)) return [];
  return [
    error(
      at("/mpi/oobPorts"),
      `${formatPortRange(oob)} overlaps btlPorts ${formatPortRange(btl)} (separate ranges for MPI and runtime traffic)`,
    ),
  ];
};

// The ephemeral runtime window is only ever opened (no deny rule), so an SSH port inside it is safe.
/** The ephemeral window is tens of thousands of ports, where every service bound to port 0 listens: never to every address. */
const ephemeralRuntimeNotToEveryone: Rule = (c) => {
  // Without allowAnywhere, networksAreSound already refuses 0.0.0.0/0.
  if (c.mpi.oobPorts !== EPHEMERAL || !c.firewall.allowAnywhere) return [];
  return (c.firewall.allowFrom ?? []).flatMap((cidr, i) => {
    const parsed = parseCidr(cidr);
    return typeof parsed !== "string" && parsed.prefix === 0
      ? [
          error(
            at(`/firewall/allowFrom/${i}`),
            `${show(cidr)} with oobPorts: ephemeral would open every ephemeral port (32768-65535) of every host to every address (a narrower network, or a fixed oobPorts range such as 50100-50199)`,
          ),
        ]
      : [];
  });
};

const portRangesAvoidSsh: Rule = (c) => {
  const ranges = fixedRanges(c).flatMap((key) => {
    const range = soundRange(c.mpi[key]);
    return range ? [{ key, range }] : [];
  });
  return c.hosts.flatMap((h) => {
    const port = h.port ?? c.ssh.port;
    return ranges
      .filter(({ range }) => rangeContains(range, port))
      .map(({ key }) =>
        error(at(`/mpi/${key}`), `${c.mpi[key]} contains the SSH port ${port} of ${h.name} (a range that leaves SSH alone)`),
      );
  });
};

const btlRangeFitsSlots: Rule = (c) => {
  const btl = soundRange(c.mpi.btlPorts);
  if (!btl || c.hosts.length === 0) return [];
  const busiest = c.hosts.reduce((a, b) => (b.slots > a.slots ? b : a));
  if (portCount(btl) >= busiest.slots) return [];
  return [
    error(
      at("/mpi/btlPorts"),
      `${c.mpi.btlPorts} has ${portCount(btl)} ports but ${busiest.name} runs ${busiest.slots} slots (at least ${busiest.slots} ports: each rank listens on one, Open MPI issue #7130)`,
    ),
  ];
};

function cidrProblems(path: string, text: string, allowAnywhere: boolean): ConfigProblem[] {
  const cidr = parseCidr(text);
  if (typeof cidr === "string") return [error(path, `${show(text)} ${cidr} (a.b.c.d/n)`)];
  if (cidr.prefix === 0 && !allowAnywhere) {
    return [
      error(path, `${show(text)} opens the MPI ports to every address (a narrower network, or firewall.allowAnywhere: true to mean it)`),
    ];
  }
  return [];
}

const networksAreSound: Rule = (c) => [
  ...cidrProblems(at("/mpi/network"), c.mpi.network, false),
  ...(c.firewall.allowFrom ?? []).flatMap((cidr, i) => cidrProblems(at(`/firewall/allowFrom/${i}`), cidr, c.firewall.allowAnywhere)),
];

const hostsSitOnTheClusterNetwork: Rule = (c) => {
  const network = parseCidr(c.mpi.network);
  if (typeof network === "string") return [];
  return c.hosts.flatMap((h, i) =>
    isIpv4(h.address) && !cidrContains(network, h.address)
      ? [
          warning(
            at(`/hosts/${i}/address`),
            `${h.address} is outside mpi.network ${c.mpi.network} (MPI traffic, and logins with the cluster key, are confined to that network)`,
          ),
        ]
      : [],
  );
};

const verifyFromNamesAHost: Rule = (c) => {
  if (c.verify.from === undefined) return [];
  const names = c.hosts.map((h) => h.name.toLowerCase());
  if (names.includes(c.verify.from.toLowerCase())) return [];
  return [error(at("/verify/from"), `${show(c.verify.from)} is not a host (one of: ${c.hosts.map((h) => h.name).join(", ")})`)];
};

const pathsStayPut: Rule = (c) => {
  const paths = [
    { path: at("/python/prefix"), value: c.python.prefix },
    ...c.hosts.flatMap((h, i) => (h.pythonPrefix ? [{ path: at(`/hosts/${i}/pythonPrefix`), value: h.pythonPrefix }] : [])),
  ];
  return paths.flatMap(({ path, value }) => {
    if (value.split("/").some((segment) => segment === "." || segment === "..")) {
      return [error(path, `${show(value)} has a . or .. segment (a plain absolute path)`)];
    }
    if (value === "/" || /^\/+$/.test(value)) return [error(path, `${show(value)} is the root directory (a directory of its own)`)];
    return [];
  });
};

const systemPythonOnLinuxOnly: Rule = (c) =>
  c.python.kind !== "system"
    ? []
    : c.hosts.flatMap((h, i) =>
        h.os === "macos"
          ? [error(at(`/hosts/${i}/os`), `macos has no system Open MPI package (python.kind: conda for clusters with Macs)`)]
          : [],
      );

const firewallBackendFitsOs: Rule = (c) =>
  c.hosts.flatMap((h, i) => {
    const backend = h.firewallBackend ?? c.firewall.backend;
    const path = h.firewallBackend ? at(`/hosts/${i}/firewallBackend`) : at("/firewall/backend");
    return backendExistsOn(backend, h.os) ? [] : [error(path, `${backend} does not exist on ${h.os} host ${h.name} (${backendsOn(h.os)})`)];
  });

/**
 * A named nftables chain must be one we may add a rule to: not iptables-nft's own tables (only iptables may change them,
 * or iptables-save can no longer read them; the iptables backend's chain is there already), not our own table, not
 * firewalld's. Every Linux backend puts our chain into it (templates/firewall/linux/common.sh.hbs).
 */
const nftablesChainIsTheirs: Rule = (c) => {
  const named = [
    ...(c.firewall.nftables ? [{ pointer: "/firewall/nftables", value: c.firewall.nftables }] : []),
    ...c.hosts.flatMap((h, i) => (h.firewallNftables ? [{ pointer: `/hosts/${i}/firewallNftables`, value: h.firewallNftables }] : [])),
  ];
  return named.flatMap(({ pointer, value }) => {
    const table = value.table;
    if (table === "ip filter" || table === "ip6 filter")
      return [
        error(
          at(`${pointer}/table`),
          `${table} is iptables-nft's own table: rules added there with nft break iptables-save (firewall backend iptables puts its chain there by itself); name the table of the host's own nftables firewall, or leave it out`,
        ),
      ];
    if (table === "inet mpi_hosts")
      return [
        error(
          at(`${pointer}/table`),
          `inet mpi_hosts is the table of mpi-hosts itself; name the table of the host's own firewall that drops`,
        ),
      ];
    // firewalld keeps its rules in table inet firewalld (ip/ip6 firewalld in older versions) and rewrites it on every
    // reload: a chain of ours put there would go with the next firewall-cmd --reload.
    if (/^(inet|ip|ip6) firewalld$/.test(table))
      return [
        error(
          at(`${pointer}/table`),
          `${table} is firewalld's own table, which it rebuilds on every reload; name the table of the host's own nftables firewall that drops, or leave it out`,
        ),
      ];
    return [];
  });
};

const samePrefixEverywhere: Rule = (c) => {
  if (c.python.kind !== "conda") return [];
  return c.hosts.flatMap((h, i) =>
    h.pythonPrefix && h.pythonPrefix !== c.python.prefix
      ? [
          warning(
            at(`/hosts/${i}/pythonPrefix`),
            `${h.pythonPrefix} differs from python.prefix ${c.python.prefix}: mpirun starts remote daemons by its own absolute path, so keep the prefix the same on every host or launch with --prefix`,
          ),
        ]
      : [],
  );
};

/**
 * MCA keys that undo what mpi-hosts manages: extraMca is written after the managed keys, and the last one wins. Matched
 * with and without a project prefix (prte_oob_tcp_if_include is PRRTE's spelling of oob_tcp_if_include).
 */
interface Unsafe {
  wrong: string;
  expected: string;
}
const MANAGED_MCA: Array<{ name: RegExp; unsafe: (c: RawCluster) => Unsafe }> = [
  {
    name: /^btl_tcp_port_(min|range)_v[46]$/,
    unsafe: () => ({
      wrong: "overrides the MPI ports mpi-hosts sets from mpi.btlPorts, the ones the firewall opens",
      expected: "change mpi.btlPorts instead",
    }),
  },
  {
    name: /^((btl_tcp|oob_tcp|prte)_)?if_(include|exclude)$/,
    unsafe: () => ({
      wrong: "overrides the interfaces of MPI and runtime traffic, which mpi-hosts confines to mpi.network",
      expected: "change mpi.network instead",
    }),
  },
  {
    name: /^oob_tcp_(dynamic|static)_ipv[46]_ports$/,
    unsafe: (c) =>
      c.mpi.oobPorts === EPHEMERAL
        ? {
            wrong:
              "fixes the runtime's ports, which breaks concurrent jobs: mpirun listens on every free port of a fixed range, so a second mpirun started on a host fails",
            expected: "for a fixed range, set mpi.oobPorts",
          }
        : {
            wrong: "overrides the runtime ports mpi-hosts sets from mpi.oobPorts, the ones the firewall opens",
            expected: "change mpi.oobPorts instead",
          },
  },
];

/** Options that stop ssh from checking host keys, in ssh's own spellings (-o Key=value, -oKey value). */
const HOST_KEY_CHECK_OFF = /StrictHostKeyChecking\s*[=\s]\s*"?(no|off|accept-new)\b|(Global|User)KnownHostsFile\s*[=\s]\s*"?\/dev\/null/i;

function unsafeMca(c: RawCluster, name: string, value: unknown): Unsafe | undefined {
  const bare = name.replace(/^(opal|ompi|orte|prte|pmix)_(?=.+_)/, "");
  const managed = MANAGED_MCA.find((m) => m.name.test(name) || m.name.test(bare));
  if (managed) return managed.unsafe(c);
  if (HOST_KEY_CHECK_OFF.test(String(value))) {
    return {
      wrong: `turns off ssh host key checking for mpirun's daemons (${show(value)}), where mpi-hosts pins every host's key`,
      expected: "leave host key checking on",
    };
  }
  return undefined;
}

const extraMcaKeepsPromises: Rule = (c) => {
  const allowed = new Set(c.mpi.allowUnsafeMca ?? []);
  return Object.entries(c.mpi.extraMca ?? {}).flatMap(([name, value]) => {
    const unsafe = unsafeMca(c, name, value);
    if (!unsafe) return [];
    const path = at("/mpi/extraMca", name);
    return allowed.has(name)
      ? [warning(path, `${unsafe.wrong} (allowed by mpi.allowUnsafeMca)`)]
      : [error(path, `${unsafe.wrong} (${unsafe.expected}, or name ${name} in mpi.allowUnsafeMca to mean it)`)];
  });
};

export const rules: Rule[] = [
  uniqueHostNames,
  uniqueAddresses,
  userIsSet,
  portRangesAreSound,
  portRangesDoNotOverlap,
  fixedRuntimeRangeAdmitsOneJob,
  ephemeralRuntimeNotToEveryone,
  portRangesAvoidSsh,
  btlRangeFitsSlots,
  networksAreSound,
  hostsSitOnTheClusterNetwork,
  verifyFromNamesAHost,
  pathsStayPut,
  systemPythonOnLinuxOnly,
  firewallBackendFitsOs,
  nftablesChainIsTheirs,
  samePrefixEverywhere,
  extraMcaKeepsPromises,
];

export function checkRules(raw: RawCluster): ConfigProblem[] {
  return rules.flatMap((rule) => rule(raw));
}
