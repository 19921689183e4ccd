import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadClusterOrThrow, readStackFile } from "../config/load";
import { renderHost } from "../facets/index";
import { undefinedHelpers } from "../../test/unit/support/shellHelpers";
import { renderForReview } from "./review";

const GOLDEN = path.resolve(__dirname, "../../test/golden");
const update = process.env.UPDATE_GOLDEN === "1";

const configs = {
  example: loadClusterOrThrow(readStackFile("Pulumi.example.yaml")).cluster,
  "linux-system": loadClusterOrThrow(readStackFile("test/fixtures/Pulumi.linux-system.yaml")).cluster,
};
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE8CMOdAuu5Lm9h3jsiYNBvnpOhVLkC3AbCQyzHANlT/ mpi-hosts cluster";

/** One host per OS and python kind: a Mac on conda, Linux on conda, Linux on system packages. */
const samples = [
  { label: "macos-conda", cluster: configs.example, host: configs.example.hosts[0] },
  { label: "linux-conda", cluster: configs.example, host: configs.example.hosts[2] },
  { label: "linux-system", cluster: configs["linux-system"], host: configs["linux-system"].hosts[0] },
];

const goldenCases = samples.flatMap(({ label, cluster, host }) =>
  renderHost(cluster, host, KEY).flatMap((facet) => [
    ...Object.entries(facet.files).map(([name, content]) => ({ file: `${facet.facet}/${label}/${name}`, content })),
    { file: `${facet.facet}/${label}/desired.json`, content: `${JSON.stringify(facet.desired, null, 2)}\n` },
  ]),
);

describe("rendered files match the reviewed golden files", () => {
  it.each(goldenCases.map((c) => [c.file, c.content]))("%s", (file, content) => {
    const target = path.join(GOLDEN, file);
    if (update) {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, content);
    }
    expect(content).toBe(fs.readFileSync(target, "utf8"));
  });
});

describe("every rendered script", () => {
  const scripts = samples.flatMap(({ label, cluster, host }) =>
    renderHost(cluster, host, KEY).flatMap((facet) =>
      (["probe", "apply", "remove"] as const).map((kind) => ({ name: `${label}/${facet.facet}/${kind}.sh`, text: facet.scripts[kind] })),
    ),
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "scripts-"));
  for (const s of scripts) {
    fs.mkdirSync(path.dirname(path.join(dir, s.name)), { recursive: true });
    fs.writeFileSync(path.join(dir, s.name), s.text);
  }
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("passes shellcheck as POSIX sh", () => {
    const result = spawnSync("shellcheck", ["-s", "sh", ...scripts.map((s) => s.name)], { cwd: dir, encoding: "utf8" });
    expect(result.error).toBeUndefined();
    expect(result.stdout).toBe("");
    expect(result.status).toBe(0);
  });

  it.each(["sh", "bash", "zsh"])("parses under %s (zsh is the macOS login shell)", (shell) => {
    for (const s of scripts) execFileSync(shell, ["-n", s.name], { cwd: dir });
  });

  it("defines every mpi-hosts helper it calls (probes carry no writing helpers, and call none)", () => {
    const missing = scripts.map((s) => [s.name, undefinedHelpers(s.text)]).filter(([, names]) => names.length);
    expect(missing).toEqual([]);
    const probe = scripts.find((s) => s.name.endsWith("/sshConfig/probe.sh"))!.text;
    const apply = scripts.find((s) => s.name.endsWith("/sshConfig/apply.sh"))!.text;
    expect(apply).toContain("mh_block_put() {");
    expect(probe).not.toContain("mh_block_put() {");
    expect(probe).toContain("mh_block_show() {");
  });
});

describe("render for review", () => {
  it("is deterministic: the same config gives identical bytes", () => {
    const a = renderForReview(configs.example);
    const b = renderForReview(loadClusterOrThrow(readStackFile("Pulumi.example.yaml")).cluster);
    expect([...a.entries()]).toEqual([...b.entries()]);
  });

  it("has one folder per host and a README with the host table and a Mermaid diagram", () => {
    const tree = renderForReview(configs.example);
    const hosts = new Set([...tree.keys()].filter((k) => k.includes("/")).map((k) => k.split("/")[0]));
    expect([...hosts].sort()).toEqual(["linux1", "linux2", "linux3", "mac1", "mac2"]);
    const readme = tree.get("README.md")!;
    expect(readme).toContain("```mermaid");
    expect(readme).toContain("| linux3 | 128.5.5.23 | 2400 | mpi | linux | 16 |");
    expect(readme).toContain("| MPI rank to rank (TCP BTL) | 50000-50099 | 128.5.5.0/24 (closed to others) |");
    expect(readme).toContain("| runtime (ORTE 4.x / PRRTE 5.x) | 32768-65535 | 128.5.5.0/24 | the system (ephemeral ports");
  });

  it("names the hosts reached through a jump host, and how; without one the README says nothing of it", () => {
    expect(renderForReview(configs.example).get("README.md")).not.toContain("jump host");
    const raw = readStackFile("Pulumi.example.yaml") as any;
    raw.hosts[3].jump = "linux1";
    const readme = renderForReview(loadClusterOrThrow(raw).cluster).get("README.md")!;
    expect(readme).toContain(
      "Reached from the machine running Pulumi through a jump host (bastion; the hosts reach each other directly):\n- linux2 through linux1 (mpi@128.5.5.21:2400)\n",
    );
  });

  it("changes only the files of what changed: a new BTL range touches MCA files, firewall rules and scripts", () => {
    const before = renderForReview(configs.example);
    const raw = readStackFile("Pulumi.example.yaml") as any;
    raw.mpi.btlPorts = "51000-51099";
    const after = renderForReview(loadClusterOrThrow(raw).cluster);
    const changed = [...after.keys()].filter((k) => after.get(k) !== before.get(k));
    expect(changed.filter((k) => k.endsWith("openmpi-mca-params.conf.block")).length).toBe(5);
    expect(changed.some((k) => k.includes("/sshConfig/") || k.includes("/hostfile/"))).toBe(false);
  });
});
