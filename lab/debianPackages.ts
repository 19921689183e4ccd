/**
 * Debian packages a lab host installs that its image does not carry (ufw for the ufw kind, netfilter-persistent for
 * a test), kept as `.deb` files in this machine's lab cache: one lookup for the lab and its tests.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export function debCacheDir(cache = process.env.MPI_HOSTS_CACHE || "/var/cache/mpi-hosts"): string {
  return path.join(cache, "debs");
}

/** The cached `<name>_<version>_all.deb` (the last by name when there are several), or undefined. */
export function cachedDeb(name: string, dir = debCacheDir()): string | undefined {
  const found = (fs.existsSync(dir) ? fs.readdirSync(dir) : []).filter((f) => f.startsWith(`${name}_`) && f.endsWith("_all.deb")).sort();
  return found.length ? path.join(dir, found[found.length - 1]) : undefined;
}

/** Each package's cached `.deb`, fetched once with `apt-get download` (this machine's Debian sources) when missing. */
export function fetchDebs(names: string[], dir = debCacheDir()): string[] {
  const missing = names.filter((n) => !cachedDeb(n, dir));
  if (missing.length) {
    fs.mkdirSync(dir, { recursive: true });
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "lab-debs-"));
    try {
      fs.chmodSync(tmp, 0o755); // apt-get download writes as the _apt user
      execFileSync("apt-get", ["download", ...missing], { cwd: tmp, stdio: "pipe" });
      for (const f of fs.readdirSync(tmp)) fs.renameSync(path.join(tmp, f), path.join(dir, f));
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  return names.map((n) => {
    const deb = cachedDeb(n, dir);
    if (!deb) throw new Error(`apt-get download ${n} left no ${n}_*_all.deb in ${dir}`);
    return deb;
  });
}
