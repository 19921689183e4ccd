import { createHmac } from "crypto";
import * as os from "os";
import { homeRelative, hostKeysFrom, knownHostsName, lookupHostKeys, parseKnownHosts } from "./knownHosts";
import { Cluster } from "./types";

const ED = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIED";
const RSA = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQRSA";
const ECDSA = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYECDSA";

/** What `ssh-keygen -H` writes for a name: |1|base64(salt)|base64(HMAC-SHA1(salt, name)). */
function hashed(name: string, salt = Buffer.from("0123456789abcdefghij")): string {
  return `|1|${salt.toString("base64")}|${createHmac("sha1", salt).update(name).digest("base64")}`;
}

function keysFor(text: string, name: string): string[] {
  return lookupHostKeys(parseKnownHosts(text, "kh"), name).keys.map((k) => k.key);
}

describe("knownHostsName", () => {
  it.each([
    ["node1.example.edu", 22, "node1.example.edu"],
    ["10.0.0.5", 2400, "[10.0.0.5]:2400"],
  ])("names %s port %d as %s", (address, port, name) => {
    expect(knownHostsName(address as string, port as number)).toBe(name);
  });
});

describe("which lines apply to a host, as OpenSSH matches them", () => {
  const host = "[10.0.0.5]:2400";
  it.each<[string, string, string, boolean]>([
    ["the bracketed name and port", host, `${host} ${ED}`, true],
    ["the bare address (port 22 only)", host, `10.0.0.5 ${ED}`, false],
    ["another port", host, `[10.0.0.5]:2401 ${ED}`, false],
    ["one name of a comma list", host, `node1,${host},10.0.0.6 ${ED}`, true],
    ["a wildcard *", host, `[10.0.0.*]:2400 ${ED}`, true],
    ["a wildcard ? for one character", host, `[10.0.0.?]:2400 ${ED}`, true],
    ["a wildcard ? that needs two characters", "[10.0.0.55]:2400", `[10.0.0.?]:2400 ${ED}`, false],
    ["a dot taken literally, not as any character", "[10.0.0x5]:2400", `${host} ${ED}`, false],
    ["names case-insensitively", "Node1.Example.EDU", `node1.example.edu ${ED}`, true],
    // ssh lowercases the name before hashing it, when it writes the line and when it looks it up (ssh.c main,
    // sshconnect.c ssh_login, hostfile.c format_host_entry).
    ["a hashed line, the name written in capitals", "Node1.Example.EDU", `${hashed("node1.example.edu")} ${ED}`, true],
    ["a hashed line, [NAME]:port written in capitals", "[Node1.Example.EDU]:2400", `${hashed("[node1.example.edu]:2400")} ${ED}`, true],
    ["patterns case-insensitively", "node1.example.edu", `NODE1.example.edu ${ED}`, true],
    ["a negated pattern that matches: the line does not apply", host, `[10.0.0.*]:2400,![10.0.0.5]:2400 ${ED}`, false],
    ["a negated pattern before the positive one", host, `![10.0.0.5]:*,* ${ED}`, false],
    ["a negated pattern that does not match", host, `[10.0.0.*]:2400,![10.0.0.6]:2400 ${ED}`, true],
    ["only a negated pattern (no positive match)", host, `![10.0.0.6]:2400 ${ED}`, false],
    ["a hashed name", host, `${hashed(host)} ${ED}`, true],
    ["a hashed other name", host, `${hashed("[10.0.0.6]:2400")} ${ED}`, false],
    ["a hashed bare address for a non-22 port", host, `${hashed("10.0.0.5")} ${ED}`, false],
    ["a hash of another scheme (|2|)", host, `${hashed(host).replace("|1|", "|2|")} ${ED}`, false],
  ])("%s", (_name, name, line, applies) => {
    expect(keysFor(line, name)).toEqual(applies ? [ED] : []);
  });
});

describe("what a file says about one host", () => {
  const host = "[10.0.0.5]:2400";
  it("every key listed, in file order, not only the first (ssh-keyscan lists rsa first)", () => {
    const keyscan = `# 10.0.0.5:2400 SSH-2.0-OpenSSH_9.2p1\n${host} ${RSA}\n${host} ${ECDSA}\n${host} ${ED}\n`;
    expect(keysFor(keyscan, host)).toEqual([RSA, ECDSA, ED]);
  });
  it("skips comments, blank lines, indented comments and lines without a key; drops key comments", () => {
    const text = `\n   \n# ${host} ${RSA}\n   # ${host} ${ECDSA}\n${host}\n${host} ssh-ed25519\n  ${host} ${ED} root@node1 the key\n`;
    expect(keysFor(text, host)).toEqual([ED]);
  });
  it("a key listed twice (two lines that both match) counts once", () => {
    expect(keysFor(`${host} ${ED}\n[10.0.0.*]:2400 ${ED}\n${hashed(host)} ${ED} again\n`, host)).toEqual([ED]);
  });
  it("@revoked: the key is refused even where it is also listed plainly, and named with its line", () => {
    const text = `${host} ${RSA}\n${host} ${ED}\n@revoked * ${RSA}\n`;
    const found = lookupHostKeys(parseKnownHosts(text, "/home/u/.ssh/known_hosts"), host);
    expect(found.keys.map((k) => k.key)).toEqual([ED]);
    expect(found.revoked).toEqual([{ key: RSA, where: "/home/u/.ssh/known_hosts:3" }]);
  });
  it("@revoked for another host leaves this host's key alone", () => {
    expect(keysFor(`${host} ${ED}\n@revoked [10.0.0.6]:2400 ${ED}\n`, host)).toEqual([ED]);
  });
  it("@cert-authority lines are kept apart (host certificates), not taken as the host's key", () => {
    const found = lookupHostKeys(parseKnownHosts(`@cert-authority *.example.edu,[10.0.0.*]:* ${ED}\n`, "kh"), host);
    expect(found.keys).toEqual([]);
    expect(found.certAuthorities).toEqual([{ key: ED, where: "kh:1" }]);
  });
  it("a line with an unknown @marker is skipped, as ssh skips it", () => {
    expect(keysFor(`@revokd ${host} ${ED}\n`, host)).toEqual([]);
  });
  it("a key whose base64 is broken is skipped", () => {
    expect(keysFor(`${host} ssh-ed25519 AAAA!!\n${host} ${RSA}\n`, host)).toEqual([RSA]);
  });
});

describe("where a host's keys came from, as the state keeps it", () => {
  it("names a file under the home directory from ~, so another machine's $HOME changes nothing", () => {
    expect(homeRelative("/home/alice/.ssh/known_hosts", "/home/alice")).toBe("~/.ssh/known_hosts");
    expect(homeRelative("/Users/bob/.ssh/known_hosts", "/Users/bob")).toBe("~/.ssh/known_hosts");
  });

  it("leaves other paths, and look-alike prefixes, as they are", () => {
    expect(homeRelative("/etc/ssh/ssh_known_hosts", "/home/alice")).toBe("/etc/ssh/ssh_known_hosts");
    expect(homeRelative("/home/alice2/.ssh/known_hosts", "/home/alice")).toBe("/home/alice2/.ssh/known_hosts");
  });

  it("is the same for a stack loaded under two home directories", () => {
    const from = (home: string) =>
      hostKeysFrom({ ssh: { knownHostsPath: `${home}/.ssh/known_hosts` } as Cluster["ssh"] }, { hostKeySource: "known_hosts" });
    expect(from(os.homedir())).toBe("listed in ~/.ssh/known_hosts");
  });
});
