/**
 * The one config loader, used by index.ts (from Pulumi's config) and by the CLI (from a stack file).
 * Order: schema (with defaults) -> cross-field rules -> host keys; nothing is contacted.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import YAML from "yaml";
import { findHostKey, knownHostsName } from "./knownHosts";
import { EPHEMERAL, EPHEMERAL_PORTS, parsePortRange } from "./net";
import { checkRules, RawCluster } from "./rules";
import { NAMESPACE, validateAgainstSchema } from "./schema";
import { Cluster, ConfigProblem, FirewallBackend, Host, Os, VerifyTest } from "./types";

export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(formatProblems(problems.filter((p) => p.severity === "error")));
    this.name = "ConfigError";
  }
}

export function formatProblems(problems: ConfigProblem[]): string {
  return problems.map((p) => `${p.severity === "warning" ? "warning: " : ""}${p.path}: ${p.message}`).join("\n");
}

export function expandHome(file: string): string {
  if (file === "~") return os.homedir();
  if (file.startsWith("~/")) return path.join(os.homedir(), file.slice(2));
  return file;
}

/** Encrypted values in a stack file look like `{ secure: "v1:..." }`: present, but not readable without the engine. */
function isEncrypted(value: unknown): boolean {
  return typeof value === "object" && value !== null && "secure" in value && Object.keys(value).length === 1;
}

/** Reads the `mpi-hosts:*` keys of a Pulumi stack file, without the namespace. */
export function readStackFile(file: string): Record<string, unknown> {
  const text = fs.readFileSync(file, "utf8");
  const doc = (YAML.parse(text) ?? {}) as { config?: Record<string, unknown> };
  return namespaceKeys(doc.config ?? {});
}

/** Picks the `mpi-hosts:*` keys out of a flat config map; string values holding JSON (as the engine passes objects) are parsed. */
export function namespaceKeys(config: Record<string, unknown>): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (!key.startsWith(`${NAMESPACE}:`)) continue;
    const name = key.slice(NAMESPACE.length + 1);
    if (isEncrypted(value)) continue;
    raw[name] = typeof value === "string" && /^\s*[[{]/.test(value) ? tryJson(value) : value;
  }
  return raw;
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export interface LoadOptions {
  /** Reads the known_hosts file; injectable for tests. Returns "" when the file is missing. */
  readKnownHosts?: (file: string) => string;
}

function readFileOrEmpty(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

export interface LoadResult {
  cluster?: Cluster;
  problems: ConfigProblem[];
}

/** Validates and resolves; `cluster` is set only when there is no error (warnings may remain). */
export function loadCluster(input: Record<string, unknown>, options: LoadOptions = {}): LoadResult {
  const raw = structuredClone(input);
  const schemaProblems = validateAgainstSchema(raw);
  if (schemaProblems.length) return { problems: schemaProblems };
  const ruleProblems = checkRules(raw as unknown as RawCluster);
  if (ruleProblems.some((p) => p.severity === "error")) return { problems: ruleProblems };
  const { cluster, problems: keyProblems } = resolve(raw as unknown as RawConfig, options.readKnownHosts ?? readFileOrEmpty);
  const problems = [...ruleProblems, ...keyProblems];
  return problems.some((p) => p.severity === "error") ? { problems } : { cluster, problems };
}

/** Like loadCluster, but throws a ConfigError listing every error. */
export function loadClusterOrThrow(input: Record<string, unknown>, options: LoadOptions = {}): LoadResult & { cluster: Cluster } {
  const result = loadCluster(input, options);
  if (!result.cluster) throw new ConfigError(result.problems);
  return result as LoadResult & { cluster: Cluster };
}

interface RawConfig extends RawCluster {
  ssh: RawCluster["ssh"] & { privateKeyPath: string; knownHostsPath: string; connectTimeoutSeconds: number };
  hosts: Array<RawCluster["hosts"][number] & { hostKey?: string }>;
  python: Cluster["python"];
  mpi: RawCluster["mpi"] & { extraMca: Cluster["mpi"]["extraMca"] };
  firewall: RawCluster["firewall"];
  verify: { enabled: boolean; from?: string; tests: VerifyTest[]; timeoutSeconds: number };
  sshPrivateKey?: string;
}

function resolve(raw: RawConfig, readKnownHosts: (file: string) => string): { cluster: Cluster; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const knownHostsPath = expandHome(raw.ssh.knownHostsPath);
  let knownHostsText: string | undefined;
  const hosts: Host[] = raw.hosts.map((h, i) => {
    const port = h.port ?? raw.ssh.port;
    let hostKey = h.hostKey ? h.hostKey.split(" ").slice(0, 2).join(" ") : undefined;
    if (!hostKey) {
      knownHostsText ??= readKnownHosts(knownHostsPath);
      hostKey = findHostKey(knownHostsText, h.address, port);
      if (!hostKey) {
        problems.push({
          path: `${NAMESPACE}:hosts[${i}].hostKey`,
          message: `not set, and ${knownHostsName(h.address, port)} is not in ${raw.ssh.knownHostsPath} (pin it: ssh-keyscan -p ${port} ${h.address})`,
          severity: "error",
        });
      }
    }
    return {
      name: h.name,
      address: h.address,
      os: h.os as Os,
      port,
      user: (h.user ?? raw.ssh.user) as string,
      slots: h.slots,
      hostKey: hostKey ?? "",
      hostKeySource: h.hostKey ? "config" : "known_hosts",
      pythonPrefix: h.pythonPrefix ?? raw.python.prefix,
      firewallBackend: (h.firewallBackend ?? raw.firewall.backend) as FirewallBackend,
    };
  });
  const cluster: Cluster = {
    ssh: {
      privateKeyPath: expandHome(raw.ssh.privateKeyPath),
      knownHostsPath,
      connectTimeoutSeconds: raw.ssh.connectTimeoutSeconds,
    },
    hosts,
    python: raw.python,
    mpi: {
      network: raw.mpi.network,
      btlPorts: parsePortRange(raw.mpi.btlPorts),
      oobPorts: raw.mpi.oobPorts === EPHEMERAL ? EPHEMERAL_PORTS : parsePortRange(raw.mpi.oobPorts),
      oobEphemeral: raw.mpi.oobPorts === EPHEMERAL,
      extraMca: raw.mpi.extraMca,
    },
    firewall: { allowFrom: raw.firewall.allowFrom ?? [raw.mpi.network] },
    verify: {
      enabled: raw.verify.enabled,
      from: hosts.find((h) => h.name.toLowerCase() === (raw.verify.from ?? hosts[0].name).toLowerCase())!.name,
      tests: raw.verify.tests,
      timeoutSeconds: raw.verify.timeoutSeconds,
    },
    sshPrivateKey: raw.sshPrivateKey,
  };
  return { cluster, problems };
}
