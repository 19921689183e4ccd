/**
 * newEd25519KeyPair against OpenSSH's own ssh-keygen and ssh2's parser, including the one pair in 256 whose public key
 * starts with a zero byte (the case ssh2's own generator gets wrong).
 */
import { execFileSync } from "child_process";
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { utils } from "ssh2";
import { newEd25519KeyPair, OpenSshKeyPair } from "./ed25519KeyPair";

const rawPublicKey = (line: string) => Buffer.from(line.split(" ")[1], "base64").subarray(19);

/** A pair whose 32-byte public key starts with 0x00; 5000 tries miss one with odds below 1 in 10^8. */
function pairWithLeadingZero(): OpenSshKeyPair {
  for (let i = 0; i < 5000; i++) {
    const pair = newEd25519KeyPair("lead");
    if (rawPublicKey(pair.publicKey)[0] === 0) return pair;
  }
  throw new Error("no public key starting with a zero byte in 5000 pairs");
}

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), "ed25519-"))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const keygen = (...args: string[]) => execFileSync("ssh-keygen", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

describe.each([
  ["an ordinary pair", () => newEd25519KeyPair("mpi-hosts cluster")],
  ["a pair whose public key starts with a zero byte", pairWithLeadingZero],
])("%s", (_, make) => {
  const pair = make();

  test("the public line holds the type, 32 key bytes and the comment", () => {
    expect(pair.publicKey).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43} \S/);
    expect(rawPublicKey(pair.publicKey)).toHaveLength(32);
  });

  test("ssh-keygen reads both halves and derives the same public key from the private one", () => {
    const file = join(dir, `k${Math.random().toString(36).slice(2)}`);
    writeFileSync(file, pair.privateKey, { mode: 0o600 });
    writeFileSync(`${file}.pub`, `${pair.publicKey}\n`);
    const derived = keygen("-y", "-f", file).trim().split(" ").slice(0, 2).join(" ");
    expect(derived).toBe(pair.publicKey.split(" ").slice(0, 2).join(" "));
    expect(keygen("-l", "-f", file).split(" ")[1]).toBe(keygen("-l", "-f", `${file}.pub`).split(" ")[1]);
  });

  test("the private key signs what the public line verifies (the seed and the public key are one pair)", () => {
    const file = join(dir, `s${Math.random().toString(36).slice(2)}`);
    writeFileSync(file, pair.privateKey, { mode: 0o600 });
    writeFileSync(`${file}.allowed`, `signer ${pair.publicKey}\n`);
    writeFileSync(`${file}.data`, "mpi-hosts");
    keygen("-Y", "sign", "-f", file, "-n", "test", `${file}.data`);
    const verified = execFileSync(
      "ssh-keygen",
      ["-Y", "verify", "-f", `${file}.allowed`, "-I", "signer", "-n", "test", "-s", `${file}.data.sig`],
      { input: "mpi-hosts", encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] },
    );
    expect(verified).toContain('Good "test" signature for signer');
  });

  test("ssh2 parses the private key and derives the same public key", () => {
    const parsed = utils.parseKey(pair.privateKey);
    if (parsed instanceof Error || Array.isArray(parsed)) throw parsed instanceof Error ? parsed : new Error("several keys");
    expect(parsed.type).toBe("ssh-ed25519");
    expect(parsed.comment).toBe(pair.publicKey.split(" ").slice(2).join(" "));
    expect(`${parsed.type} ${parsed.getPublicSSH().toString("base64")}`).toBe(pair.publicKey.split(" ").slice(0, 2).join(" "));
  });
});

test("each pair is new", () => {
  expect(newEd25519KeyPair("c").privateKey).not.toBe(newEd25519KeyPair("c").privateKey);
});
