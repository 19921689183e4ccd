/**
 * The one config loader, used by index.ts (from Pulumi's config) and by the CLI (from a stack file).
 * Order: schema (with defaults) -> cross-field rules -> host keys; nothing is contacted.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import YAML from "yaml";
import { canonicalKeys, canonicalRevoked, KnownHostsLine, knownHostsName, lookupHostKeys, parseKnownHosts } from "./knownHosts";
import { EPHEMERAL, EPHEMERAL_PORTS, parsePortRange } from "./net";
import { jumpProblems, resolveJumps } from "./jump";
import { RawConfig, RawNftablesChain } from "./rawConfig";
import { addressProblems, fillFromSshConfig, ReadSshConfig } from "./sshConfig";
import { checkRules, RawCluster } from "./rules";
import { NAMESPACE, validateAgainstSchema } from "./schema";
import { Cluster, ConfigProblem, Host, NftablesChain, RevokedKey } from "./types";

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

/** ssh's default GlobalKnownHostsFile (ssh_config(5)), read with the user's file into one set (sshconnect.c check_host_key). */
export const GLOBAL_KNOWN_HOSTS = ["/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"];

export interface LoadOptions {
  /** Reads the known_hosts file; injectable for tests. Returns "" when the file is missing. */
  readKnownHosts?: (file: string) => string;
  /**
   * The system-wide known_hosts files whose `@revoked` lines apply too, where a site revokes keys for everyone (their
   * keys are not accepted: the keys come from ssh.knownHostsPath or hostKey). Default GLOBAL_KNOWN_HOSTS; none when
   * readKnownHosts is given (a test's reader answers for its own files), unless named here.
   */
  globalKnownHostsPaths?: string[];
  /** Runs `ssh -G ALIAS` for ssh.useSshConfig; injectable for tests. */
  readSshConfig?: ReadSshConfig;
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
  // The schema pass has shaped it and filled in its defaults: the shape rawConfig.ts is generated for.
  const valid = raw as unknown as RawConfig;
  // An alias ssh cannot resolve says so; a missing address after that would only repeat it.
  const sshConfigProblems = fillFromSshConfig(input, valid, options.readSshConfig);
  const addressesMissing = sshConfigProblems.length ? [] : addressProblems(valid);
  if (sshConfigProblems.length || addressesMissing.length) return { problems: [...sshConfigProblems, ...addressesMissing] };
  const addressed = valid as RawCluster;
  const ruleProblems = [...checkRules(addressed), ...jumpProblems(addressed)];
  if (ruleProblems.some((p) => p.severity === "error")) return { problems: ruleProblems };
  const globalFiles = options.globalKnownHostsPaths ?? (options.readKnownHosts ? [] : GLOBAL_KNOWN_HOSTS);
  const { cluster, problems: keyProblems } = resolve(addressed, options.readKnownHosts ?? readFileOrEmpty, globalFiles);
  const problems = [...ruleProblems, ...keyProblems];
  return problems.some((p) => p.severity === "error") ? { problems } : { cluster, problems };
}

/** Like loadCluster, but throws a ConfigError listing every error. */
export function loadClusterOrThrow(input: Record<string, unknown>, options: LoadOptions = {}): LoadResult & { cluster: Cluster } {
  const result = loadCluster(input, options);
  if (!result.cluster) throw new ConfigError(result.problems);
  return result as LoadResult & { cluster: Cluster };
}

/** firewall.nftables as Host.firewallNftables: `{ firewallNftables }`, or nothing when not set. */
function nftablesChainOf(raw: RawNftablesChain | undefined): { firewallNftables?: NftablesChain } {
  if (!raw) return {};
  const [family, table] = raw.table.split(" ");
  return { firewallNftables: { family: family as NftablesChain["family"], table, chain: raw.chain } };
}

/** "type base64" of a config or known_hosts key, the comment dropped. */
function keyOnly(key: string): string {
  return key.trim().split(/\s+/).slice(0, 2).join(" ");
}

/**
 * A host's keys: the pinned ones, else every key known_hosts lists under the name ssh would look up (the address, as
 * `ssh -p PORT ADDRESS` does; not the host's `name`, which is mpi-hosts' alias and which ssh would not use for this
 * connection). `@revoked` lines for that name apply to pinned keys too.
 */
function resolveHostKeys(
  h: RawCluster["hosts"][number],
  i: number,
  port: number,
  knownHosts: () => KnownHostsLine[],
  knownHostsFile: string,
): { hostKeys: string[]; revokedKeys: RevokedKey[]; problems: ConfigProblem[] } {
  const configPath = `${NAMESPACE}:hosts[${i}].hostKey`;
  const name = knownHostsName(h.address, port);
  const found = lookupHostKeys(knownHosts(), name);
  const revokedKeys = canonicalRevoked(found.revoked.map((r) => ({ key: keyOnly(r.key), where: r.where })));
  const error = (message: string): ConfigProblem => ({ path: configPath, message, severity: "error" });
  const isRevoked = (key: string) => revokedKeys.find((r) => r.key.split(" ")[1] === key.split(" ")[1]);
  if (h.hostKey !== undefined) {
    const hostKeys = [h.hostKey].flat().map(keyOnly);
    const problems = hostKeys.flatMap((key, k) => {
      const revoked = isRevoked(key);
      const which = Array.isArray(h.hostKey) ? `${configPath}[${k}]` : configPath;
      return revoked
        ? [
            {
              ...error(`is revoked by @revoked at ${revoked.where} (a revoked key is never accepted: remove it from the pins)`),
              path: which,
            },
          ]
        : [];
    });
    return { hostKeys: canonicalKeys(hostKeys), revokedKeys, problems };
  }
  const hostKeys = canonicalKeys(found.keys.map((k) => keyOnly(k.key)));
  if (hostKeys.length) {
    const problems: ConfigProblem[] = found.certAuthorities.length
      ? [
          {
            path: configPath,
            message: `@cert-authority at ${found.certAuthorities.map((c) => c.where).join(", ")} ignored: host certificates are not supported (ssh2 has none); the host's own keys listed in ${knownHostsFile} are used`,
            severity: "warning",
          },
        ]
      : [];
    return { hostKeys, revokedKeys, problems };
  }
  const keyscan = `ssh-keyscan -p ${port} ${h.address}`;
  if (found.certAuthorities.length) {
    return {
      hostKeys,
      revokedKeys,
      problems: [
        error(
          `not set, and ${knownHostsFile} trusts ${name} only through @cert-authority (${found.certAuthorities.map((c) => c.where).join(", ")}): ` +
            `host certificates are not supported (ssh2, the SSH library mpi-hosts uses, has none); ` +
            `add the host's own keys (${keyscan}, checked out of band) to ${knownHostsFile}, or pin them in hostKey`,
        ),
      ],
    };
  }
  if (found.revoked.length) {
    return {
      hostKeys,
      revokedKeys,
      problems: [
        error(
          `not set, and every key ${knownHostsFile} lists for ${name} is @revoked (${found.revoked.map((r) => r.where).join(", ")}): check the host's new key out of band and add it`,
        ),
      ],
    };
  }
  return { hostKeys, revokedKeys, problems: [error(`not set, and ${name} is not in ${knownHostsFile} (pin it: ${keyscan})`)] };
}

function resolve(
  raw: RawCluster,
  readKnownHosts: (file: string) => string,
  globalKnownHosts: string[],
): { cluster: Cluster; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const knownHostsPath = expandHome(raw.ssh.knownHostsPath);
  let knownHostsLines: KnownHostsLine[] | undefined;
  const knownHosts = () =>
    (knownHostsLines ??= [
      ...parseKnownHosts(readKnownHosts(knownHostsPath), raw.ssh.knownHostsPath),
      ...globalKnownHosts.flatMap((file) => parseKnownHosts(readKnownHosts(file), file).filter((l) => l.marker === "revoked")),
    ]);
  const hosts: Host[] = raw.hosts.map((h, i) => {
    const port = h.port ?? raw.ssh.port;
    const keys = resolveHostKeys(h, i, port, knownHosts, raw.ssh.knownHostsPath);
    problems.push(...keys.problems);
    return {
      name: h.name,
      address: h.address,
      os: h.os,
      port,
      user: (h.user ?? raw.ssh.user) as string,
      slots: h.slots,
      hostKeys: keys.hostKeys,
      hostKeySource: h.hostKey !== undefined ? "config" : "known_hosts",
      revokedKeys: keys.revokedKeys,
      pythonPrefix: h.pythonPrefix ?? raw.python.prefix,
      firewallBackend: h.firewallBackend ?? raw.firewall.backend,
      firewallPersist: h.firewallPersist ?? raw.firewall.persist,
      ...nftablesChainOf(h.firewallNftables ?? raw.firewall.nftables),
    };
  });
  // Jumps last: one named by host takes that host's resolved address, user and keys.
  const jumps = resolveJumps(raw, hosts, knownHosts, raw.ssh.knownHostsPath);
  problems.push(...jumps.problems);
  hosts.forEach((h, i) => (h.jump = jumps.jumps[i]));
  const cluster: Cluster = {
    ssh: {
      privateKeyPath: expandHome(raw.ssh.privateKeyPath),
      knownHostsPath,
      connectTimeoutSeconds: raw.ssh.connectTimeoutSeconds,
      clusterKeyRotation: String(raw.ssh.clusterKeyRotation),
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
    sshKeyPassphrase: raw.sshKeyPassphrase,
  };
  return { cluster, problems };
}
