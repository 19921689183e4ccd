/**
 * Jump hosts (bastions), with OpenSSH's ProxyJump semantics: the machine running Pulumi opens an SSH session to the
 * bastion (its own address, port, user and host key check, the same credentials) and tunnels the host's SSH session
 * through it. Only the controller goes through the bastion; the hosts still reach each other directly (MPI needs that).
 *
 * `mpi-hosts:ssh.jump` is the default, `mpi-hosts:hosts[i].jump` overrides it: the name of a host of the stack, `none`,
 * or a bastion of its own `{ address, port, user, hostKey }`. A host is never its own bastion: the host that ssh.jump
 * names (or whose address and port ssh.jump's bastion has) connects directly.
 */
import { canonicalKeys, canonicalRevoked, homeRelative, knownHostsName, lookupHostKeys, KnownHostsLine } from "./knownHosts";
import { RawJump } from "./rawConfig";
import { RawCluster } from "./rules";
import { NAMESPACE, show } from "./schema";
import { ConfigProblem, Host, Jump } from "./types";

/** A host's bastion as the SSH connection (provider/remote.ts Connection.jump) takes it: `{ jump }`, or `{}` when direct. */
export function jumpOf(host: Pick<Host, "jump">): {
  jump?: Pick<Jump, "name" | "address" | "port" | "user" | "hostKeys" | "revokedKeys" | "hostKeysFrom">;
} {
  if (!host.jump) return {};
  const { name, address, port, user, hostKeys, revokedKeys, hostKeysFrom } = host.jump;
  return { jump: { name, address, port, user, hostKeys, revokedKeys, hostKeysFrom } };
}

export const NO_JUMP = "none";

/** A bastion of its own, as the schema shapes it (port defaulted). */
type RawBastion = Exclude<RawJump, string>;

/** The parts of the raw config that jump hosts read. */
type RawJumpConfig = Pick<RawCluster, "ssh" | "hosts">;

const error = (path: string, message: string): ConfigProblem => ({ path, message, severity: "error" });

/** Where a host's jump is set: its own `jump`, else ssh.jump; undefined when it connects directly. */
interface EffectiveJump {
  jump: RawJump;
  path: string;
}

function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function effectiveJump(c: RawJumpConfig, i: number): EffectiveJump | undefined {
  const h = c.hosts[i];
  const own = h.jump !== undefined;
  const jump = own ? h.jump : c.ssh.jump;
  if (jump === undefined || jump === NO_JUMP) return undefined;
  const path = own ? `${NAMESPACE}:hosts[${i}].jump` : `${NAMESPACE}:ssh.jump`;
  if (typeof jump === "string") {
    // The host ssh.jump names is the bastion itself: it connects directly (an explicit self-reference is refused below).
    if (!own && sameName(jump, h.name)) return undefined;
    return { jump, path };
  }
  if (!own && jump.address.toLowerCase() === h.address.toLowerCase() && jump.port === (h.port ?? c.ssh.port)) return undefined;
  return { jump, path };
}

/** Cross-field rules for jump hosts: a named jump is a host of the stack, not the host itself, and not a chain. */
export function jumpProblems(c: RawJumpConfig): ConfigProblem[] {
  const names = c.hosts.map((h) => h.name);
  const indexOf = (name: string) => names.findIndex((n) => sameName(n, name));
  const problems: ConfigProblem[] = [];
  const unknown = (path: string, name: string) =>
    error(
      path,
      `${show(name)} is not a host of this stack (one of: ${names.join(", ")}; or ${NO_JUMP}, or a bastion { address, port, user, hostKey })`,
    );
  if (typeof c.ssh.jump === "string" && c.ssh.jump !== NO_JUMP && indexOf(c.ssh.jump) < 0) {
    problems.push(unknown(`${NAMESPACE}:ssh.jump`, c.ssh.jump));
  }
  c.hosts.forEach((h, i) => {
    const path = `${NAMESPACE}:hosts[${i}].jump`;
    if (typeof h.jump !== "string" || h.jump === NO_JUMP) return;
    if (indexOf(h.jump) < 0) problems.push(unknown(path, h.jump));
    else if (sameName(h.jump, h.name)) {
      problems.push(error(path, `names ${h.name} itself (a host is not its own bastion: leave jump out, or set it to ${NO_JUMP})`));
    }
  });
  if (problems.length) return problems;
  c.hosts.forEach((h, i) => {
    const via = effectiveJump(c, i);
    if (!via || typeof via.jump !== "string") return;
    const k = indexOf(via.jump);
    const next = effectiveJump(c, k);
    if (!next) return;
    const beyond = typeof next.jump === "string" ? next.jump : `${next.jump.address}:${next.jump.port}`;
    problems.push(
      error(
        via.path,
        `${h.name} goes through ${names[k]}, which itself goes through ${beyond} (set at ${next.path}): chains of jump hosts are not supported ` +
          `(have ${names[k]} reached directly with jump: ${NO_JUMP} on it, or give ${h.name} a bastion it reaches in one hop)`,
      ),
    );
  });
  return problems;
}

/** "type base64", the comment dropped. */
function keyOnly(key: string): string {
  return key.trim().split(/\s+/).slice(0, 2).join(" ");
}

/** A bastion's keys: the pinned ones, else every key known_hosts lists for [address]:port; @revoked honoured. */
function bastionKeys(
  b: RawBastion,
  path: string,
  knownHosts: () => KnownHostsLine[],
  knownHostsFile: string,
): { hostKeys: string[]; revokedKeys: Jump["revokedKeys"]; problems: ConfigProblem[] } {
  const name = knownHostsName(b.address, b.port);
  const found = lookupHostKeys(knownHosts(), name);
  const revokedKeys = canonicalRevoked(found.revoked.map((r) => ({ key: keyOnly(r.key), where: r.where })));
  const blob = (key: string) => key.split(" ")[1];
  if (b.hostKey !== undefined) {
    const hostKeys = [b.hostKey].flat().map(keyOnly);
    const problems = hostKeys.flatMap((key, k) => {
      const revoked = revokedKeys.find((r) => blob(r.key) === blob(key));
      const at = Array.isArray(b.hostKey) ? `${path}.hostKey[${k}]` : `${path}.hostKey`;
      return revoked
        ? [error(at, `is revoked by @revoked at ${revoked.where} (a revoked key is never accepted: remove it from the pins)`)]
        : [];
    });
    return { hostKeys: canonicalKeys(hostKeys), revokedKeys, problems };
  }
  const hostKeys = canonicalKeys(found.keys.map((k) => keyOnly(k.key)));
  if (hostKeys.length) return { hostKeys, revokedKeys, problems: [] };
  return {
    hostKeys,
    revokedKeys,
    problems: [
      error(
        `${path}.hostKey`,
        `not set, and the bastion ${name} is not in ${knownHostsFile}${found.revoked.length ? " (only @revoked keys)" : ""} ` +
          `(pin it: ssh-keyscan -p ${b.port} ${b.address}, checked out of band)`,
      ),
    ],
  };
}

/**
 * Each host's jump, resolved (address, port, user, host keys), once every host is resolved: a named jump takes that
 * host's address, port, user and keys. Call after jumpProblems found no error.
 */
export function resolveJumps(
  c: RawJumpConfig,
  hosts: Host[],
  knownHosts: () => KnownHostsLine[],
  knownHostsFile: string,
): { jumps: (Jump | undefined)[]; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const reported = new Set<string>();
  const jumps = hosts.map((host, i) => {
    const via = effectiveJump(c, i);
    if (!via) return undefined;
    if (typeof via.jump === "string") {
      const name = via.jump;
      const target = hosts.find((h) => sameName(h.name, name))!;
      return {
        name: target.name,
        address: target.address,
        port: target.port,
        user: target.user,
        hostKeys: target.hostKeys,
        revokedKeys: target.revokedKeys,
        hostKeysFrom: target.hostKeySource === "config" ? "pinned in the stack config" : `listed in ${homeRelative(knownHostsFile)}`,
        configPath: via.path,
      };
    }
    const keys = bastionKeys(via.jump, via.path, knownHosts, knownHostsFile);
    // ssh.jump's key problems once, not once per host.
    for (const p of keys.problems) {
      if (!reported.has(p.path)) problems.push(p);
      reported.add(p.path);
    }
    return {
      name: via.jump.address,
      address: via.jump.address,
      port: via.jump.port,
      user: via.jump.user ?? host.user,
      hostKeys: keys.hostKeys,
      revokedKeys: keys.revokedKeys,
      hostKeysFrom: via.jump.hostKey !== undefined ? "pinned in the stack config" : `listed in ${homeRelative(knownHostsFile)}`,
      configPath: via.path,
    };
  });
  return { jumps, problems };
}
