/**
 * Issue 15, item 4: extraMca is written after the managed MCA keys, so a key there wins. The loader refuses keys that
 * would undo what mpi-hosts promises (ports, interfaces, runtime ports) or weaken host key checking, naming the key,
 * unless mpi.allowUnsafeMca names it.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import YAML from "yaml";
import { loadCluster, readStackFile } from "../../components/config/load";

const example = () => readStackFile("Pulumi.example.yaml") as Record<string, any>;

function problemsWith(extraMca: Record<string, unknown>, more: Record<string, unknown> = {}, oobPorts?: string) {
  const raw = example();
  raw.mpi.extraMca = extraMca;
  Object.assign(raw.mpi, more);
  if (oobPorts) raw.mpi.oobPorts = oobPorts;
  return loadCluster(raw, { readKnownHosts: () => "" }).problems.filter((p) => !p.path.includes("pythonPrefix"));
}

describe("extraMca cannot silently undo what mpi-hosts manages", () => {
  it.each<[string, string | number, RegExp]>([
    ["btl_tcp_if_include", "0.0.0.0/0", /mpi\.network/],
    ["btl_tcp_if_exclude", "lo", /mpi\.network/],
    ["btl_tcp_port_min_v4", 1024, /mpi\.btlPorts/],
    ["btl_tcp_port_range_v4", 60000, /mpi\.btlPorts/],
    ["btl_tcp_port_min_v6", 1024, /mpi\.btlPorts/],
    ["oob_tcp_if_include", "0.0.0.0/0", /mpi\.network/],
    ["oob_tcp_static_ipv4_ports", "40000", /mpi\.oobPorts/],
    ["prte_if_include", "eth1", /mpi\.network/],
    ["prte_oob_tcp_if_exclude", "eth0", /mpi\.network/],
    ["plm_rsh_args", "-o StrictHostKeyChecking=no", /host key/],
    ["plm_ssh_args", "-o UserKnownHostsFile=/dev/null", /host key/],
    ["plm_rsh_agent", "ssh -oStrictHostKeyChecking accept-new", /host key/],
  ])("refuses %s = %s, naming the key", (key, value, why) => {
    const problems = problemsWith({ btl_tcp_links: 2, [key]: value });
    expect(problems.map((p) => [p.severity, p.path])).toEqual([["error", `mpi-hosts:mpi.extraMca.${key}`]]);
    expect(problems[0].message).toMatch(why);
    expect(problems[0].message).toMatch(/mpi\.allowUnsafeMca/);
  });

  it("refuses a fixed runtime range with the default ephemeral oobPorts: it would break concurrent jobs", () => {
    const problems = problemsWith({ oob_tcp_dynamic_ipv4_ports: "50100-50199" });
    expect(problems.map((p) => p.path)).toEqual(["mpi-hosts:mpi.extraMca.oob_tcp_dynamic_ipv4_ports"]);
    expect(problems[0].message).toMatch(/concurrent|at a time/);
    expect(problems[0].message).toMatch(/mpi\.oobPorts/);
  });

  it("refuses a runtime range that would replace a fixed oobPorts", () => {
    const problems = problemsWith({ oob_tcp_dynamic_ipv4_ports: "40000-40099" }, {}, "50100-50199");
    expect(problems.filter((p) => p.severity === "error").map((p) => p.path)).toEqual([
      "mpi-hosts:mpi.extraMca.oob_tcp_dynamic_ipv4_ports",
    ]);
  });

  it("keeps keys that change nothing mpi-hosts promises", () => {
    expect(problemsWith({ btl_tcp_links: 2, plm_rsh_args: "-x", btl: "self,vader,tcp", mpi_show_mca_params: "all" })).toEqual([]);
  });

  it("accepts an unsafe key only when mpi.allowUnsafeMca names it, and still warns about it", () => {
    const problems = problemsWith(
      { btl_tcp_if_include: "eth1", plm_rsh_args: "-o StrictHostKeyChecking=no" },
      { allowUnsafeMca: ["btl_tcp_if_include"] },
    );
    expect(problems.map((p) => [p.severity, p.path])).toEqual([
      ["warning", "mpi-hosts:mpi.extraMca.btl_tcp_if_include"],
      ["error", "mpi-hosts:mpi.extraMca.plm_rsh_args"],
    ]);
  });

  it("npm run validate exits 1 with one line per unsafe key: mpi-hosts:mpi.extraMca.<key>: what is wrong (what is expected)", () => {
    const doc = YAML.parse(fs.readFileSync("Pulumi.example.yaml", "utf8"));
    doc.config["mpi-hosts:mpi"].extraMca = {
      btl_tcp_if_include: "0.0.0.0/0",
      oob_tcp_dynamic_ipv4_ports: "50100-50199",
      plm_rsh_args: "-o StrictHostKeyChecking=no",
    };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sec-validate-"));
    const file = path.join(dir, "Pulumi.unsafe.yaml");
    fs.writeFileSync(file, YAML.stringify(doc));
    try {
      const result = spawnSync("npx", ["ts-node", "--transpile-only", "cli/main.ts", "validate", file], { encoding: "utf8" });
      expect(result.status).toBe(1);
      const errors = result.stderr.split("\n").filter((l) => l && !l.startsWith("warning: "));
      expect(errors.map((l) => l.split(": ")[0])).toEqual([
        "mpi-hosts:mpi.extraMca.btl_tcp_if_include",
        "mpi-hosts:mpi.extraMca.oob_tcp_dynamic_ipv4_ports",
        "mpi-hosts:mpi.extraMca.plm_rsh_args",
      ]);
      for (const line of errors) expect(line).toMatch(/\(.*\)$/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
