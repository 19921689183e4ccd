import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { debianDropNftablesConf, describeFirewalls, foreignTableNftablesConf, parseFirewallKinds } from "./firewallKinds";

const hosts = ["host1", "host2", "host3"];

describe("--firewall of npm run lab -- up", () => {
  test.each([
    ["ufw", ["ufw", "ufw", "ufw"]],
    ["none,iptables,nftables-debian", ["none", "iptables", "nftables-debian"]],
    ["host2=ufw,host3=nftables-foreign", ["iptables", "ufw", "nftables-foreign"]],
  ])("%s gives the hosts %j", (spec, kinds) => {
    expect(parseFirewallKinds(spec, hosts)).toEqual(kinds);
  });

  test.each([
    ["nft", /firewall kind 'nft' is not one of/],
    ["none,ufw", /lists 2 kinds for 3 hosts/],
    ["host1=ufw,none", /mixes HOST=KIND pairs and plain kinds/],
    ["host4=ufw", /names host 'host4'/],
    [",", /--firewall is empty/],
  ])("refuses %s", (spec, message) => {
    expect(() => parseFirewallKinds(spec, hosts)).toThrow(message);
  });

  test("a lab's firewall in one word: the shared kind, or each host's", () => {
    expect(describeFirewalls(["ufw", "ufw"])).toBe("ufw");
    expect(describeFirewalls(["none", "ufw"])).toBe("none,ufw");
  });
});

describe("the nftables rulesets the lab's admins wrote", () => {
  const nft = spawnSync("nft", ["--version"]).status === 0;
  test.each([
    ["nftables-debian", debianDropNftablesConf(2400)],
    ["nftables-foreign", foreignTableNftablesConf(2400)],
  ])("%s: nft -c accepts it", (_kind, text) => {
    expect(text).toContain("tcp dport 2400 accept");
    expect(text).toMatch(/policy drop;/);
    if (!nft || process.getuid?.() !== 0) return; // nft -c needs CAP_NET_ADMIN; the lab test loads it for real
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "nft-")), "ruleset.nft");
    fs.writeFileSync(file, text);
    const check = spawnSync("unshare", ["--net", "nft", "-c", "-f", file], { encoding: "utf8" });
    expect(check.stderr).toBe("");
    expect(check.status).toBe(0);
  });
});
