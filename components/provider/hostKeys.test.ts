import { hostKeyAlgorithms, preferredHostKey } from "./hostKeys";

const ED = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIED";
const RSA = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQRSA";
const ECDSA = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYECDSA";
const ECDSA384 = "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQECDSA";

describe("hostKeyAlgorithms: what ssh2 may negotiate for the known keys", () => {
  it.each<[string, string[], string[]]>([
    ["ed25519 only", [ED], ["ssh-ed25519"]],
    ["rsa: both SHA-2 signatures, then SHA-1", [RSA], ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]],
    [
      "ssh-keyscan's three, rsa first: in ssh2's order of preference",
      [RSA, ECDSA, ED],
      ["ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
    ],
    ["two ecdsa curves", [ECDSA384, ECDSA], ["ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384"]],
    ["a key listed twice", [ED, ED], ["ssh-ed25519"]],
    ["a type ssh2 does not check (no restriction is better than an empty list)", ["ssh-dss AAAAB3NzaC1kc3M"], []],
  ])("%s", (_name, keys, algorithms) => {
    expect(hostKeyAlgorithms(keys)).toEqual(algorithms);
  });
});

describe("preferredHostKey: the one key for a client that asks only for its type (the verification job)", () => {
  it.each<[string, string[], string | undefined]>([
    ["ed25519 over ecdsa and rsa, wherever it is listed", [RSA, ECDSA, ED], ED],
    ["ecdsa over rsa", [RSA, ECDSA], ECDSA],
    ["rsa when it is the only one", [RSA], RSA],
    ["none", [], undefined],
  ])("%s", (_name, keys, preferred) => {
    expect(preferredHostKey(keys)).toBe(preferred);
  });
});
