import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { cachedDeb, fetchDebs } from "./debianPackages";
import { ufwPackagePath } from "./firewallKinds";

describe("the lab's cached Debian packages", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "lab-debs-test-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const put = (...files: string[]) => files.forEach((f) => fs.writeFileSync(path.join(dir, f), ""));

  it("finds a package's Architecture: all .deb by its exact name, the last by name when there are several", () => {
    put(
      "ufw-extra_1.0_all.deb",
      "ufw_0.36.1-1_all.deb",
      "ufw_0.36.2-1_all.deb",
      "ufw_0.36.3_amd64.deb",
      "netfilter-persistent_1.0.20_all.deb",
    );
    expect(cachedDeb("ufw", dir)).toBe(path.join(dir, "ufw_0.36.2-1_all.deb"));
    expect(cachedDeb("netfilter-persistent", dir)).toBe(path.join(dir, "netfilter-persistent_1.0.20_all.deb"));
    expect(cachedDeb("iptables-persistent", dir)).toBeUndefined();
    expect(cachedDeb("ufw", path.join(dir, "missing"))).toBeUndefined();
  });

  it("does not download what is cached", () => {
    put("netfilter-persistent_1.0.20_all.deb", "iptables-persistent_1.0.20_all.deb");
    const pathBefore = process.env.PATH;
    process.env.PATH = path.join(dir, "no-apt-get-here");
    try {
      expect(fetchDebs(["netfilter-persistent", "iptables-persistent"], dir)).toEqual([
        path.join(dir, "netfilter-persistent_1.0.20_all.deb"),
        path.join(dir, "iptables-persistent_1.0.20_all.deb"),
      ]);
    } finally {
      process.env.PATH = pathBefore;
    }
  });

  it("a lab host of kind ufw without the package in the cache is refused, naming the folder and the fix", () => {
    expect(() => ufwPackagePath(dir)).toThrow(`a lab host with firewall ufw needs Debian's ufw package in ${dir}; run scripts/setup.sh`);
    put("ufw_0.36.2-1_all.deb");
    expect(ufwPackagePath(dir)).toBe(path.join(dir, "ufw_0.36.2-1_all.deb"));
  });
});
