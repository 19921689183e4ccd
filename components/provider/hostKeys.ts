/**
 * Host key algorithms for a set of known keys: what ssh2 may negotiate, and which one key suits a client that takes
 * only one (the verification job's connection while it was a @pulumi/command one, before issue 15 R4: now used by
 * the lab test that still drives that client, test/lab/knownHosts.test.ts). Pure, no I/O.
 */

/** ssh2's names (lib/protocol/constants.js DEFAULT_SERVER_HOST_KEY), in ssh2's own order of preference. */
const ALGORITHMS_BY_KEY_TYPE: [string, string[]][] = [
  ["ssh-ed25519", ["ssh-ed25519"]],
  ["ecdsa-sha2-nistp256", ["ecdsa-sha2-nistp256"]],
  ["ecdsa-sha2-nistp384", ["ecdsa-sha2-nistp384"]],
  ["ecdsa-sha2-nistp521", ["ecdsa-sha2-nistp521"]],
  // One key, three signature algorithms (RFC 8332): OpenSSH >= 8.8 servers no longer offer SHA-1 `ssh-rsa`.
  ["ssh-rsa", ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]],
];

export function keyType(key: string): string {
  return key.trim().split(/\s+/)[0] ?? "";
}

/**
 * The host key algorithms to offer for these keys (ssh2 `algorithms.serverHostKey`), so that the server presents one
 * of them and never another type it also has; empty when none is a type ssh2 can check.
 */
export function hostKeyAlgorithms(keys: string[]): string[] {
  const types = new Set(keys.map(keyType));
  return ALGORITHMS_BY_KEY_TYPE.filter(([type]) => types.has(type)).flatMap(([, algorithms]) => algorithms);
}

/**
 * The key to give a client that takes one key and asks only for its type (@pulumi/command 1.2.1 sets x/crypto's
 * HostKeyAlgorithms to [key.Type()]): ed25519, then ecdsa, then rsa. An rsa key makes it ask for `ssh-rsa`, SHA-1
 * signatures, which OpenSSH >= 8.8 refuses by default, so rsa comes last.
 */
export function preferredHostKey(keys: string[]): string | undefined {
  for (const [type] of ALGORITHMS_BY_KEY_TYPE) {
    const key = keys.find((k) => keyType(k) === type);
    if (key) return key;
  }
  return keys[0];
}
