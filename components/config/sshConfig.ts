/**
 * `mpi-hosts:ssh.useSshConfig`: the Host entries of the user's own ssh config, as OpenSSH resolves them. For each
 * host, `ssh -G ALIAS` (the host's sshAlias, else its name) prints the effective settings with Include and Match
 * resolved (ssh(1) -G); they fill what the stack config leaves unset, never what it says: `address` from HostName,
 * `port` (unless the host's or an explicit ssh.port), `user` (unless the host's or ssh.user) and `jump` from ProxyJump
 * (unless the host's or ssh.jump; its host looked up the same way, one hop). IdentityFile is not read: the login is
 * ssh-agent's keys, then ssh.privateKeyPath. Nothing is contacted: `ssh -G` only reads configuration.
 *
 * `ssh -G` succeeds for any alias and prints OpenSSH's defaults where no entry says otherwise (hostname ALIAS, port
 * 22, user: this machine's login name), so only values that differ from `ssh -F /dev/null -G ALIAS` (no config read)
 * are taken: a CI runner's login name must not become the hosts' user, nor a name without an entry an address.
 */
import { spawnSync } from "child_process";
import { RawConfig } from "./rawConfig";
import { NAMESPACE } from "./schema";
import { ConfigProblem } from "./types";

/**
 * The text `ssh -G ALIAS` prints; with `withoutConfig`, `ssh -F /dev/null -G ALIAS` (OpenSSH's defaults only: -F also
 * skips /etc/ssh/ssh_config). Throws when ssh cannot be run or fails. Injectable for tests.
 */
export type ReadSshConfig = (alias: string, withoutConfig?: boolean) => string;

export const sshG: ReadSshConfig = (alias, withoutConfig) => {
  const args = [...(withoutConfig ? ["-F", "/dev/null"] : []), "-G", "--", alias];
  const command = `ssh ${args.filter((a) => a !== "--").join(" ")}`;
  const result = spawnSync("ssh", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 10000 });
  if (result.error) throw new Error(`cannot run ${command}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} exited ${result.status}: ${result.stderr.trim().split("\n")[0] ?? ""}`);
  return result.stdout;
};

/** The settings mpi-hosts takes from an entry. */
const USED = ["hostname", "port", "user", "proxyjump"];

/** The first value of each key of `ssh -G` output (keys lower-case, as ssh prints them). */
export function parseSshG(text: string): Map<string, string> {
  const settings = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^(\S+)\s+(.*)$/.exec(line.trim());
    if (m && !settings.has(m[1].toLowerCase())) settings.set(m[1].toLowerCase(), m[2]);
  }
  return settings;
}

/** One hop of a ProxyJump value: `[user@]host[:port]` or `ssh://[user@]host[:port]`. */
export function parseJumpHop(hop: string): { user?: string; host: string; port?: number } | undefined {
  const m = /^(?:ssh:\/\/)?(?:([^@/]+)@)?(\[[^\]]+\]|[^:@/]+)(?::(\d+))?\/?$/.exec(hop.trim());
  if (!m) return undefined;
  return { user: m[1], host: m[2].replace(/^\[|\]$/g, ""), port: m[3] ? Number(m[3]) : undefined };
}

/**
 * Fills `raw` (schema-valid, defaults applied) from the ssh config where `input` (the config as written) leaves a
 * value unset. Returns problems at the host's field (an alias ssh cannot resolve, a ProxyJump chain).
 */
export function fillFromSshConfig(
  input: { ssh?: Partial<RawConfig["ssh"]> },
  raw: Pick<RawConfig, "ssh" | "hosts">,
  read: ReadSshConfig = sshG,
): ConfigProblem[] {
  if (!raw.ssh.useSshConfig) return [];
  const explicitPort = input.ssh?.port !== undefined;
  const problems: ConfigProblem[] = [];
  const cache = new Map<string, Map<string, string>>();
  /** What the user's config sets for the alias: the used settings whose value differs from OpenSSH's default. */
  const lookup = (alias: string) => {
    if (!cache.has(alias)) {
      const configured = parseSshG(read(alias));
      const defaults = parseSshG(read(alias, true));
      const set = new Map<string, string>();
      for (const key of USED) {
        const value = configured.get(key);
        if (value !== undefined && value !== defaults.get(key)) set.set(key, value);
      }
      cache.set(alias, set);
    }
    return cache.get(alias)!;
  };
  const found = raw.hosts.map((h, i) => {
    const alias = h.sshAlias ?? h.name;
    const path = `${NAMESPACE}:hosts[${i}].${h.sshAlias ? "sshAlias" : "name"}`;
    try {
      const settings = lookup(alias);
      if (settings.size === 0 && h.address === undefined) {
        const message =
          `your ssh config has no entry for ${alias}: ssh -G ${alias} gives only OpenSSH's defaults ` +
          `(ssh.useSshConfig: add a Host ${alias} entry with its HostName, or set address)`;
        problems.push({ path, message, severity: "error" });
        return undefined;
      }
      return settings;
    } catch (err) {
      problems.push({ path, message: `${(err as Error).message} (ssh.useSshConfig)`, severity: "error" });
      return undefined;
    }
  });
  // Addresses, ports and users first: a ProxyJump may name another host of the stack.
  raw.hosts.forEach((h, i) => {
    const settings = found[i];
    if (!settings) return;
    const hostname = settings.get("hostname");
    if (h.address === undefined && hostname) h.address = hostname;
    const port = Number(settings.get("port"));
    if (h.port === undefined && !explicitPort && Number.isInteger(port) && port > 0) h.port = port;
    const user = settings.get("user");
    if (h.user === undefined && raw.ssh.user === undefined && user) h.user = user;
  });
  raw.hosts.forEach((h, i) => {
    const proxyJump = found[i]?.get("proxyjump");
    if (h.jump !== undefined || raw.ssh.jump !== undefined || !proxyJump || proxyJump === "none") return;
    const alias = h.sshAlias ?? h.name;
    const path = `${NAMESPACE}:hosts[${i}].jump`;
    const hops = proxyJump.split(",");
    const hop = parseJumpHop(hops[0]);
    if (hops.length > 1 || !hop) {
      const why = hops.length > 1 ? "chains of jump hosts are not supported" : "not [user@]host[:port]";
      problems.push({
        path,
        message: `ssh config gives ${alias} ProxyJump ${proxyJump}: ${why} (set jump in the stack config)`,
        severity: "error",
      });
      return;
    }
    let bastion: Map<string, string>;
    try {
      bastion = lookup(hop.host);
    } catch (err) {
      problems.push({ path, message: `${(err as Error).message} (the ProxyJump of ${alias})`, severity: "error" });
      return;
    }
    // A hop without an entry is reached as ssh would: by that name, port 22, the host's user.
    const address = bastion.get("hostname") ?? hop.host;
    const port = hop.port ?? Number(bastion.get("port") ?? 22);
    // A bastion that is a host of the stack is named, so that its pinned keys apply.
    const own = raw.hosts.find((o) => o !== h && o.address === address && (o.port ?? raw.ssh.port ?? 22) === port);
    h.jump = own ? own.name : { address, port, user: hop.user ?? bastion.get("user") };
  });
  return problems;
}

/** Every host has an address once the ssh config (if used) filled what it could. */
export function addressProblems(raw: Pick<RawConfig, "ssh" | "hosts">): ConfigProblem[] {
  return raw.hosts.flatMap((h, i) =>
    h.address === undefined
      ? [
          {
            path: `${NAMESPACE}:hosts[${i}].address`,
            message: raw.ssh.useSshConfig
              ? `missing, and your ssh config has no HostName for ${h.sshAlias ?? h.name} (ssh -G ${h.sshAlias ?? h.name}) (required: how to reach ${h.name})`
              : `missing (required, or set ssh.useSshConfig to take it from the HostName of ${h.name} in your ssh config)`,
            severity: "error" as const,
          },
        ]
      : [],
  );
}
