/**
 * The firewall facet without a host: desired state from config, rendered rules per backend (golden files under
 * test/golden/firewall/<backend>/<case>/, rewritten with UPDATE_GOLDEN=1), and every rendered script checked by
 * shellcheck and parsed by each shell. Real firewalls are exercised by test/lab/firewall.test.ts.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { undefinedHelpers } from "../../test/unit/support/shellHelpers";
import { loadClusterOrThrow, readStackFile } from "../config/load";
import { Cluster, FirewallBackend, Host } from "../config/types";
import { renderFacet } from "./facet";
import {
  backendCandidates,
  describeRules,
  firewall,
  firewalldRichRules,
  firewallRules,
  renderFirewall,
  renderIptables,
  renderNftables,
  renderPfAnchor,
  ufwCommands,
} from "./firewall";

const GOLDEN = path.resolve(__dirname, "../../test/golden/firewall");
const update = process.env.UPDATE_GOLDEN === "1";

const example = (): Cluster => loadClusterOrThrow(readStackFile("Pulumi.example.yaml")).cluster;
const hostNamed = (cluster: Cluster, name: string): Host => cluster.hosts.find((h) => h.name === name)!;

/** The example with other networks allowed: several CIDRs, a single address, a repeated entry. */
function threeNetworks(): Cluster {
  const c = example();
  c.firewall.allowFrom = ["128.5.5.0/24", "10.1.0.0/16", "192.0.2.7/32", "10.1.0.0/16"];
  return c;
}

/** One-port ranges (a one-slot cluster): every backend writes and reads back a single port differently. */
function singlePorts(): Cluster {
  const c = example();
  c.mpi.btlPorts = { first: 50000, last: 50000 };
  c.mpi.oobPorts = { first: 50001, last: 50001 };
  c.mpi.oobEphemeral = false;
  return c;
}

/** The runtime confined to a fixed range (oobPorts: 50100-50199): closed to others like the BTL range. */
function fixedRuntimeRange(): Cluster {
  const c = example();
  c.mpi.oobPorts = { first: 50100, last: 50199 };
  c.mpi.oobEphemeral = false;
  return c;
}

const withBackend = (cluster: Cluster, name: string, backend: FirewallBackend): Host => {
  const host = hostNamed(cluster, name);
  host.firewallBackend = backend;
  return host;
};

describe("desired state", () => {
  it("opens the BTL range and the ephemeral runtime window of the example to the cluster network, and closes only the BTL range to everyone else", () => {
    const c = example();
    expect(renderFacet(firewall, { cluster: c, host: hostNamed(c, "linux1"), clusterPublicKey: "k" }).desired).toEqual({
      rules:
        "allow tcp 50000-50099 from 128.5.5.0/24\n" + "allow tcp 32768-65535 from 128.5.5.0/24\n" + "deny tcp 50000-50099 from others\n",
      effective: "open",
      boot: "persistent",
    });
  });

  it("closes a fixed runtime range to everyone else, like the BTL range", () => {
    const c = fixedRuntimeRange();
    expect(renderFacet(firewall, { cluster: c, host: hostNamed(c, "linux1"), clusterPublicKey: "k" }).desired).toEqual({
      rules:
        "allow tcp 50000-50099 from 128.5.5.0/24\n" +
        "allow tcp 50100-50199 from 128.5.5.0/24\n" +
        "deny tcp 50000-50099 from others\n" +
        "deny tcp 50100-50199 from others\n",
      effective: "open",
      boot: "persistent",
    });
  });

  it("expects no boot-time rules where firewall persist is off, and each host's firewallPersist overrides it", () => {
    const raw = readStackFile("Pulumi.example.yaml");
    raw.firewall = { ...(raw.firewall as object), persist: false };
    const hosts = raw.hosts as Array<Record<string, unknown>>;
    const linux = hosts.filter((h) => h.os === "linux");
    linux[1].firewallPersist = true;
    const c = loadClusterOrThrow(raw).cluster;
    const off = hostNamed(c, linux[0].name as string);
    const on = hostNamed(c, linux[1].name as string);
    expect([off.firewallPersist, on.firewallPersist]).toEqual([false, true]);
    expect(renderFirewall(c, off).desired).toEqual({ rules: describeRules(firewallRules(c)), effective: "open" });
    expect(renderFirewall(c, on).desired).toMatchObject({ boot: "persistent" });
    // Apply takes our boot-time files out instead of writing them (the lab test runs it: test/lab/firewall.test.ts).
    expect(renderFirewall(c, off).scripts.apply).toContain("\nfw_persist='no'\n");
    expect(renderFirewall(c, on).scripts.apply).toContain("\nfw_persist='yes'\n");
  });

  it("persists by default", () => {
    expect(example().hosts.map((h) => h.firewallPersist)).toEqual(example().hosts.map(() => true));
  });

  it("asks a Mac also for the Application Firewall to let the MPI binaries through, and for pf rules that persist", () => {
    const c = example();
    expect(renderFirewall(c, hostNamed(c, "mac1")).desired).toEqual({
      rules: describeRules(firewallRules(c)),
      effective: "open",
      boot: "persistent",
      apps: "allowed",
    });
  });

  it.each([
    {
      name: "several networks, one of them a single address, one repeated",
      cluster: threeNetworks,
      rules: [
        "allow tcp 50000-50099 from 128.5.5.0/24",
        "allow tcp 50000-50099 from 10.1.0.0/16",
        "allow tcp 50000-50099 from 192.0.2.7/32",
        "allow tcp 32768-65535 from 128.5.5.0/24",
        "allow tcp 32768-65535 from 10.1.0.0/16",
        "allow tcp 32768-65535 from 192.0.2.7/32",
        "deny tcp 50000-50099 from others",
      ],
    },
    {
      name: "one-port ranges",
      cluster: singlePorts,
      rules: [
        "allow tcp 50000-50000 from 128.5.5.0/24",
        "allow tcp 50001-50001 from 128.5.5.0/24",
        "deny tcp 50000-50000 from others",
        "deny tcp 50001-50001 from others",
      ],
    },
  ])("$name", ({ cluster, rules }) => {
    const c = cluster();
    expect(renderFirewall(c, hostNamed(c, "linux2")).desired.rules).toBe(rules.map((r) => `${r}\n`).join(""));
  });

  it.each<[string, string, FirewallBackend, string[]]>([
    ["linux1", "linux", "auto", ["ufw", "firewalld", "iptables", "nftables"]],
    ["linux3", "linux", "ufw", ["ufw"]],
    ["linux2", "linux", "nftables", ["nftables"]],
    ["linux2", "linux", "iptables", ["iptables"]],
    ["linux2", "linux", "firewalld", ["firewalld"]],
    ["mac1", "macos", "auto", ["pf"]],
    ["mac2", "macos", "pf", ["pf"]],
    ["linux1", "linux", "none", []],
  ])("%s (%s) with backend %s carries the scripts of %j", (name, _os, backend, expected) => {
    const c = example();
    expect(backendCandidates(withBackend(c, name, backend))).toEqual(expected);
  });

  it("is the same whatever the backend: only the scripts differ", () => {
    const c = example();
    const states = (["auto", "nftables", "iptables", "ufw", "firewalld"] as FirewallBackend[]).map(
      (b) => renderFirewall(c, withBackend(c, "linux2", b)).desired,
    );
    for (const s of states) expect(s).toEqual(states[0]);
  });

  it("does not apply to a host with backend none, and refuses a backend of the other OS", () => {
    const c = example();
    expect(firewall.appliesTo(c, withBackend(c, "linux1", "none"))).toBe(false);
    expect(firewall.appliesTo(c, withBackend(c, "linux2", "auto"))).toBe(true);
    expect(() => renderFirewall(c, withBackend(c, "mac1", "nftables"))).toThrow(/nftables does not exist on macos host mac1/);
    expect(() => renderFirewall(c, withBackend(c, "linux2", "pf"))).toThrow(/pf does not exist on linux host linux2/);
    expect(() => renderFirewall(c, withBackend(c, "linux3", "none"))).toThrow(/none/);
  });

  it("runs as root (firewalls need it)", () => {
    const c = example();
    expect(renderFirewall(c, hostNamed(c, "linux1")).privileged).toBe(true);
  });
});

describe("rendered rules", () => {
  it("keep the allow rules before the deny rules in every backend, as the order decides", () => {
    const rules = firewallRules(threeNetworks());
    const lastAllow = (lines: string[], isAllow: (l: string) => boolean) => lines.map(isAllow).lastIndexOf(true);
    const firstDeny = (lines: string[], isAllow: (l: string) => boolean) => lines.map((l) => !isAllow(l)).indexOf(true);
    const check = (lines: string[], isAllow: (l: string) => boolean) =>
      expect(lastAllow(lines, isAllow)).toBeLessThan(firstDeny(lines, isAllow));
    check(renderIptables(rules).trim().split("\n"), (l) => l.endsWith("-j ACCEPT"));
    check(
      ufwCommands(rules).map((a) => a.join(" ")),
      (l) => l.startsWith("allow"),
    );
    check(firewalldRichRules(rules), (l) => l.endsWith(" accept"));
    check(
      renderNftables(rules)
        .split("\n")
        .filter((l) => /dport/.test(l)),
      (l) => l.endsWith(" accept"),
    );
    check(
      renderPfAnchor(rules)
        .split("\n")
        .filter((l) => /^(pass|block)/.test(l)),
      (l) => l.startsWith("pass"),
    );
  });

  it("close new connections only, so replies to the host's own connections from ephemeral ports in the range still arrive", () => {
    const rules = firewallRules(example());
    expect(renderNftables(rules)).toContain('iifname != "lo" tcp dport 50000-50099 ct state != { established, related } drop');
    expect(renderIptables(rules)).toContain(
      "! -i lo -p tcp -m tcp --dport 50000:50099 -m conntrack ! --ctstate RELATED,ESTABLISHED -j DROP",
    );
    expect(renderPfAnchor(rules)).toContain("block drop in quick on ! lo0 proto tcp from any to any port 50000:50099 flags S/SA\n");
  });

  it("never mention the SSH port", () => {
    const c = example();
    for (const host of c.hosts) {
      const rendered = renderFirewall(c, host);
      for (const [name, text] of Object.entries(rendered.files)) expect(`${name}: ${text}`).not.toMatch(/\b2400\b/);
    }
  });

  const cases: Array<{ label: string; cluster: () => Cluster; host: string }> = [
    { label: "example", cluster: example, host: "linux1" },
    { label: "example", cluster: example, host: "mac1" },
    { label: "three-networks", cluster: threeNetworks, host: "linux1" },
    { label: "three-networks", cluster: threeNetworks, host: "mac1" },
    { label: "single-ports", cluster: singlePorts, host: "linux1" },
    { label: "single-ports", cluster: singlePorts, host: "mac1" },
  ];
  const golden = cases.flatMap(({ label, cluster, host }) => {
    const c = cluster();
    const h = hostNamed(c, host);
    const rendered = renderFirewall(c, h);
    return [
      ...Object.entries(rendered.files).map(([name, content]) => {
        // "nftables/mpi-hosts.nft" -> nftables/<case>/mpi-hosts.nft; the semantic rules per OS.
        const [dir, file] = name.includes("/") ? name.split("/") : [h.os, name];
        return { file: `${dir}/${label}/${file}`, content };
      }),
      { file: `${h.os}/${label}/desired.json`, content: `${JSON.stringify(rendered.desired, null, 2)}\n` },
    ];
  });

  it("cover every backend and both OSes", () => {
    const dirs = new Set(golden.map((g) => g.file.split("/")[0]));
    expect([...dirs].sort()).toEqual(["alf", "firewalld", "iptables", "linux", "macos", "nftables", "persist", "pf", "ufw"]);
  });

  it.each(golden.map((g) => [g.file, g.content]))("match the reviewed golden file %s", (file, content) => {
    const target = path.join(GOLDEN, file);
    if (update) {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, content);
    }
    expect(content).toBe(fs.readFileSync(target, "utf8"));
  });
});

describe("rendered scripts", () => {
  const variants: Array<{ label: string; host: string; backend: FirewallBackend }> = [
    { label: "linux-auto", host: "linux1", backend: "auto" },
    { label: "linux-nftables", host: "linux1", backend: "nftables" },
    { label: "linux-iptables", host: "linux1", backend: "iptables" },
    { label: "linux-ufw", host: "linux1", backend: "ufw" },
    { label: "linux-firewalld", host: "linux1", backend: "firewalld" },
    { label: "macos-auto", host: "mac1", backend: "auto" },
    { label: "macos-pf", host: "mac1", backend: "pf" },
  ];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "firewall-scripts-"));
  const files: string[] = [];
  for (const v of variants) {
    const c = threeNetworks();
    const rendered = renderFirewall(c, withBackend(c, v.host, v.backend));
    for (const kind of ["probe", "apply", "remove"] as const) {
      const name = `${v.label}-${kind}.sh`;
      fs.writeFileSync(path.join(dir, name), rendered.scripts[kind]);
      files.push(name);
    }
  }
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("define every helper they call, every backend and OS (a probe has no writing functions)", () => {
    for (const f of files) expect([f, undefinedHelpers(fs.readFileSync(path.join(dir, f), "utf8"))]).toEqual([f, []]);
    const probe = fs.readFileSync(path.join(dir, "linux-auto-probe.sh"), "utf8");
    for (const b of ["ufw", "firewalld", "iptables", "nftables"]) {
      expect(probe).toContain(`fw_${b}_rules() {`);
      expect(probe).not.toContain(`fw_${b}_apply() {`);
    }
  });

  it("pass shellcheck as POSIX sh, every backend and OS", () => {
    expect(files).toHaveLength(variants.length * 3);
    const result = spawnSync("shellcheck", ["-s", "sh", ...files], { cwd: dir, encoding: "utf8" });
    expect(result.error).toBeUndefined();
    expect(result.stdout).toBe("");
    expect(result.status).toBe(0);
  });

  it.each(["sh", "dash", "bash", "zsh"])("parse under %s", (shell) => {
    for (const f of files) {
      const r = spawnSync(shell, ["-n", f], { cwd: dir, encoding: "utf8" });
      expect({ f, status: r.status, stderr: r.stderr }).toEqual({ f, status: 0, stderr: "" });
    }
  });

  it("carry only the backends they can use", () => {
    const c = example();
    const only = renderFirewall(c, withBackend(c, "linux2", "iptables")).scripts.apply;
    expect(only).toContain("fw_iptables_apply()");
    expect(only).not.toMatch(/fw_(nftables|ufw|firewalld|pf)_apply\(\)/);
    const auto = renderFirewall(c, withBackend(c, "linux2", "auto")).scripts.apply;
    for (const b of ["ufw", "firewalld", "iptables", "nftables"]) expect(auto).toContain(`fw_${b}_apply()`);
    expect(auto).toContain("fw_candidates='ufw firewalld iptables nftables'");
    const mac = renderFirewall(c, hostNamed(c, "mac1")).scripts.apply;
    expect(mac).toContain("fw_pf_apply()");
    expect(mac).toContain("fw_alf_apply");
    expect(mac).not.toMatch(/fw_(nftables|iptables|ufw|firewalld)_apply\(\)/);
  });

  it.each(["sh", "bash", "zsh"])("carry a hostile conda prefix byte for byte under %s", (shell) => {
    const c = example();
    const mac = hostNamed(c, "mac1");
    mac.pythonPrefix = "/Applications/My 'conda' $(touch PWNED) `x`";
    const script = renderFirewall(c, mac).scripts.probe;
    const assignment = script.split("\n").find((l) => l.startsWith("fw_alf_prefix="))!;
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "firewall-quote-"));
    try {
      const out = execFileSync(shell, ["-c", `${assignment}\nprintf '%s' "$fw_alf_prefix"`], { cwd: work, encoding: "utf8" });
      expect(out).toBe(mac.pythonPrefix);
      expect(fs.existsSync(path.join(work, "PWNED"))).toBe(false);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
