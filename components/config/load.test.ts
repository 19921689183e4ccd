import * as os from "os";
import * as path from "path";
import { loadCluster, readStackFile } from "./load";

const example = () => readStackFile("Pulumi.example.yaml") as Record<string, any>;

function errorsOf(mutate: (c: Record<string, any>) => void): Array<{ path: string; message: string }> {
  const raw = example();
  mutate(raw);
  return loadCluster(raw, { readKnownHosts: () => "" }).problems.filter((p) => p.severity === "error");
}

describe("the example stack config", () => {
  it("is accepted, with defaults filled in", () => {
    const { cluster, problems } = loadCluster(example());
    expect(problems.filter((p) => p.severity === "error")).toEqual([]);
    expect(cluster!.hosts.map((h) => [h.name, h.port, h.user])).toEqual([
      ["mac1", 2400, "astro"],
      ["mac2", 2400, "astro"],
      ["linux1", 2400, "mpi"],
      ["linux2", 2400, "mpi"],
      ["linux3", 2400, "mpi"],
    ]);
    expect(cluster!.mpi.btlPorts).toEqual({ first: 50000, last: 50099 });
    expect(cluster!.verify).toEqual({ enabled: true, from: "linux1", tests: ["helloworld", "ringtest"], timeoutSeconds: 120 });
    expect(cluster!.ssh.connectTimeoutSeconds).toBe(10);
  });

  it("warns, without failing, that the Macs keep conda at another path", () => {
    const { problems } = loadCluster(example());
    expect(problems.map((p) => [p.severity, p.path])).toEqual([
      ["warning", "mpi-hosts:hosts[0].pythonPrefix"],
      ["warning", "mpi-hosts:hosts[1].pythonPrefix"],
    ]);
  });

  it("warns that a fixed runtime range admits one mpirun per host, and takes it", () => {
    const raw = example();
    raw.mpi.oobPorts = "50100-50199";
    const { cluster, problems } = loadCluster(raw);
    expect(problems.filter((p) => p.path === "mpi-hosts:mpi.oobPorts").map((p) => [p.severity, p.message])).toEqual([
      [
        "warning",
        expect.stringMatching(/^50100-50199 lets only one mpirun at a time start on each host: mpirun listens on every free port/),
      ],
    ]);
    expect(cluster!.mpi).toMatchObject({ oobPorts: { first: 50100, last: 50199 }, oobEphemeral: false });
  });

  it("fills in the minimal config's defaults", () => {
    const { cluster } = loadCluster(
      {
        ssh: { user: "mpi" },
        hosts: [{ name: "a", address: "10.0.0.2", os: "linux", hostKey: "ssh-ed25519 AAAAC3Nz" }],
        mpi: { network: "10.0.0.0/24" },
      },
      { readKnownHosts: () => "" },
    );
    expect(cluster).toMatchObject({
      python: { kind: "system" },
      firewall: { allowFrom: ["10.0.0.0/24"] },
      verify: { from: "a", tests: ["helloworld", "ringtest"] },
      hosts: [{ port: 22, slots: 1, firewallBackend: "auto" }],
    });
  });
});

type Case = [string, (c: Record<string, any>) => void, string, RegExp];
const host = (c: Record<string, any>, i: number) => c.hosts[i];

const badInputs: Case[] = [
  ["port above 65535", (c) => (host(c, 2).port = 70000), "mpi-hosts:hosts[2].port", /^70000 is not a TCP port \(1-65535\)$/],
  ["port zero", (c) => (host(c, 0).port = 0), "mpi-hosts:hosts[0].port", /not a TCP port/],
  ["port as text", (c) => (host(c, 1).port = "22; rm -rf /"), "mpi-hosts:hosts[1].port", /is not a whole number/],
  ["default port too large", (c) => (c.ssh.port = 99999), "mpi-hosts:ssh.port", /not a TCP port/],
  ["duplicate host name", (c) => (host(c, 3).name = "linux1"), "mpi-hosts:hosts[3].name", /also the name of hosts\[2\]/],
  ["duplicate name in another case", (c) => (host(c, 3).name = "LINUX1"), "mpi-hosts:hosts[3].name", /also the name/],
  ["duplicate address", (c) => (host(c, 4).address = "128.5.5.21"), "mpi-hosts:hosts[4].address", /also the address of hosts\[2\]/],
  ["name with a shell metacharacter", (c) => (host(c, 0).name = "mac1;reboot"), "mpi-hosts:hosts[0].name", /RFC 1123/],
  ["name with a space", (c) => (host(c, 0).name = "mac 1"), "mpi-hosts:hosts[0].name", /RFC 1123/],
  ["name with a newline", (c) => (host(c, 0).name = "mac1\nHost *"), "mpi-hosts:hosts[0].name", /RFC 1123/],
  ["name starting with a hyphen", (c) => (host(c, 0).name = "-oProxyCommand=x"), "mpi-hosts:hosts[0].name", /RFC 1123/],
  ["name longer than 63", (c) => (host(c, 0).name = "a".repeat(64)), "mpi-hosts:hosts[0].name", /RFC 1123/],
  ["name with a dot", (c) => (host(c, 0).name = "mac1.lab"), "mpi-hosts:hosts[0].name", /RFC 1123/],
  [
    "address with command substitution",
    (c) => (host(c, 1).address = "$(reboot)"),
    "mpi-hosts:hosts[1].address",
    /not a host name or IP address/,
  ],
  ["address with a quote", (c) => (host(c, 1).address = "a'b"), "mpi-hosts:hosts[1].address", /not a host name or IP address/],
  [
    "missing address",
    (c) => delete host(c, 1).address,
    "mpi-hosts:hosts[1].address",
    /^missing \(required, or set ssh.useSshConfig to take it from the HostName of mac2 in your ssh config\)$/,
  ],
  ["unknown os", (c) => (host(c, 1).os = "windows"), "mpi-hosts:hosts[1].os", /"windows" is not allowed \(one of: linux, macos\)/],
  ["misspelt host setting", (c) => (host(c, 1).prot = 22), "mpi-hosts:hosts[1].prot", /unknown setting \(one of: name, address/],
  ["unknown top-level key", (c) => (c.hostz = []), "mpi-hosts:hostz", /unknown setting/],
  ["no hosts", (c) => (c.hosts = []), "mpi-hosts:hosts", /has 0 entries \(at least 1\)/],
  ["hosts not a list", (c) => (c.hosts = "mac1"), "mpi-hosts:hosts", /is not a list/],
  ["zero slots", (c) => (host(c, 0).slots = 0), "mpi-hosts:hosts[0].slots", /out of range/],
  ["user with a shell metacharacter", (c) => (host(c, 2).user = "mpi`id`"), "mpi-hosts:hosts[2].user", /not a user name/],
  ["no user anywhere", (c) => delete c.ssh.user, "mpi-hosts:hosts[0].user", /missing, and ssh.user is not set/],
  ["host key of unknown type", (c) => (host(c, 0).hostKey = "ssh-dss AAAAB3"), "mpi-hosts:hosts[0].hostKey", /not an SSH public key/],
  [
    "host key with a newline",
    (c) => (host(c, 0).hostKey = "ssh-ed25519 AAAA\nssh-rsa BBBB"),
    "mpi-hosts:hosts[0].hostKey",
    /not an SSH public key/,
  ],
  [
    "host key missing everywhere",
    (c) => delete host(c, 0).hostKey,
    "mpi-hosts:hosts[0].hostKey",
    /not set, and \[mac1.astro.example.edu\]:2400 is not in ~\/.ssh\/known_hosts \(pin it: ssh-keyscan -p 2400/,
  ],
  ["overlapping port ranges", (c) => (c.mpi.oobPorts = "50050-50150"), "mpi-hosts:mpi.oobPorts", /overlaps btlPorts 50000-50099/],
  [
    "BTL range smaller than the slots",
    (c) => (c.mpi.btlPorts = "50000-50009"),
    "mpi-hosts:mpi.btlPorts",
    /has 10 ports but linux3 runs 16 slots/,
  ],
  ["range that runs backwards", (c) => (c.mpi.btlPorts = "50099-50000"), "mpi-hosts:mpi.btlPorts", /runs backwards/],
  ["range of privileged ports", (c) => (c.mpi.btlPorts = "100-199"), "mpi-hosts:mpi.btlPorts", /unprivileged ports \(1024-65535/],
  ["range past 65535", (c) => (c.mpi.oobPorts = "65500-70000"), "mpi-hosts:mpi.oobPorts", /unprivileged ports/],
  ["range that is not a range", (c) => (c.mpi.btlPorts = "50000"), "mpi-hosts:mpi.btlPorts", /not a port range \(FIRST-LAST/],
  ["range containing the SSH port", (c) => (c.mpi.btlPorts = "2300-2499"), "mpi-hosts:mpi.btlPorts", /contains the SSH port 2400/],
  ["network that is not a CIDR", (c) => (c.mpi.network = "128.5.5.0"), "mpi-hosts:mpi.network", /not an IPv4 network/],
  [
    "network with host bits",
    (c) => (c.mpi.network = "128.5.5.7/24"),
    "mpi-hosts:mpi.network",
    /host bits set \(did you mean 128.5.5.0\/24\?\)/,
  ],
  ["network with a big octet", (c) => (c.mpi.network = "128.5.300.0/24"), "mpi-hosts:mpi.network", /octet above 255/],
  ["network of everything", (c) => (c.mpi.network = "0.0.0.0/0"), "mpi-hosts:mpi.network", /every address/],
  [
    "allowFrom everything, not spelt out",
    (c) => (c.firewall.allowFrom = ["0.0.0.0/0"]),
    "mpi-hosts:firewall.allowFrom[0]",
    /every address \(a narrower network, or firewall.allowAnywhere: true/,
  ],
  [
    "allowFrom everything, spelt out, with the runtime on ephemeral ports",
    (c) => {
      c.firewall.allowFrom = ["0.0.0.0/0"];
      c.firewall.allowAnywhere = true;
    },
    "mpi-hosts:firewall.allowFrom[0]",
    /with oobPorts: ephemeral would open every ephemeral port \(32768-65535\) of every host to every address/,
  ],
  [
    "runtime ports that are neither a range nor ephemeral",
    (c) => (c.mpi.oobPorts = "dynamic"),
    "mpi-hosts:mpi.oobPorts",
    /not a port range nor ephemeral/,
  ],
  [
    "allowFrom with a prefix above 32",
    (c) => (c.firewall.allowFrom = ["10.0.0.0/33"]),
    "mpi-hosts:firewall.allowFrom[0]",
    /prefix length above 32/,
  ],
  ["allowFrom empty", (c) => (c.firewall.allowFrom = []), "mpi-hosts:firewall.allowFrom", /at least 1/],
  ["missing network", (c) => delete c.mpi.network, "mpi-hosts:mpi.network", /^missing \(required\)$/],
  ["missing mpi", (c) => delete c.mpi, "mpi-hosts:mpi", /^missing \(required\)$/],
  [
    "verify.from naming no host",
    (c) => (c.verify.from = "linux9"),
    "mpi-hosts:verify.from",
    /"linux9" is not a host \(one of: mac1, mac2, linux1, linux2, linux3\)/,
  ],
  [
    "unknown verification test",
    (c) => (c.verify.tests = ["hello"]),
    "mpi-hosts:verify.tests[0]",
    /not allowed \(one of: helloworld, ringtest, pingpong\)/,
  ],
  ["a verification test twice", (c) => (c.verify.tests = ["ringtest", "ringtest"]), "mpi-hosts:verify.tests", /lists "ringtest" twice/],
  ["timeout too short", (c) => (c.verify.timeoutSeconds = 1), "mpi-hosts:verify.timeoutSeconds", /out of range/],
  ["prefix with ..", (c) => (c.python.prefix = "/opt/../etc"), "mpi-hosts:python.prefix", /has a . or .. segment/],
  ["relative prefix", (c) => (c.python.prefix = "opt/anaconda"), "mpi-hosts:python.prefix", /not an absolute path/],
  [
    "prefix with a space",
    (c) => (c.python.prefix = "/Applications/Ana conda"),
    "mpi-hosts:python.prefix",
    /not an absolute path of plain characters/,
  ],
  [
    "prefix with command substitution",
    (c) => (host(c, 0).pythonPrefix = "/opt/$(id)"),
    "mpi-hosts:hosts[0].pythonPrefix",
    /not an absolute path/,
  ],
  ["prefix that is the root", (c) => (c.python.prefix = "/"), "mpi-hosts:python.prefix", /root directory/],
  ["python kind unknown", (c) => (c.python.kind = "pip"), "mpi-hosts:python.kind", /one of: conda, system/],
  ["version pin with a shell character", (c) => (c.python.mpi4py = "4.0.*;id"), "mpi-hosts:python.mpi4py", /not a version pin/],
  ["system python on a Mac", (c) => (c.python = { kind: "system" }), "mpi-hosts:hosts[0].os", /macos has no system Open MPI package/],
  [
    "linux firewall backend on a Mac",
    (c) => (host(c, 0).firewallBackend = "nftables"),
    "mpi-hosts:hosts[0].firewallBackend",
    /^nftables does not exist on macos host mac1 \(auto, pf or none\)$/,
  ],
  [
    "pf on Linux",
    (c) => (c.firewall.backend = "pf"),
    "mpi-hosts:firewall.backend",
    /^pf does not exist on linux host linux1 \(auto, nftables, iptables, ufw, firewalld or none\)$/,
  ],
  [
    "unknown firewall backend",
    (c) => (c.firewall.backend = "pfctl"),
    "mpi-hosts:firewall.backend",
    /^"pfctl" is not allowed \(one of: auto, nftables, iptables, ufw, firewalld, pf, none\)$/,
  ],
  [
    "unknown prefix link mode",
    (c) => (c.python.prefixLink = "sometimes"),
    "mpi-hosts:python.prefixLink",
    /^"sometimes" is not allowed \(one of: auto, always, never\)$/,
  ],
  ["MCA parameter name with spaces", (c) => (c.mpi.extraMca = { "btl tcp": 1 }), "mpi-hosts:mpi.extraMca", /not an MCA parameter name/],
  [
    "MCA value with a newline",
    (c) => (c.mpi.extraMca = { btl_tcp_links: "2\nbtl = self" }),
    "mpi-hosts:mpi.extraMca.btl_tcp_links",
    /newline/,
  ],
  ["connect timeout zero", (c) => (c.ssh.connectTimeoutSeconds = 0), "mpi-hosts:ssh.connectTimeoutSeconds", /out of range/],
  [
    "an nftables table without its family",
    (c) => (c.firewall.nftables = { table: "filter", chain: "input" }),
    "mpi-hosts:firewall.nftables.table",
    /"filter" is not an nftables table \(FAMILY NAME as nft list tables prints it/,
  ],
  [
    "an nftables chain name with a shell character",
    (c) => (c.firewall.nftables = { table: "inet filter", chain: "input;id" }),
    "mpi-hosts:firewall.nftables.chain",
    /"input;id" is not an nftables chain name/,
  ],
  [
    "an nftables table without a chain",
    (c) => (c.firewall.nftables = { table: "inet filter" }),
    "mpi-hosts:firewall.nftables.chain",
    /missing/,
  ],
  [
    "iptables-nft's own table named for nftables",
    (c) => (c.firewall.nftables = { table: "ip filter", chain: "INPUT" }),
    "mpi-hosts:firewall.nftables.table",
    /ip filter is iptables-nft's own table: rules added there with nft break iptables-save/,
  ],
  [
    "our own table named for nftables, on one host",
    (c) => (host(c, 2).firewallNftables = { table: "inet mpi_hosts", chain: "input" }),
    "mpi-hosts:hosts[2].firewallNftables.table",
    /inet mpi_hosts is the table of mpi-hosts itself/,
  ],
  [
    "firewalld's own table named for nftables, on a firewalld host",
    (c) =>
      Object.assign(host(c, 2), { firewallBackend: "firewalld", firewallNftables: { table: "inet firewalld", chain: "filter_INPUT" } }),
    "mpi-hosts:hosts[2].firewallNftables.table",
    /inet firewalld is firewalld's own table, which it rebuilds on every reload/,
  ],
];

describe("a bad config is refused with the field and the reason", () => {
  it("has at least 40 distinct cases", () => {
    expect(new Set(badInputs.map(([name]) => name)).size).toBeGreaterThanOrEqual(40);
  });

  it.each(badInputs)("%s", (_name, mutate, path, message) => {
    const errors = errorsOf(mutate);
    const hit = errors.find((e) => e.path === path);
    if (!hit) throw new Error(`expected an error at ${path}, got:\n${errors.map((e) => `${e.path}: ${e.message}`).join("\n") || "(none)"}`);
    expect(hit.message).toMatch(message);
  });
});

describe("a chain named for nftables (firewall.nftables) on one host", () => {
  // Every Linux backend puts our chain into the nftables tables of others that drop (templates/firewall/linux).
  it.each(["nftables", "iptables", "ufw", "firewalld"])("is taken for firewall backend %s", (backend) => {
    const errors = errorsOf((c) =>
      Object.assign(host(c, 2), { firewallBackend: backend, firewallNftables: { table: "inet filter", chain: "input" } }),
    );
    expect(errors.filter((e) => e.path.startsWith("mpi-hosts:hosts[2]"))).toEqual([]);
  });
});

describe("host keys", () => {
  const noKey = (c: Record<string, any>) => {
    delete host(c, 2).hostKey;
  };
  const ED = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKNOWN";
  const RSA = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQKNOWN";
  const ECDSA = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYKNOWN";
  it("come from known_hosts when not pinned, plain or hashed", () => {
    const raw = example();
    noKey(raw);
    const plain = `[128.5.5.21]:2400 ${ED}\n`;
    expect(loadCluster(raw, { readKnownHosts: () => plain }).cluster!.hosts[2]).toMatchObject({
      hostKeys: [ED],
      hostKeySource: "known_hosts",
    });
    const crypto = require("crypto");
    const salt = Buffer.from("0123456789abcdefghij");
    const hash = crypto.createHmac("sha1", salt).update("[128.5.5.21]:2400").digest("base64");
    const hashed = `|1|${salt.toString("base64")}|${hash} ${ED}\n`;
    expect(loadCluster(raw, { readKnownHosts: () => hashed }).cluster!.hosts[2].hostKeys).toEqual([ED]);
  });
  it("are every key ssh-keyscan listed for the host (rsa first), not the first one", () => {
    const raw = example();
    noKey(raw);
    const keyscan = [RSA, ECDSA, ED].map((k) => `[128.5.5.21]:2400 ${k}`).join("\n");
    expect(loadCluster(raw, { readKnownHosts: () => keyscan }).cluster!.hosts[2].hostKeys).toEqual([ECDSA, ED, RSA]);
  });
  it("are the same whatever the order of known_hosts (another machine's ssh-keyscan, UpdateHostKeys appending): sorted, each once", () => {
    const raw = example();
    noKey(raw);
    const line = (k: string) => `[128.5.5.21]:2400 ${k}`;
    const revoke = (k: string) => `@revoked [128.5.5.21]:2400 ${k}`;
    const OLD1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOLD1";
    const OLD2 = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQOLD2";
    const here = [line(RSA), line(ECDSA), line(ED), revoke(OLD2), revoke(OLD1)].join("\n");
    const there = ["# other", revoke(OLD1), line(ED), line(RSA), line(ED), line(ECDSA), revoke(OLD2), revoke(OLD1)].join("\n");
    const keysOf = (text: string) => {
      const h = loadCluster(raw, { readKnownHosts: () => text }).cluster!.hosts[2];
      return { hostKeys: h.hostKeys, revoked: h.revokedKeys.map((r) => r.key) };
    };
    expect(keysOf(here)).toEqual({ hostKeys: [ECDSA, ED, RSA], revoked: [OLD1, OLD2] });
    expect(keysOf(there)).toEqual(keysOf(here));
  });
  it("pinned as a list, in one order whatever the order written", () => {
    const raw = example();
    host(raw, 2).hostKey = [RSA, ED, ECDSA];
    expect(loadCluster(raw, { readKnownHosts: () => "" }).cluster!.hosts[2].hostKeys).toEqual([ECDSA, ED, RSA]);
  });
  it("may be pinned as a list; comments after a key are dropped", () => {
    const raw = example();
    host(raw, 2).hostKey = [`${ED} root@linux1`, RSA];
    expect(loadCluster(raw, { readKnownHosts: () => "" }).cluster!.hosts[2]).toMatchObject({
      hostKeys: [ED, RSA],
      hostKeySource: "config",
    });
  });
  it.each<[string, (c: Record<string, any>) => void, string, RegExp]>([
    ["an empty list of pins", (c) => (host(c, 2).hostKey = []), "mpi-hosts:hosts[2].hostKey", /at least 1/],
    [
      "a bad key in a list of pins",
      (c) => (host(c, 2).hostKey = [ED, "ssh-dss AAAA"]),
      "mpi-hosts:hosts[2].hostKey[1]",
      /not an SSH public key/,
    ],
  ])("refuses %s", (_name, mutate, path, message) => {
    const raw = example();
    mutate(raw);
    const problem = loadCluster(raw, { readKnownHosts: () => "" }).problems.find((p) => p.path === path);
    expect(problem?.message).toMatch(message);
  });
  it("refuses a pinned key that known_hosts revokes, naming the line", () => {
    const raw = example();
    host(raw, 2).hostKey = ED;
    const result = loadCluster(raw, { readKnownHosts: () => `# old\n@revoked * ${ED}\n` });
    expect(result.cluster).toBeUndefined();
    expect(result.problems).toContainEqual(
      expect.objectContaining({
        path: "mpi-hosts:hosts[2].hostKey",
        message: expect.stringMatching(/revoked by @revoked at ~\/\.ssh\/known_hosts:2/),
      }),
    );
  });
  it("take @revoked lines from the system-wide known_hosts too, as ssh does (GlobalKnownHostsFile), and no keys from it", () => {
    const raw = example();
    noKey(raw);
    const files: Record<string, string> = {
      [path.join(os.homedir(), ".ssh/known_hosts")]: `[128.5.5.21]:2400 ${RSA}\n[128.5.5.21]:2400 ${ED}\n`,
      "/site/ssh_known_hosts": `# site-wide\n@revoked * ${RSA}\n[128.5.5.21]:2400 ${ECDSA}\n`,
    };
    const read = (file: string) => files[file] ?? "";
    const loaded = loadCluster(raw, { readKnownHosts: read, globalKnownHostsPaths: ["/site/ssh_known_hosts", "/site/missing"] });
    expect(loaded.cluster!.hosts[2]).toMatchObject({
      hostKeys: [ED],
      revokedKeys: [{ key: RSA, where: "/site/ssh_known_hosts:2" }],
    });
    // A test's own reader answers for its own files only: no system file unless named.
    expect(loadCluster(raw, { readKnownHosts: read }).cluster!.hosts[2].hostKeys).toEqual([ED, RSA]);
  });
  it("carry the host's @revoked keys to the connection, and leave them out of the accepted ones", () => {
    const raw = example();
    noKey(raw);
    const text = `[128.5.5.21]:2400 ${RSA}\n[128.5.5.21]:2400 ${ED}\n@revoked [128.5.5.21]:* ${RSA}\n`;
    expect(loadCluster(raw, { readKnownHosts: () => text }).cluster!.hosts[2]).toMatchObject({
      hostKeys: [ED],
      revokedKeys: [{ key: RSA, where: "~/.ssh/known_hosts:3" }],
    });
  });
  it.each<[string, string, RegExp]>([
    ["every key revoked", `[128.5.5.21]:2400 ${ED}\n@revoked * ${ED}\n`, /every key .* is @revoked \(~\/\.ssh\/known_hosts:2\)/],
    [
      "only a @cert-authority",
      `@cert-authority *.example.edu,[128.5.5.*]:2400 ${ED}\n`,
      /only through @cert-authority .*host certificates are not supported/,
    ],
    [
      "no line for the host",
      `[128.5.5.22]:2400 ${ED}\n`,
      /\[128\.5\.5\.21\]:2400 is not in ~\/\.ssh\/known_hosts \(pin it: ssh-keyscan -p 2400 128\.5\.5\.21\)/,
    ],
  ])("without pins, %s is a config error that says what to do", (_name, text, message) => {
    const raw = example();
    noKey(raw);
    const result = loadCluster(raw, { readKnownHosts: () => text });
    expect(result.cluster).toBeUndefined();
    expect(result.problems.find((p) => p.path === "mpi-hosts:hosts[2].hostKey")?.message).toMatch(message);
  });
  it("warns that a @cert-authority line is ignored when the host's own keys are listed too", () => {
    const raw = example();
    noKey(raw);
    const result = loadCluster(raw, { readKnownHosts: () => `@cert-authority * ${ED}\n[128.5.5.21]:2400 ${RSA}\n` });
    expect(result.cluster!.hosts[2].hostKeys).toEqual([RSA]);
    expect(result.problems).toContainEqual(
      expect.objectContaining({ severity: "warning", message: expect.stringMatching(/@cert-authority at .*:1 ignored/) }),
    );
  });
});
