import { spawnSync } from "child_process";
import { BootPlan, renderBootScript } from "./boot";
import { shellAssignments } from "./shell";

const plan: BootPlan = {
  host: "host1",
  address: "10.213.1.11",
  prefixLength: 24,
  netns: "mhlab_lab_host1",
  image: "/var/cache/mpi-hosts/images/trixie-c4c9092034f2",
  dir: "/run/mpi-hosts/labs/lab/hosts/host1",
  port: 2400,
  firewall: "iptables",
  provision: { user: "mpi", authorizedKey: "ssh-ed25519 AAAAC3Nza lab\n", etcHosts: "127.0.0.1\tlocalhost\n10.213.1.11\thost1\n" },
};

describe("the boot script of a lab host", () => {
  test("passes shellcheck", () => {
    const result = spawnSync("shellcheck", ["-s", "bash", "-"], { input: renderBootScript(plan), encoding: "utf8" });
    expect(result.error).toBeUndefined();
    expect(result.stdout).toBe("");
    expect(result.status).toBe(0);
  });

  test("starts with the values, then a body that is the same for every host", () => {
    const a = renderBootScript(plan);
    const b = renderBootScript({ ...plan, host: "host2", address: "10.213.1.12", firewall: "none", provision: undefined });
    const body = (script: string) => script.slice(script.indexOf("\noutside() {"));
    expect(body(a)).toBe(body(b));
    expect(a).toContain("\naddress='10.213.1.11/24'\n");
    expect(b).toContain("\nprovision='0'\n");
  });

  test("locks the host down to loopback, replies and SSH when the firewall is iptables", () => {
    const script = renderBootScript(plan);
    expect(script).toContain(":INPUT DROP [0:0]");
    expect(script).toContain("-A INPUT -p tcp --dport $port -j ACCEPT");
    expect(script).toMatch(/\n {4}iptables\) lock_down ;;\n/);
  });

  test("loads each kind of firewall at every boot as the OS would, and sets it up on the first", () => {
    const script = renderBootScript({
      ...plan,
      firewall: "nftables-debian",
      provision: { ...plan.provision!, nftablesConf: "table inet filter {}\n" },
    });
    expect(script).toContain("\nfirewall='nftables-debian'\n");
    // nftables.service (enabled at setup) and ufw.service (enabled by its package) run from run_boot_units.
    expect(script).toContain("systemctl enable nftables.service");
    expect(script).toMatch(/\n {2}load_firewall\n {2}# .*\n {2}run_boot_units\n/);
    expect(script).toMatch(/\n {2}provision_firewall\n/);
  });
});

describe("shellAssignments", () => {
  const hostile = ["it's", '"double" $HOME `id` $(reboot)', "line1\nline2", "*", "", "-n", "a\\b", "; rm -rf /"];

  test.each(hostile)("bash reads back %j exactly", (value) => {
    const script = `${shellAssignments({ value })}\nprintf '%s' "$value"`;
    const result = spawnSync("bash", ["-c", script], { encoding: "utf8" });
    expect(result.stdout).toBe(value);
  });

  test("refuses names that are not shell variables", () => {
    expect(() => shellAssignments({ "a-b": "x" })).toThrow(/not a shell variable name/);
  });
});
