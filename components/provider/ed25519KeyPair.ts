/**
 * A new ed25519 key pair in OpenSSH's formats: the `authorized_keys` line and an unencrypted `openssh-key-v1` private
 * key, as `ssh-keygen -t ed25519 -N ''` writes them (PROTOCOL.key in OpenSSH's source).
 *
 * Node makes the key; the encoding is ours because ssh2's `generateKeyPairSync("ed25519")` strips leading zero bytes
 * from the 32-byte public key, so one pair in 256 is malformed (mscdex/ssh2#1390, #1513): OpenSSH refuses its public
 * line and ssh2 refuses its private key.
 */
import { generateKeyPairSync, randomBytes } from "crypto";

export interface OpenSshKeyPair {
  /** `ssh-ed25519 <base64> <comment>`, no newline. */
  publicKey: string;
  /** PEM-armoured `openssh-key-v1`, cipher none, ending in a newline. */
  privateKey: string;
}

const KEY_TYPE = "ssh-ed25519";
const AUTH_MAGIC = "openssh-key-v1\0";
/** The cipher block size for cipher "none": the private section is padded to it. */
const BLOCK = 8;
const PEM_LINE = 70;

const uint32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const sshString = (data: Buffer | string) => {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  return Buffer.concat([uint32(bytes.length), bytes]);
};

export function newEd25519KeyPair(comment: string): OpenSshKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const pub = Buffer.from(publicKey.export({ format: "jwk" }).x!, "base64url");
  const seed = Buffer.from(privateKey.export({ format: "jwk" }).d!, "base64url");
  if (pub.length !== 32 || seed.length !== 32) throw new Error(`ed25519 key generation gave ${pub.length}/${seed.length} bytes, not 32/32`);

  const publicBlob = Buffer.concat([sshString(KEY_TYPE), sshString(pub)]);
  const check = randomBytes(4);
  const unpadded = Buffer.concat([
    check,
    check,
    sshString(KEY_TYPE),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])),
    sshString(comment),
  ]);
  const padding = Buffer.from(Array.from({ length: (BLOCK - (unpadded.length % BLOCK)) % BLOCK }, (_, i) => i + 1));
  const body = Buffer.concat([
    Buffer.from(AUTH_MAGIC, "binary"),
    sshString("none"),
    sshString("none"),
    sshString(""),
    uint32(1),
    sshString(publicBlob),
    sshString(Buffer.concat([unpadded, padding])),
  ]).toString("base64");
  const lines = body.match(new RegExp(`.{1,${PEM_LINE}}`, "g"))!;
  return {
    publicKey: `${KEY_TYPE} ${publicBlob.toString("base64")} ${comment}`,
    privateKey: ["-----BEGIN OPENSSH PRIVATE KEY-----", ...lines, "-----END OPENSSH PRIVATE KEY-----", ""].join("\n"),
  };
}
