/**
 * Where the firewall puts our rules when other nftables tables drop on the input hook (templates/firewall/linux/
 * common.sh.hbs), without a host: the rendered probe's own functions run under sh against a stand-in `nft` that prints
 * a given `nft list ruleset`. Table-driven: given this ruleset, these input chains drop, and these get our chain.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadClusterOrThrow, namespaceKeys } from "../config/load";
import { renderFirewall } from "./firewall";

const cluster = loadClusterOrThrow(
  namespaceKeys({
    "mpi-hosts:ssh": { user: "mpi", port: 2400 },
    "mpi-hosts:hosts": [
      {
        name: "host1",
        address: "10.9.0.11",
        os: "linux",
        hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
      },
    ],
    "mpi-hosts:python": { kind: "system" },
    "mpi-hosts:mpi": { network: "10.9.0.0/24" },
  }),
).cluster;

type Backend = "nftables" | "iptables" | "ufw" | "firewalld";
/** What `iptables -V` / `ip6tables -V` print: iptables-nft keeps its rules in nftables tables ip/ip6 filter, legacy does not. */
type Variant = "nf_tables" | "legacy";

/**
 * The rendered probe without its last step, then `call`, with stand-ins first on PATH: nft printing `ruleset`, and
 * iptables/ip6tables printing the version line of `variant`.
 */
function runProbeFunction(backend: Backend, ruleset: string, call: string, chainListing = "", variant: Variant = "nf_tables"): string {
  const host = { ...cluster.hosts[0], firewallBackend: backend } as (typeof cluster.hosts)[number];
  const probe = renderFirewall(cluster, host).scripts.probe;
  const body = probe.slice(0, probe.lastIndexOf("mh_json_begin"));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fw-guest-"));
  fs.writeFileSync(path.join(dir, "ruleset"), ruleset);
  fs.writeFileSync(path.join(dir, "chain"), chainListing);
  // Only `nft list ruleset` is read by the functions under test; anything else would be a surprise.
  fs.writeFileSync(
    path.join(dir, "nft"),
    `#!/bin/sh\nif [ "$*" = "list ruleset" ]; then cat ${dir}/ruleset; exit 0; fi\n` +
      `case "$*" in "list chain "*) cat ${dir}/chain; exit 0 ;; esac\necho "nft stand-in: unexpected $*" >&2\nexit 2\n`,
    { mode: 0o755 },
  );
  for (const tool of ["iptables", "ip6tables"])
    fs.writeFileSync(
      path.join(dir, tool),
      `#!/bin/sh\nif [ "$*" = "-V" ]; then echo "${tool} v1.8.11 (${variant})"; exit 0; fi\necho "${tool} stand-in: unexpected $*" >&2\nexit 2\n`,
      { mode: 0o755 },
    );
  // The script puts the system's directories first on PATH; the stand-in goes before them.
  const result = spawnSync("sh", ["-c", `${body}\nPATH=${dir}:$PATH\n${call}`], { encoding: "utf8" });
  fs.rmSync(dir, { recursive: true, force: true });
  if (result.status !== 0) throw new Error(`sh exited ${result.status}: ${result.stderr}`);
  return result.stdout;
}

const table = (family: string, name: string, chains: string) => `table ${family} ${name} {\n${chains}}\n`;
const chain = (name: string, head: string, rules: string[] = []) =>
  `\tchain ${name} {\n\t\t${head}\n${rules.map((r) => `\t\t${r}\n`).join("")}\t}\n`;
const input = (policy: string, rules: string[] = []) => chain("input", `type filter hook input priority filter; policy ${policy};`, rules);

const DEBIAN_DROP = table(
  "inet",
  "filter",
  input("drop", ["ct state established,related accept", 'iif "lo" accept', "tcp dport 2400 accept"]),
);
const OURS = table("inet", "mpi_hosts", input("accept", ["ip saddr 10.9.0.0/24 tcp dport 50000-50099 accept"]));
const IPTABLES_NFT = table(
  "ip",
  "filter",
  chain("INPUT", "type filter hook input priority filter; policy drop;", ['iifname "lo" counter packets 0 bytes 0 accept']),
);
const GUARD = table("ip", "guard", chain("input", "type filter hook input priority filter - 10; policy drop;", ["tcp dport 2400 accept"]));

describe.each([
  ["no ruleset", "", { nftables: "", iptables: "" }],
  ["Debian's /etc/nftables.conf with policy drop", DEBIAN_DROP, { nftables: "inet filter input\n", iptables: "inet filter input\n" }],
  ["our own table only (policy accept)", OURS, { nftables: "", iptables: "" }],
  [
    "inet and ip tables that both drop",
    DEBIAN_DROP + GUARD,
    { nftables: "inet filter input\nip guard input\n", iptables: "inet filter input\nip guard input\n" },
  ],
  ["iptables-nft's table ip filter with INPUT policy DROP", IPTABLES_NFT, { nftables: "ip filter INPUT\n", iptables: "" }],
  [
    "iptables-nft's ip filter and a Debian inet filter, both dropping",
    IPTABLES_NFT + DEBIAN_DROP,
    { nftables: "ip filter INPUT\ninet filter input\n", iptables: "inet filter input\n" },
  ],
  [
    "policy accept, but an unconditional counted drop last",
    table("inet", "filter", input("accept", ["tcp dport 2400 accept", "counter packets 12 bytes 720 drop"])),
    { nftables: "inet filter input\n", iptables: "inet filter input\n" },
  ],
  [
    "policy accept, an unconditional reject last",
    table("inet", "filter", input("accept", ["reject with icmpx type port-unreachable"])),
    { nftables: "inet filter input\n", iptables: "inet filter input\n" },
  ],
  [
    "policy accept, a conditional drop last (it may be the catch-all of MPI's traffic: our chain goes in, harmless where not needed)",
    table("inet", "filter", input("accept", ['iifname "eth0" drop'])),
    { nftables: "inet filter input\n", iptables: "inet filter input\n" },
  ],
  [
    "policy accept, an unconditional drop with a comment last",
    table("inet", "filter", input("accept", ['counter packets 0 bytes 0 drop comment "default deny"'])),
    { nftables: "inet filter input\n", iptables: "inet filter input\n" },
  ],
  [
    "policy accept, a log and drop last",
    table("inet", "filter", input("accept", ['log prefix "in-drop: " drop'])),
    { nftables: "inet filter input\n", iptables: "inet filter input\n" },
  ],
  [
    "policy accept, a drop that is not last",
    table("inet", "filter", input("accept", ["tcp dport 22 drop", "accept"])),
    { nftables: "", iptables: "" },
  ],
  [
    "a drop on the forward hook only",
    table("inet", "filter", chain("forward", "type filter hook forward priority filter; policy drop;")),
    { nftables: "", iptables: "" },
  ],
  ["an ip6 table that drops", table("ip6", "guard6", input("drop")), { nftables: "ip6 guard6 input\n", iptables: "ip6 guard6 input\n" }],
  [
    "a netdev table (not on the ip input hook)",
    table("netdev", "edge", chain("ingress", "type filter hook ingress device eth0 priority 0; policy drop;")),
    { nftables: "", iptables: "" },
  ],
])("given %s", (_label, ruleset, expected) => {
  // ufw drives iptables: its tables are iptables-nft's, so it treats every other table as iptables does.
  test.each(["nftables", "iptables", "ufw"] as const)(
    "backend %s puts our chain into the dropping input chains of the other tables",
    (backend) => {
      expect(runProbeFunction(backend, ruleset, `fw_guest_targets "$(fw_${backend}_own_tables)"`)).toBe(
        expected[backend === "ufw" ? "iptables" : backend],
      );
    },
  );
});

// Issue 13 review: ufw and firewalld looked at no other table, and read "open" next to a hand-written table that drops.
describe("ufw and firewalld next to a table of the admin's own that drops", () => {
  const FIREWALLD = table(
    "inet",
    "firewalld",
    chain("filter_INPUT", "type filter hook input priority filter + 10; policy accept;", [
      "jump filter_INPUT_ZONES",
      "reject with icmpx admin-prohibited",
    ]),
  );
  const noJump = `table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n\t\ttcp dport 2400 accept\n\t}\n}\n`;

  test("ufw: our chain goes into the admin's inet filter, not into ufw's own iptables-nft tables", () => {
    expect(runProbeFunction("ufw", IPTABLES_NFT + DEBIAN_DROP, 'fw_guest_targets "$(fw_ufw_own_tables)"')).toBe("inet filter input\n");
  });

  test("firewalld: our chain goes into the admin's inet filter, not into firewalld's own table", () => {
    expect(runProbeFunction("firewalld", FIREWALLD + DEBIAN_DROP, 'fw_guest_targets "$(fw_firewalld_own_tables)"')).toBe(
      "inet filter input\n",
    );
  });

  test.each(["ufw", "iptables"] as const)("%s: the probe's gap names the table and chain that drop without our jump", (backend) => {
    expect(runProbeFunction(backend, IPTABLES_NFT + DEBIAN_DROP, `fw_guest_gap "$(fw_${backend}_own_tables)"`, noJump)).toBe(
      "nftables: table inet filter, chain input drops what it does not accept on the input hook, and does not jump to our chain mpi_hosts there, so the MPI ports stay closed (apply adds the chain and the jump as its first rule)",
    );
  });
});

// Issue 13 review: the iptables backend skipped every table named ip filter / ip6 filter, even an admin's native one on
// an iptables-legacy host, where iptables' rules are not in nftables at all.
describe("a table named ip filter: iptables-nft's own, or an admin's native one on an iptables-legacy host", () => {
  const NATIVE = table("ip", "filter", input("drop", ["tcp dport 2400 accept"]));

  test.each([
    ["nf_tables", ""],
    ["legacy", "ip filter input\n"],
  ] as const)("iptables -V says %s: the iptables backend puts our chain there: %j", (variant, expected) => {
    expect(runProbeFunction("iptables", NATIVE, 'fw_guest_targets "$(fw_iptables_own_tables)"', "", variant)).toBe(expected);
  });

  test("iptables-legacy: backend nftables does not refuse it as iptables' own, and puts our chain there", () => {
    expect(runProbeFunction("nftables", NATIVE, "fw_nftables_conflict", "", "legacy")).toBe("");
    expect(runProbeFunction("nftables", NATIVE, 'fw_guest_targets "$(fw_nftables_own_tables)"', "", "legacy")).toBe("ip filter input\n");
  });
});

describe("what the probe reports", () => {
  test("every input base chain, with its policy and whether it drops (the facts placement is decided from)", () => {
    expect(runProbeFunction("nftables", DEBIAN_DROP + OURS + GUARD, "fw_nft_input_chains")).toBe(
      "inet filter input drop yes\ninet mpi_hosts input accept no\nip guard input drop yes\n",
    );
  });

  test("nftables refuses a drop in iptables-nft's own table (only iptables may add rules there), naming the backend to use", () => {
    expect(runProbeFunction("nftables", IPTABLES_NFT, "fw_nftables_conflict")).toBe(
      "nftables: table ip filter, chain INPUT drops what it does not accept on the input hook, and that table is iptables' own (iptables-nft): an accept in table inet mpi_hosts cannot override its drop, and rules added there with nft would break iptables-save; use firewall backend iptables for this host (auto picks it when INPUT drops)",
    );
    expect(runProbeFunction("nftables", DEBIAN_DROP, "fw_nftables_conflict")).toBe("");
  });
});

describe("where the jump to our chain sits in their input chain", () => {
  const listing = (head: string[]) => `table inet filter {\n\tchain input {\n${head.map((l) => `\t\t${l}\n`).join("")}\t}\n}\n`;
  const jump = 'jump mpi_hosts comment "mpi-hosts"';

  test("a comment on their chain (printed before its type line) is not a rule: our jump first reads first", () => {
    const chain = listing([
      'comment "default input"',
      "type filter hook input priority filter; policy drop;",
      jump,
      "ct state established accept",
    ]);
    expect(runProbeFunction("nftables", "", "fw_guest_jump inet filter input", chain)).toBe("first\n");
  });

  test("a rule before our jump makes it rule 2", () => {
    const chain = listing(["type filter hook input priority filter; policy drop;", "ct state invalid drop", jump]);
    expect(runProbeFunction("nftables", "", "fw_guest_jump inet filter input", chain)).toBe("at-2\n");
  });
});
