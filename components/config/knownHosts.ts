/** Looks up a host's key in an OpenSSH known_hosts file (plain and hashed entries). */
import { createHmac } from "crypto";

/** The name known_hosts uses for a host: `addr` on port 22, `[addr]:port` otherwise. */
export function knownHostsName(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

function matchesHashed(pattern: string, name: string): boolean {
  const [, magic, salt, hash] = pattern.split("|");
  if (magic !== "1" || !salt || !hash) return false;
  const digest = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64");
  return digest === hash;
}

/** Returns "type base64" of the first key listed for the host, or undefined. */
export function findHostKey(knownHostsText: string, address: string, port: number): string | undefined {
  const name = knownHostsName(address, port);
  for (const line of knownHostsText.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 3 || fields[0].startsWith("#") || fields[0].startsWith("@")) continue;
    const [patterns, type, key] = fields;
    const hit = patterns.startsWith("|")
      ? matchesHashed(patterns, name)
      : patterns.split(",").some((p) => p.toLowerCase() === name.toLowerCase());
    if (hit) return `${type} ${key}`;
  }
  return undefined;
}
