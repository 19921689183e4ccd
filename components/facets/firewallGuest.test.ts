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
import { Host } from "../config/types";
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
 * The rendered probe (or apply) without its last step, then `call`, with stand-ins first on PATH: nft printing
 * `ruleset`, and iptables/ip6tables printing the version line of `variant`.
 */
function runProbeFunction(
  backend: Backend,
  ruleset: string,
  call: string,
  chainListing = "",
  script: "probe" | "apply" = "probe",
  hostExtra: Partial<Host> = {},
  variant: Variant = "nf_tables",
): string {
  const host: Host = { ...cluster.hosts[0], firewallBackend: backend, ...hostExtra };
  const text = renderFirewall(cluster, host).scripts[script];
  const body = text.slice(0, text.lastIndexOf(script === "probe" ? "mh_json_begin" : "fw_converge"));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fw-guest-"));
  fs.writeFileSync(path.join(dir, "ruleset"), ruleset);
  fs.writeFileSync(path.join(dir, "chain"), chainListing);
  // Only `nft list ruleset` is read by the functions under test; anything else would be a surprise.
  fs.writeFileSync(
    path.join(dir, "nft"),
    `#!/bin/sh\nif [ "$*" = "list ruleset" ]; then cat ${dir}/ruleset; exit 0; fi\n` +
      `case "$*" in "list chain "* | "-a list chain "*) [ -s ${dir}/chain ] || exit 1; cat ${dir}/chain; exit 0 ;; esac\n` +
      // A table is there when the ruleset lists it.
      `case "$*" in "list table "*) set -- $*; grep -q "^table $3 $4 {" ${dir}/ruleset; exit ;; esac\necho "nft stand-in: unexpected $*" >&2\nexit 2\n`,
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
      "nftables: table inet filter, chain input drops what it does not accept on the input hook, and does not jump to our chain mpi_hosts there, so the MPI ports stay closed (apply adds the chain, and the jump after their rules, before a last drop or reject)",
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
    expect(runProbeFunction("iptables", NATIVE, 'fw_guest_targets "$(fw_iptables_own_tables)"', "", "probe", {}, variant)).toBe(expected);
  });

  test("iptables-legacy: backend nftables does not refuse it as iptables' own, and puts our chain there", () => {
    expect(runProbeFunction("nftables", NATIVE, "fw_nftables_conflict", "", "probe", {}, "legacy")).toBe("");
    expect(runProbeFunction("nftables", NATIVE, 'fw_guest_targets "$(fw_nftables_own_tables)"', "", "probe", {}, "legacy")).toBe(
      "ip filter input\n",
    );
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

describe("where the jump to our chain sits in their input chain: after their rules, before a last catch-all drop", () => {
  const listing = (head: string[]) => `table inet filter {\n\tchain input {\n${head.map((l) => `\t\t${l}\n`).join("")}\t}\n}\n`;
  const jump = 'jump mpi_hosts comment "mpi-hosts"';
  const TYPE_DROP = "type filter hook input priority filter; policy drop;";
  const TYPE_ACCEPT = "type filter hook input priority filter; policy accept;";
  const BANNED = "ip saddr @banned drop";
  const INVALID = "ct state invalid drop";

  test.each([
    [
      "a comment on their chain (printed before its type line) is not a rule: an empty chain's only rule is our jump",
      ['comment "default input"', TYPE_DROP, jump],
      "placed",
    ],
    ["policy drop: last, after their invalid-state drop and ban set", [TYPE_DROP, INVALID, BANNED, "tcp dport 22 accept", jump], "placed"],
    [
      "policy drop with a ban set as their last rule: still last (the policy is the catch-all)",
      [TYPE_DROP, INVALID, BANNED, jump],
      "placed",
    ],
    ["policy drop, our jump before their last drop rule lets MPI traffic past it", [TYPE_DROP, INVALID, jump, BANNED], "at-2-3"],
    ["the old place, rule 1, lets MPI traffic past their drops", [TYPE_DROP, jump, INVALID, BANNED, "tcp dport 22 accept"], "at-1-4"],
    [
      "a catch-all drop last: our jump just before it",
      [TYPE_ACCEPT, INVALID, "tcp dport 22 accept", jump, "counter packets 3 bytes 180 drop"],
      "placed",
    ],
    [
      "after their catch-all reject, our jump is never reached",
      [TYPE_ACCEPT, "tcp dport 22 accept", 'reject with icmpx type admin-prohibited comment "default deny"', jump],
      "at-3-2",
    ],
    ["a rule the admin added after our jump (policy drop)", [TYPE_DROP, INVALID, jump, "tcp dport 80 accept"], "at-2-3"],
    ["no jump", [TYPE_DROP, INVALID], "missing"],
    ["two jumps", [TYPE_DROP, jump, INVALID, jump], "2x"],
  ])("%s", (_label, lines, expected) => {
    expect(runProbeFunction("nftables", "", "fw_guest_jump inet filter input", listing(lines))).toBe(`${expected}\n`);
  });

  // nft -a lists each rule's handle; apply inserts by handle, in the same transaction that deletes our old jump.
  const handles = (type: string, lines: string[]) =>
    `table inet filter { # handle 2\n\tchain input { # handle 1\n\t\t${type}\n${lines.map((l, i) => `\t\t${l} # handle ${i + 4}\n`).join("")}\t}\n}\n`;
  test.each([
    [
      "policy drop, a ban set last: appended (the policy is the catch-all, the ban still applies)",
      TYPE_DROP,
      [INVALID, BANNED, jump],
      'add rule inet filter input jump mpi_hosts comment "mpi-hosts"',
    ],
    [
      "policy accept, a counted drop last: inserted before it, by its handle (our old jump not counted)",
      TYPE_ACCEPT,
      [jump, INVALID, "counter packets 0 bytes 0 drop"],
      'insert rule inet filter input handle 6 jump mpi_hosts comment "mpi-hosts"',
    ],
    ["an empty chain", TYPE_DROP, [], 'add rule inet filter input jump mpi_hosts comment "mpi-hosts"'],
  ])("apply places the jump: %s", (_label, type, lines, expected) => {
    expect(runProbeFunction("nftables", "", "fw_guest_place inet filter input", handles(type, lines), "apply")).toBe(`${expected}\n`);
  });
});

describe("what the boot loads of our jump: the place it has now", () => {
  const guest = chain("mpi_hosts", "", ["ip saddr 10.9.0.0/24 tcp dport 50000-50099 accept"]).replace("\t\t\n", "");
  const jump = 'jump mpi_hosts comment "mpi-hosts"';
  test.each([
    [
      "policy drop, our jump last: appended after their rules",
      input("drop", ["ct state invalid drop", "ip saddr @banned drop", jump]),
      'add rule inet filter input jump mpi_hosts comment "mpi-hosts"',
    ],
    [
      "policy accept, our jump before their catch-all: inserted at its index among their rules",
      input("accept", ["ct state invalid drop", "tcp dport 22 accept", jump, "counter packets 0 bytes 0 drop"]),
      'insert rule inet filter input index 2 jump mpi_hosts comment "mpi-hosts"',
    ],
  ])("%s", (_label, inputChain, expected) => {
    const out = runProbeFunction(
      "nftables",
      table("inet", "filter", guest + inputChain),
      "fw_ps_guest_statements 'inet mpi_hosts'",
      "",
      "apply",
    );
    expect(out).toBe(
      "add table inet filter\nadd chain inet filter mpi_hosts\nflush chain inet filter mpi_hosts\n" +
        "add rule inet filter mpi_hosts ip saddr 10.9.0.0/24 tcp dport 50000-50099 accept\n" +
        `add chain inet filter input\n${expected}\n`,
    );
  });
});

describe("a chain named in config (firewall.nftables) in place of what the ruleset gives", () => {
  const named = { firewallNftables: { family: "inet" as const, table: "filter", chain: "tcp_in" } };
  const JUMPS_ON = table(
    "inet",
    "filter",
    input("drop", ["ct state established,related accept", "tcp dport 2400 accept", "jump tcp_in"]) + chain("tcp_in", "tcp dport 80 accept"),
  );

  test("replaces their input chain in that table; the other tables that drop keep theirs", () => {
    expect(runProbeFunction("nftables", JUMPS_ON + GUARD, "fw_guest_targets 'inet mpi_hosts'", "", "probe", named)).toBe(
      "ip guard input\ninet filter tcp_in\n",
    );
  });

  test("a host without that table or chain: the probe names host, table and chain (apply fails with it)", () => {
    expect(runProbeFunction("nftables", GUARD, "fw_nftables_conflict", "", "probe", named)).toBe(
      "nftables: host host1 has no table inet filter, which firewall.nftables names as the table to put the MPI rules in; name a table that host1 has (nft list tables), or leave firewall.nftables out to let mpi-hosts find the tables that drop",
    );
    expect(runProbeFunction("nftables", JUMPS_ON, "fw_nftables_conflict", "", "probe", named)).toBe(
      "nftables: host host1 has no chain tcp_in in table inet filter, which firewall.nftables names as the chain to jump to the MPI rules from; name a chain of that table (nft list table inet filter)",
    );
    const listed = "table inet filter {\n\tchain tcp_in {\n\t\ttcp dport 80 accept\n\t}\n}\n";
    expect(runProbeFunction("nftables", JUMPS_ON, "fw_nftables_conflict", listed, "probe", named)).toBe("");
    expect(runProbeFunction("iptables", GUARD, "fw_iptables_conflict", "", "probe", named)).toMatch(
      /^nftables: host host1 has no table inet filter/,
    );
  });
});

describe("the file nftables.service loads at boot, from its ExecStart (templates/firewall/nftables/persist.sh.hbs)", () => {
  // `systemctl show -p ExecStart` as systemd prints it where it runs (its exec-status printer: one line per command);
  // the lab's hosts do not run systemd as PID 1, so this path is checked here.
  const shown = (argv: string) =>
    `ExecStart={ path=${argv.split(" ")[0]} ; argv[]=${argv} ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }\n`;
  const fileOf = (text: string) =>
    runProbeFunction("nftables", "", `printf '%s' '${text.replace(/'/g, "'\\''")}' | fw_nft_show_argv | fw_nft_exec_file`);

  test.each([
    ["Debian's", shown("/usr/sbin/nft -f /etc/nftables.conf"), "conf /etc/nftables.conf"],
    ["RHEL's", shown("/sbin/nft -f /etc/sysconfig/nftables.conf"), "conf /etc/sysconfig/nftables.conf"],
    ["a drop-in's --file=", shown("/usr/sbin/nft --file=/etc/nft/site.nft"), "conf /etc/nft/site.nft"],
    [
      "a script",
      shown("/usr/local/sbin/load-firewall --all"),
      "unknown nftables.service runs `/usr/local/sbin/load-firewall --all` at boot, not only nft -f FILE",
    ],
    [
      "two files",
      shown("/usr/sbin/nft -f /etc/a.nft") + shown("/usr/sbin/nft -f /etc/b.nft"),
      "unknown nftables.service loads several files at boot (/etc/a.nft, /etc/b.nft)",
    ],
    ["no ExecStart", "", "unknown nftables.service is enabled, but mpi-hosts found no ExecStart in it"],
  ])("%s", (_label, text, expected) => {
    expect(fileOf(text)).toBe(`${expected}\n`);
  });
});

// Issue 13 review, second round: the guests' boot file (our chain in the tables of others, for iptables, ufw and
// firewalld) went into /etc/nftables.conf whatever nftables.service loads. `systemctl` is a shell function standing in
// for systemctl (is-enabled answers $enabled); where systemd does not run (here, and on the lab's hosts) the unit file
// is read from the directories in fw_ps_unit_dirs, pointed at a temp directory.
describe("the guests' boot file: the file nftables.service loads, as for backend nftables", () => {
  const jump = 'jump mpi_hosts comment "mpi-hosts"';
  const guest = chain("mpi_hosts", "", ["ip saddr 10.9.0.0/24 tcp dport 50000-50099 accept"]).replace("\t\t\n", "");
  const WITH_GUEST = table("inet", "filter", guest + input("drop", ["tcp dport 2400 accept", jump]));
  const BY_POSITION = table("inet", "filter", guest + input("accept", ["tcp dport 2400 accept", jump, "drop"]));
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "fw-guests-boot-"));
    fs.mkdirSync(path.join(dir, "units"));
    fs.mkdirSync(path.join(dir, "sysconfig"));
    fs.writeFileSync(path.join(dir, "units", "nftables.service"), `[Service]\nExecStart=/sbin/nft -f ${dir}/sysconfig/nftables.conf\n`);
    fs.writeFileSync(path.join(dir, "sysconfig", "nftables.conf"), "flush ruleset\n");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const conf = () => path.join(dir, "sysconfig", "nftables.conf");
  /** `call` on a host whose nftables.service is `enabled` (is-enabled's answer); our guests' file in the temp directory. */
  const host = (enabled: string, call: string, guestsFile = `${dir}/guests.nft`) =>
    `systemctl() { [ "$1" = is-enabled ] && echo ${enabled}; }\nfw_ps_unit_dirs=${dir}/units\nfw_ps_guests_file=${guestsFile}\n${call}`;

  test("RHEL: nftables.service loads /etc/sysconfig/nftables.conf, and the guests' include goes there", () => {
    expect(runProbeFunction("ufw", WITH_GUEST, host("enabled", 'fw_ps_guests_mode ""'))).toBe(`conf ${conf()}\n`);
  });

  test("a masked nftables.service loads nothing: the probe says not persistent, naming why", () => {
    expect(runProbeFunction("firewalld", WITH_GUEST, host("masked", 'fw_ps_guests_boot "$(fw_ps_guests_mode "")"'))).toBe(
      "not persistent: our chain mpi_hosts in the nftables tables of others that drop (inet filter;) would come back at boot only through nftables.service loading a file with `nft -f`, and nftables.service is masked (systemctl is-enabled), so it loads nothing at boot; enable nftables.service with the file that makes those tables, or set firewall persist false for this host",
    );
  });

  test("a jump placed by position: nft -c rejecting the file nftables.service loads makes it not persistent", () => {
    const rejecting = `nft() { if [ "$1 $2" = "-c -f" ]; then echo "Error: Could not process rule: No such file or directory" >&2; return 1; fi; command nft "$@"; }`;
    const call = `${rejecting}\nprintf '%s\\n' "$(fw_ps_guests_text)" >${dir}/guests.nft\n{ cat ${conf()}; printf '%s\\n' "$fw_ps_guests_block"; } >${dir}/c && mv ${dir}/c ${conf()}\nfw_ps_guests_boot "$(fw_ps_guests_mode "")"`;
    expect(runProbeFunction("ufw", BY_POSITION, host("enabled", call))).toBe(
      `not persistent: nft -c rejects ${conf()} as the boot would load it, so a reboot would load none of it: Error: Could not process rule: No such file or directory. If rules were taken out of its chains since pulumi up placed the jump of mpi-hosts by position (${dir}/guests.nft), take the mpi-hosts block out of ${conf()}, load it (nft -f ${conf()}), then run pulumi up again`,
    );
    // The same files with the jump at the end of their chain: no check needed, persistent.
    expect(runProbeFunction("ufw", WITH_GUEST, host("enabled", call))).toBe("");
  });

  test("copies saved by `nft list ruleset >` in that file: the probe says so, apply refuses naming the lines", () => {
    fs.writeFileSync(conf(), `flush ruleset\n${WITH_GUEST}`);
    const copied = `${conf()} holds copies of the rules of mpi-hosts outside its mpi-hosts block, as \`nft list ruleset > ${conf()}\` saves them (lines 3, 9)`;
    expect(runProbeFunction("iptables", WITH_GUEST, host("enabled", 'fw_ps_guests_boot "$(fw_ps_guests_mode "")"'))).toContain(
      `not persistent: ${copied}`,
    );
    expect(() =>
      runProbeFunction("ufw", WITH_GUEST, host("enabled", 'fw_ps_persist_guests "$(fw_ps_guests_mode "")" ufw'), "", "apply"),
    ).toThrow(`ufw: the MPI rules are open now, but not persistent: ${copied}`);
    expect(fs.existsSync(path.join(dir, "guests.nft"))).toBe(false);
  });

  test("remove: copies stop the backend whose guests' file was there, not every candidate backend (nftables' own copies are its own)", () => {
    fs.writeFileSync(conf(), `flush ruleset\n${WITH_GUEST}`);
    // Remove runs each candidate's unpersist; the machine's own /etc must not be looked at or touched.
    const unpersist = `fw_ps_dir=${dir}/mpi-hosts\nfw_ps_confs=\nfw_ps_unpersist_guests iptables`;
    expect(runProbeFunction("iptables", WITH_GUEST, host("enabled", unpersist), "", "apply")).toBe("");
    fs.writeFileSync(path.join(dir, "guests.nft"), "# managed by mpi-hosts\n");
    expect(() => runProbeFunction("iptables", WITH_GUEST, host("enabled", unpersist), "", "apply")).toThrow(
      `iptables: removed the MPI rules now and the include, but ${conf()} holds copies`,
    );
  });

  test("iptables in unit mode: our unit leaves the guests' file to nftables.service when that loads it (not twice)", () => {
    const unitMode = "fw_iptables_persist_mode() { printf 'unit\\n'; }\nfw_iptables_unit_text";
    const guests = "/etc/mpi-hosts/firewall-guests.nft";
    expect(runProbeFunction("iptables", WITH_GUEST, host("enabled", unitMode, guests))).not.toContain(guests);
    expect(runProbeFunction("iptables", WITH_GUEST, host("disabled", unitMode, guests))).toContain(`nft -f ${guests}\n`);
  });
});

// Issue 13 review, second round: ufw and firewalld put our chain into the tables named in config too, and said nothing
// of a named table or chain the host lacks (nft's raw error at apply).
describe("ufw and firewalld with a chain named in config that the host lacks", () => {
  const named = { firewallNftables: { family: "inet" as const, table: "filter", chain: "tcp_in" } };
  test.each([
    ["ufw", "ufw", "echo 'Status: active'", "fw_ufw_conflict"],
    ["firewalld", "firewall-cmd", "exit 0", "fw_firewalld_conflict"],
  ] as const)("%s: the probe names host, table and chain", (backend, program, body, call) => {
    // The backend's program as an active firewall answers its status query (`ufw status`, `firewall-cmd --state`).
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "fw-guests-bin-"));
    fs.writeFileSync(path.join(bin, program), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    try {
      expect(runProbeFunction(backend, GUARD, `PATH=${bin}:$PATH\n${call}`, "", "probe", named)).toMatch(
        /^nftables: host host1 has no table inet filter, which firewall.nftables names/,
      );
    } finally {
      fs.rmSync(bin, { recursive: true, force: true });
    }
  });
});
