import { loadCluster } from "./load";

const KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const KEY_B = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
const BASTION_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC";

/** Three hosts on 10.0.0.0/24, ssh on 2400, keys pinned; `change` edits the raw config. */
function config(change: (c: Record<string, any>) => void = () => undefined): Record<string, any> {
  const c: Record<string, any> = {
    ssh: { user: "mpi", port: 2400 },
    hosts: [
      { name: "head", address: "10.0.0.11", os: "linux", hostKey: KEY_A },
      { name: "node2", address: "10.0.0.12", os: "linux", user: "astro", hostKey: KEY_B },
      { name: "node3", address: "10.0.0.13", os: "linux", hostKey: KEY_B },
    ],
    mpi: { network: "10.0.0.0/24" },
  };
  change(c);
  return c;
}

function load(c: Record<string, any>, knownHosts = "") {
  return loadCluster(c, { readKnownHosts: () => knownHosts });
}

function errors(c: Record<string, any>, knownHosts = ""): Array<[string, string]> {
  return load(c, knownHosts)
    .problems.filter((p) => p.severity === "error")
    .map((p) => [p.path, p.message]);
}

function jumps(c: Record<string, any>, knownHosts = "") {
  const { cluster, problems } = load(c, knownHosts);
  if (!cluster) throw new Error(problems.map((p) => `${p.path}: ${p.message}`).join("\n"));
  return Object.fromEntries(cluster.hosts.map((h) => [h.name, h.jump]));
}

describe("jump hosts (ProxyJump) in the stack config", () => {
  test("without a jump every host is reached directly", () => {
    expect(jumps(config())).toEqual({ head: undefined, node2: undefined, node3: undefined });
  });

  test("ssh.jump, a bastion of its own, applies to every host: port 22 and the host's own login user unless set", () => {
    const j = jumps(config((c) => (c.ssh.jump = { address: "gw.example.edu", hostKey: BASTION_KEY })));
    expect(j.head).toEqual({
      name: "gw.example.edu",
      address: "gw.example.edu",
      port: 22,
      user: "mpi",
      hostKeys: [BASTION_KEY],
      revokedKeys: [],
      hostKeysFrom: "pinned in the stack config",
      configPath: "mpi-hosts:ssh.jump",
    });
    expect(j.node2).toMatchObject({ address: "gw.example.edu", user: "astro" });
  });

  test("a bastion's key comes from known_hosts under [address]:port when it is not pinned", () => {
    const knownHosts = `[gw.example.edu]:2222 ${BASTION_KEY}\n`;
    const j = jumps(
      config((c) => (c.ssh.jump = { address: "gw.example.edu", port: 2222, user: "jumper" })),
      knownHosts,
    );
    expect(j.node3).toMatchObject({ port: 2222, user: "jumper", hostKeys: [BASTION_KEY], hostKeysFrom: "listed in ~/.ssh/known_hosts" });
  });

  test("a bastion neither pinned nor in known_hosts is refused once, at ssh.jump.hostKey, with the ssh-keyscan to run", () => {
    expect(errors(config((c) => (c.ssh.jump = { address: "gw.example.edu", port: 2222 })))).toEqual([
      [
        "mpi-hosts:ssh.jump.hostKey",
        "not set, and the bastion [gw.example.edu]:2222 is not in ~/.ssh/known_hosts (pin it: ssh-keyscan -p 2222 gw.example.edu, checked out of band)",
      ],
    ]);
  });

  test("a pinned bastion key that known_hosts revokes is refused", () => {
    const knownHosts = `@revoked gw.example.edu ${BASTION_KEY}\n`;
    expect(
      errors(
        config((c) => (c.hosts[2].jump = { address: "gw.example.edu", hostKey: BASTION_KEY })),
        knownHosts,
      ),
    ).toEqual([["mpi-hosts:hosts[2].jump.hostKey", expect.stringMatching(/^is revoked by @revoked at ~\/.ssh\/known_hosts:1 /)]]);
  });

  test("a jump by name takes that host's address, port, user and keys; the host ssh.jump names connects directly", () => {
    const j = jumps(config((c) => (c.ssh.jump = "node2")));
    expect(j.node2).toBeUndefined();
    expect(j.head).toEqual({
      name: "node2",
      address: "10.0.0.12",
      port: 2400,
      user: "astro",
      hostKeys: [KEY_B],
      revokedKeys: [],
      hostKeysFrom: "pinned in the stack config",
      configPath: "mpi-hosts:ssh.jump",
    });
    expect(j.node3).toMatchObject({ name: "node2", configPath: "mpi-hosts:ssh.jump" });
  });

  test("a host's own jump overrides ssh.jump, and none reaches it directly", () => {
    const j = jumps(
      config((c) => {
        c.ssh.jump = { address: "gw.example.edu", hostKey: BASTION_KEY };
        c.hosts[0].jump = "none";
        c.hosts[2].jump = "head";
      }),
    );
    expect(j.head).toBeUndefined();
    expect(j.node2).toMatchObject({ name: "gw.example.edu" });
    expect(j.node3).toMatchObject({ name: "head", address: "10.0.0.11", configPath: "mpi-hosts:hosts[2].jump" });
  });

  test("the host that ssh.jump's bastion is (same address and port) connects directly", () => {
    const j = jumps(config((c) => (c.ssh.jump = { address: "10.0.0.11", port: 2400, hostKey: KEY_A })));
    expect(j.head).toBeUndefined();
    expect(j.node2).toMatchObject({ address: "10.0.0.11" });
  });

  test.each([
    [
      "a name that is no host of the stack",
      (c: Record<string, any>) => (c.hosts[1].jump = "bastion"),
      "mpi-hosts:hosts[1].jump",
      '"bastion" is not a host of this stack (one of: head, node2, node3; or none, or a bastion { address, port, user, hostKey })',
    ],
    [
      "ssh.jump naming no host of the stack",
      (c: Record<string, any>) => (c.ssh.jump = "gw"),
      "mpi-hosts:ssh.jump",
      '"gw" is not a host of this stack (one of: head, node2, node3; or none, or a bastion { address, port, user, hostKey })',
    ],
    [
      "a host naming itself",
      (c: Record<string, any>) => (c.hosts[1].jump = "node2"),
      "mpi-hosts:hosts[1].jump",
      "names node2 itself (a host is not its own bastion: leave jump out, or set it to none)",
    ],
    [
      "a chain (node3 through head, head through node2)",
      (c: Record<string, any>) => {
        c.hosts[0].jump = "node2";
        c.hosts[2].jump = "head";
      },
      "mpi-hosts:hosts[2].jump",
      "node3 goes through head, which itself goes through node2 (set at mpi-hosts:hosts[0].jump): chains of jump hosts are not supported " +
        "(have head reached directly with jump: none on it, or give node3 a bastion it reaches in one hop)",
    ],
    [
      "a bastion with a misspelt key",
      (c: Record<string, any>) => (c.ssh.jump = { address: "gw", prot: 22, hostKey: BASTION_KEY }),
      "mpi-hosts:ssh.jump.prot",
      "unknown setting (one of: address, port, user, hostKey)",
    ],
    [
      "a bastion without an address",
      (c: Record<string, any>) => (c.hosts[0].jump = { port: 22 }),
      "mpi-hosts:hosts[0].jump.address",
      "missing (required)",
    ],
    [
      "a number",
      (c: Record<string, any>) => (c.hosts[0].jump = 22),
      "mpi-hosts:hosts[0].jump",
      "22 is neither a string nor a mapping (the name of a host in mpi-hosts:hosts, none, or a bastion { address, port, user, hostKey })",
    ],
    [
      "a name that cannot be a host's",
      (c: Record<string, any>) => (c.hosts[0].jump = "mpi@gw:22"),
      "mpi-hosts:hosts[0].jump",
      '"mpi@gw:22" is not a host name (the name of a host in mpi-hosts:hosts, none, or a bastion { address, port, user, hostKey })',
    ],
  ])("refuses %s, naming the field", (_, change, path, message) => {
    expect(errors(config(change))).toEqual([[path, message]]);
  });
});
