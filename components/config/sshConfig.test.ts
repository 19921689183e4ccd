import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadCluster } from "./load";
import { parseJumpHop, ReadSshConfig } from "./sshConfig";

const KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const KEY_B = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
const GW_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC";

let dir: string;
/** The real OpenSSH client resolving a config file of the test's own (`ssh -F FILE -G ALIAS`), not ~/.ssh/config. */
let realSsh: ReadSshConfig;
const calls: string[] = [];

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "mpi-hosts-sshconfig-"));
  fs.writeFileSync(
    path.join(dir, "lab.conf"),
    ["Host node1", "  HostName 10.9.0.11", "  Port 2400", "", "Host node2", "  HostName 10.9.0.12", "  ProxyJump gw", ""].join("\n"),
  );
  fs.writeFileSync(
    path.join(dir, "config"),
    [
      `Include ${path.join(dir, "lab.conf")}`,
      "Host node3",
      "  HostName 10.9.0.13",
      "  ProxyJump admin@node1:2400",
      "Host node4",
      "  HostName 10.9.0.14",
      "  ProxyJump gw,node1",
      "Host node5",
      "  HostName 10.8.0.15",
      "Host node6",
      "  HostName 10.9.0.16",
      "  ProxyJump bare.example.edu",
      "Host gw",
      "  HostName gw.example.edu",
      "  Port 2200",
      "  User jumper",
      // Match resolved by ssh: every node gets this user unless an earlier line set one.
      "Match host 10.9.0.*",
      "  User astro",
      "",
    ].join("\n"),
  );
  realSsh = (alias, withoutConfig) => {
    calls.push(alias);
    const r = spawnSync("ssh", ["-F", withoutConfig ? "/dev/null" : path.join(dir, "config"), "-G", alias], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`ssh -G ${alias} exited ${r.status}: ${r.stderr.trim()}`);
    return r.stdout;
  };
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function load(change: (c: Record<string, any>) => void, knownHosts = "") {
  const c: Record<string, any> = {
    ssh: { useSshConfig: true },
    hosts: [
      { name: "node1", os: "linux", hostKey: KEY_A },
      { name: "node2", os: "linux", hostKey: KEY_B },
    ],
    mpi: { network: "10.9.0.0/24" },
  };
  change(c);
  return loadCluster(c, { readKnownHosts: () => knownHosts, readSshConfig: realSsh });
}

const errorsOf = (result: ReturnType<typeof load>) => result.problems.filter((p) => p.severity === "error").map((p) => [p.path, p.message]);

describe("hosts from your ssh config (ssh.useSshConfig)", () => {
  test("HostName, Port and User (Include and Match resolved by ssh -G) fill address, port and user", () => {
    const { cluster, problems } = load(() => undefined, `[gw.example.edu]:2200 ${GW_KEY}\n`);
    expect(errorsOf({ cluster, problems })).toEqual([]);
    expect(cluster!.hosts.map((h) => [h.name, h.address, h.port, h.user])).toEqual([
      ["node1", "10.9.0.11", 2400, "astro"],
      ["node2", "10.9.0.12", 22, "astro"],
    ]);
  });

  test("what the stack config says wins: address, the host's port, ssh.port, ssh.user", () => {
    const { cluster } = load((c) => {
      c.ssh.user = "mpi";
      c.ssh.port = 2222;
      c.hosts[0].address = "node1.example.edu";
      c.hosts[1].port = 2401;
      c.hosts[1].jump = "none";
    });
    expect(cluster!.hosts.map((h) => [h.name, h.address, h.port, h.user])).toEqual([
      ["node1", "node1.example.edu", 2222, "mpi"],
      ["node2", "10.9.0.12", 2401, "mpi"],
    ]);
    expect(cluster!.hosts[1].jump).toBeUndefined();
  });

  test("ProxyJump becomes the host's jump, its host looked up in the same config (address, port, user), its key in known_hosts", () => {
    const { cluster } = load(() => undefined, `[gw.example.edu]:2200 ${GW_KEY}\n`);
    expect(cluster!.hosts[1].jump).toMatchObject({
      name: "gw.example.edu",
      address: "gw.example.edu",
      port: 2200,
      user: "jumper",
      hostKeys: [GW_KEY],
      configPath: "mpi-hosts:hosts[1].jump",
    });
  });

  test("a ProxyJump to a host of the stack names it, so that its pinned keys apply; sshAlias picks the entry", () => {
    const { cluster, problems } = load((c) => (c.hosts[1] = { name: "compute2", sshAlias: "node3", os: "linux", hostKey: KEY_B }));
    expect(errorsOf({ cluster, problems })).toEqual([]);
    expect(cluster!.hosts[1]).toMatchObject({ address: "10.9.0.13", jump: { name: "node1", user: "astro", hostKeys: [KEY_A] } });
  });

  test("a ProxyJump chain is refused at the host's jump", () => {
    expect(errorsOf(load((c) => (c.hosts[1].sshAlias = "node4")))).toEqual([
      [
        "mpi-hosts:hosts[1].jump",
        "ssh config gives node4 ProxyJump gw,node1: chains of jump hosts are not supported (set jump in the stack config)",
      ],
    ]);
  });

  test("without useSshConfig ssh is not run, and a host without address is refused saying how to get one", () => {
    calls.length = 0;
    expect(errorsOf(load((c) => (c.ssh.useSshConfig = false)))).toEqual([
      [
        "mpi-hosts:hosts[0].address",
        "missing (required, or set ssh.useSshConfig to take it from the HostName of node1 in your ssh config)",
      ],
      [
        "mpi-hosts:hosts[1].address",
        "missing (required, or set ssh.useSshConfig to take it from the HostName of node2 in your ssh config)",
      ],
    ]);
    expect(calls).toEqual([]);
  });

  // ssh -G prints OpenSSH's defaults for any alias (hostname ALIAS, port 22, this machine's login name): only what
  // differs from them (ssh -F /dev/null -G) is taken from the config.
  test("an alias with no entry in the ssh config is refused at the host, not taken as an address", () => {
    expect(errorsOf(load((c) => (c.hosts[1].sshAlias = "no-such-node")))).toEqual([
      [
        "mpi-hosts:hosts[1].sshAlias",
        "your ssh config has no entry for no-such-node: ssh -G no-such-node gives only OpenSSH's defaults (ssh.useSshConfig: add a Host no-such-node entry with its HostName, or set address)",
      ],
    ]);
  });

  test("an alias with no entry is fine for a host whose address the stack config gives; nothing is taken from it", () => {
    const { cluster, problems } = load((c) => {
      c.ssh.user = "mpi";
      c.hosts[1] = { name: "node9", address: "10.9.0.19", os: "linux", hostKey: KEY_B };
    });
    expect(errorsOf({ cluster, problems })).toEqual([]);
    expect(cluster!.hosts[1]).toMatchObject({ address: "10.9.0.19", port: 22, user: "mpi" });
    expect(cluster!.hosts[1].jump).toBeUndefined();
  });

  test("an entry without User does not give this machine's login name: ssh.user or the host's user must be set", () => {
    expect(errorsOf(load((c) => (c.hosts[1].sshAlias = "node5")))).toEqual([
      ["mpi-hosts:hosts[1].user", "missing, and ssh.user is not set (a login user for this host)"],
    ]);
    const { cluster } = load((c) => {
      c.ssh.user = "mpi";
      c.hosts[1].sshAlias = "node5";
    });
    expect(cluster!.hosts.map((h) => [h.name, h.address, h.port, h.user])).toEqual([
      ["node1", "10.9.0.11", 2400, "mpi"],
      ["node2", "10.8.0.15", 22, "mpi"],
    ]);
  });

  test("a ProxyJump to a name with no entry: that name, port 22, the host's user (not this machine's login name)", () => {
    const { cluster, problems } = load((c) => (c.hosts[1].sshAlias = "node6"), `bare.example.edu ${GW_KEY}\n`);
    expect(errorsOf({ cluster, problems })).toEqual([]);
    expect(cluster!.hosts[1].jump).toMatchObject({ address: "bare.example.edu", port: 22, user: "astro", hostKeys: [GW_KEY] });
  });

  test("an alias ssh -G cannot resolve is named at the host", () => {
    const failing: ReadSshConfig = (alias) => {
      throw new Error(`ssh -G ${alias} exited 255: /home/u/.ssh/config line 3: Bad configuration option: hostnme`);
    };
    const result = loadCluster(
      { ssh: { useSshConfig: true }, hosts: [{ name: "node1", os: "linux", hostKey: KEY_A }], mpi: { network: "10.9.0.0/24" } },
      { readKnownHosts: () => "", readSshConfig: failing },
    );
    expect(errorsOf(result)).toEqual([
      [
        "mpi-hosts:hosts[0].name",
        "ssh -G node1 exited 255: /home/u/.ssh/config line 3: Bad configuration option: hostnme (ssh.useSshConfig)",
      ],
    ]);
  });
});

describe("a ProxyJump hop", () => {
  test.each([
    ["gw", { user: undefined, host: "gw", port: undefined }],
    ["admin@gw.example.edu:2200", { user: "admin", host: "gw.example.edu", port: 2200 }],
    ["ssh://admin@[2001:db8::1]:22", { user: "admin", host: "2001:db8::1", port: 22 }],
  ])("%s", (hop, expected) => {
    expect(parseJumpHop(hop)).toEqual(expected);
  });
});
