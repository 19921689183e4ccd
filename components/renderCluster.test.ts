/** Render for review from a program: values known only at apply are marked where they go; plain config renders as always. */
import * as pulumi from "@pulumi/pulumi";
import { ClusterConfig } from "./clusterInputs";
import { loadCluster } from "./config/load";
import { knownAtApply, renderCluster } from "./renderCluster";
import { renderForReview } from "./review/review";

const KEY = (n: number) => `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${"ABCDEFGH"[n]}mock${n}`;
const noKnownHosts = { readKnownHosts: () => "" };

function plainConfig(): ClusterConfig {
  return {
    ssh: { user: "mpi", port: 2222 },
    hosts: [0, 1, 2].map((i) => ({ name: `node${i + 1}`, address: `10.9.0.${i + 2}`, os: "linux" as const, slots: 2, hostKey: KEY(i) })),
    mpi: { network: "10.9.0.0/24" },
  };
}

describe("renderCluster", () => {
  it("renders a config without Inputs byte for byte as render does a stack file", () => {
    const tree = renderCluster(plainConfig(), noKnownHosts);
    expect([...tree]).toEqual([...renderForReview(loadCluster(plainConfig(), noKnownHosts).cluster!)]);
  });

  it("marks each value known only at apply wherever it goes, and prints no placeholder", () => {
    const config = plainConfig();
    config.hosts[1].address = pulumi.output("10.9.0.3");
    config.hosts[2].port = pulumi.output(2400);
    config.hosts[2].user = pulumi.output("vm");
    config.hosts[2].hostKey = pulumi.output(KEY(2));
    const tree = renderCluster(config, noKnownHosts);
    const block = tree.get("node1/sshConfig/ssh_config.block")!;
    expect(block).toContain(`HostName ${knownAtApply("hosts[1].address")}\n`);
    expect(block).toContain(`Port ${knownAtApply("hosts[2].port")}\n`);
    expect(block).toContain(`User ${knownAtApply("hosts[2].user")}\n`);
    expect(tree.get("node2/clusterTrust/mpi-hosts_known_hosts")).toContain(
      `[node3]:${knownAtApply("hosts[2].port")},[10.9.0.4]:${knownAtApply("hosts[2].port")} ${knownAtApply("hosts[2].hostKey")}`,
    );
    expect(tree.get("README.md")).toContain(`| node2 | ${knownAtApply("hosts[1].address")} | 2222 |`);
    const all = [...tree.values()].join("\n");
    expect(all).not.toMatch(/known-at-apply-|KnownAtApply|derived from them/);
    // What no deferred value reaches is rendered as from plain config: host1's python facet, for one.
    const plain = renderForReview(loadCluster(plainConfig(), noKnownHosts).cluster!);
    expect(tree.get("node1/python/apply.sh")).toBe(plain.get("node1/python/apply.sh"));
  });
});
