/**
 * Issue 15, item 8: the cluster's private key reaches a host through a temp file beside ~/.ssh/mpi-hosts_ed25519
 * (mh_write_atomic: write, then rename). An apply stopped on the way (Ctrl-C, a signal to its process group, an
 * error) must not leave a copy of the key behind. Run here with each shell the scripts support, on the library as the
 * clusterTrust apply script carries it.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadClusterOrThrow, readStackFile } from "../../components/config/load";
import { clusterTrust } from "../../components/facets/clusterTrust";
import { renderFacet } from "../../components/facets/facet";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE8CMOdAuu5Lm9h3jsiYNBvnpOhVLkC3AbCQyzHANlT/ mpi-hosts cluster";
const SECRET = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n-----END OPENSSH PRIVATE KEY-----";

/** The shell library exactly as the clusterTrust apply script renders it (everything up to its end marker). */
function applyLibrary(): string {
  const cluster = loadClusterOrThrow(readStackFile("test/fixtures/Pulumi.linux-system.yaml")).cluster;
  const apply = renderFacet(clusterTrust, { cluster, host: cluster.hosts[0], clusterPublicKey: KEY }).scripts.apply;
  const end = apply.indexOf("# --- end of library ---");
  expect(end).toBeGreaterThan(0);
  return apply.slice(0, end);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(check: () => boolean, what: string, ms = 10000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const leftovers = (dir: string) => fs.readdirSync(dir).filter((f) => f.startsWith(".mpi-hosts."));

describe.each(["sh", "bash", "zsh"])("writing the cluster key under %s", (shell) => {
  let home: string;
  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), "sec-key-"));
    fs.mkdirSync(path.join(home, ".ssh"), { mode: 0o700 });
  });
  afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

  it.each(["SIGINT", "SIGTERM", "SIGHUP"] as const)("leaves no temp copy of the key when %s stops it half way", async (signal) => {
    // The key arrives, then the writer stalls: the temp file exists and holds the key when the signal comes.
    const script = `${applyLibrary()}
{ printf '%s\\n' "$MPI_HOSTS_CLUSTER_KEY"; sleep 30; } | mh_write_atomic "$HOME"/.ssh/mpi-hosts_ed25519 600
`;
    const child = spawn(shell, ["-c", script], {
      env: { PATH: process.env.PATH, HOME: home, MPI_HOSTS_CLUSTER_KEY: SECRET },
      detached: true,
      stdio: "ignore",
    });
    const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
    const ssh = path.join(home, ".ssh");
    await waitFor(
      () => leftovers(ssh).some((f) => fs.readFileSync(path.join(ssh, f), "utf8").includes("not-a-real-key")),
      "the temp file with the key",
    );
    process.kill(-child.pid!, signal);
    await exited;
    await sleep(100);
    expect(leftovers(ssh)).toEqual([]);
    expect(fs.existsSync(path.join(ssh, "mpi-hosts_ed25519"))).toBe(false);
  });

  it("still writes the key, mode 600, and keeps the script's exit status", async () => {
    const script = `${applyLibrary()}
printf '%s\\n' "$MPI_HOSTS_CLUSTER_KEY" | mh_write_atomic "$HOME"/.ssh/mpi-hosts_ed25519 600
exit 3
`;
    const child = spawn(shell, ["-c", script], { env: { PATH: process.env.PATH, HOME: home, MPI_HOSTS_CLUSTER_KEY: SECRET } });
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).toBe(3);
    const key = path.join(home, ".ssh", "mpi-hosts_ed25519");
    expect(fs.readFileSync(key, "utf8")).toBe(`${SECRET}\n`);
    expect(fs.statSync(key).mode & 0o777).toBe(0o600);
    expect(leftovers(path.join(home, ".ssh"))).toEqual([]);
  });
});
