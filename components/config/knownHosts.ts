/**
 * Reads an OpenSSH known_hosts file the way ssh does (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"; openssh-portable
 * hostfile.c hostkeys_foreach and match_maybe_hashed, match.c match_hostname): every key listed for the host, not the
 * first; plain, hashed (`|1|salt|hash`), `[host]:port`, comma lists, `*`/`?` wildcards and `!` negations;
 * `@revoked` and `@cert-authority` markers.
 */
import { createHmac } from "crypto";
import * as os from "os";
import { Cluster, Host } from "./types";

/** The name known_hosts uses for a host: `addr` on port 22, `[addr]:port` otherwise (hostfile.c put_host_port). */
export function knownHostsName(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

export type KnownHostsMarker = "revoked" | "cert-authority";

/** One key line of a known_hosts file. */
export interface KnownHostsLine {
  /** Where it is, "FILE:LINE", for messages. */
  where: string;
  marker?: KnownHostsMarker;
  /** The host pattern field as written: a comma list of patterns, or one `|1|salt|hash`. */
  patterns: string;
  /** "type base64", the comment dropped. */
  key: string;
}

/** A key and the line that listed it. */
export interface ListedKey {
  key: string;
  where: string;
}

/** Every line that names a key; comments, blank lines, lines with an unknown `@marker` or no key are skipped, as ssh does. */
export function parseKnownHosts(text: string, file: string): KnownHostsLine[] {
  const lines: KnownHostsLine[] = [];
  text.split("\n").forEach((raw, i) => {
    const fields = raw.trim().split(/\s+/);
    if (!fields[0] || fields[0].startsWith("#")) return;
    let marker: KnownHostsMarker | undefined;
    if (fields[0].startsWith("@")) {
      // hostfile.c check_markers: anything but these two makes the line invalid, and ssh skips it.
      if (fields[0] !== "@revoked" && fields[0] !== "@cert-authority") return;
      marker = fields.shift()!.slice(1) as KnownHostsMarker;
    }
    const [patterns, type, blob] = fields;
    if (!patterns || !type || !blob || !/^[A-Za-z0-9+/]+={0,3}$/.test(blob)) return;
    lines.push({ where: `${file}:${i + 1}`, marker, patterns, key: `${type} ${blob}` });
  });
  return lines;
}

/** match.c match_pattern: `*` any run of characters, `?` one character, the rest literally. */
function matchesPattern(name: string, pattern: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${source}$`, "s").test(name);
}

/** match.c match_hostname: case-insensitive; a matching `!pattern` means the line does not apply, whatever else matches. */
function matchesPatternList(name: string, list: string): boolean {
  const host = name.toLowerCase();
  let positive = false;
  for (const item of list.split(",")) {
    const negated = item.startsWith("!");
    const pattern = (negated ? item.slice(1) : item).toLowerCase();
    if (!matchesPattern(host, pattern)) continue;
    if (negated) return false;
    positive = true;
  }
  return positive;
}

/**
 * hostfile.c host_hash: `|1|` + base64 salt + `|` + base64 HMAC-SHA1(salt, name), of the name in lower case: ssh
 * lowercases the host name before it writes a line (hostfile.c format_host_entry) and before it looks one up (ssh.c
 * main, sshconnect.c ssh_login), so `Node1.Example.EDU` in the stack config finds the line ssh wrote.
 */
function matchesHashed(field: string, name: string): boolean {
  const [, magic, salt, hash] = field.split("|");
  if (magic !== "1" || !salt || !hash) return false;
  const digest = createHmac("sha1", Buffer.from(salt, "base64")).update(name.toLowerCase()).digest("base64");
  return digest === hash;
}

/** Whether a line's host field names `name` (hostfile.c match_maybe_hashed). */
export function lineMatches(patterns: string, name: string): boolean {
  return patterns.startsWith("|") ? matchesHashed(patterns, name) : matchesPatternList(name, patterns);
}

function keyBlob(key: string): string {
  return key.split(" ")[1];
}

/** What known_hosts says about one host. */
export interface HostKeyLookup {
  /** Keys accepted for the host, each once, in file order; none that a `@revoked` line names. */
  keys: ListedKey[];
  /** Keys refused for the host (`@revoked`), however else they are listed. */
  revoked: ListedKey[];
  /** `@cert-authority` lines for the host: host certificates, which ssh2 cannot check. */
  certAuthorities: ListedKey[];
}

/** Every line of `lines` for the host known_hosts calls `name` (see knownHostsName). */
export function lookupHostKeys(lines: KnownHostsLine[], name: string): HostKeyLookup {
  const found: HostKeyLookup = { keys: [], revoked: [], certAuthorities: [] };
  for (const line of lines) {
    if (!lineMatches(line.patterns, name)) continue;
    const listed = { key: line.key, where: line.where };
    if (line.marker === "revoked") found.revoked.push(listed);
    else if (line.marker === "cert-authority") found.certAuthorities.push(listed);
    else found.keys.push(listed);
  }
  const revoked = new Set(found.revoked.map((k) => keyBlob(k.key)));
  const seen = new Set<string>();
  found.keys = found.keys.filter((k) => {
    const blob = keyBlob(k.key);
    if (revoked.has(blob) || seen.has(blob)) return false;
    seen.add(blob);
    return true;
  });
  return found;
}

/**
 * A host's keys as a set, in one order whatever the order of the file (ssh-keyscan's, OpenSSH's UpdateHostKeys
 * appending, another machine's): they travel in every facet's connection, so in the state, and clusterTrust writes
 * them in this order. Each key once, sorted by "type base64" (code units: no locale).
 */
export function canonicalKeys(keys: string[]): string[] {
  return [...new Set(keys)].sort();
}

/** Revoked keys likewise: each once (the first line that revokes it, for messages), sorted by key. */
export function canonicalRevoked<T extends ListedKey>(revoked: T[]): T[] {
  const byKey = new Map<string, T>();
  for (const r of revoked) if (!byKey.has(r.key)) byKey.set(r.key, r);
  return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * Where a host's keys came from, as connection messages say it. It travels in every facet's connection, so in the
 * state: the file under the home directory reads `~/...`, as on any machine, so that a preview from another machine
 * (another $HOME) does not see every connection changed.
 */
export function hostKeysFrom(cluster: Pick<Cluster, "ssh">, host: Pick<Host, "hostKeySource">): string {
  return host.hostKeySource === "config" ? "pinned in the stack config" : `listed in ${homeRelative(cluster.ssh.knownHostsPath)}`;
}

/** A path under the home directory as `~/...`; any other path as it is. */
export function homeRelative(file: string, home = os.homedir()): string {
  if (file === home) return "~";
  return file.startsWith(`${home}/`) ? `~/${file.slice(home.length + 1)}` : file;
}
