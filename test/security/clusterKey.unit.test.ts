/**
 * Issue 15, item 2: the cluster key (every host holds its private half) may only start MPI daemons: the
 * authorized_keys entry on every host says `restrict` (no pty, no ~/.ssh/rc, no agent, port or X11 forwarding, and
 * whatever OpenSSH restricts next) and allows nothing back, and takes it only from mpi.network, not from every
 * network the firewall admits (firewall.allowFrom, 0.0.0.0/0 with allowAnywhere).
 * Open MPI's ssh launcher (ORTE plm rsh, PRRTE plm ssh) runs `ssh HOST <daemon command line>`: no pty, no forwarding.
 */
import { loadClusterOrThrow, readStackFile } from "../../components/config/load";
import { clusterTrust } from "../../components/facets/clusterTrust";
import { renderFacet } from "../../components/facets/facet";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE8CMOdAuu5Lm9h3jsiYNBvnpOhVLkC3AbCQyzHANlT/ mpi-hosts cluster";

function authorizedEntry(firewall?: Record<string, unknown>): { options: string[]; key: string } {
  const raw = readStackFile("Pulumi.example.yaml") as Record<string, any>;
  if (firewall) raw.firewall = { ...raw.firewall, ...firewall };
  // A firewall open to every address needs a fixed runtime range: the ephemeral window is refused there.
  if (firewall?.allowAnywhere) raw.mpi = { ...raw.mpi, oobPorts: "50100-50199" };
  const cluster = loadClusterOrThrow(raw).cluster;
  const block = renderFacet(clusterTrust, { cluster, host: cluster.hosts[2], clusterPublicKey: KEY }).desired.authorizedKeys as string;
  const lines = block.split("\n").filter((l) => l && !l.startsWith("#"));
  expect(lines).toHaveLength(1);
  const at = lines[0].indexOf(" ssh-ed25519 ");
  // Options are comma-separated; commas inside double quotes belong to the value.
  const options = lines[0].slice(0, at).match(/(?:[^,"]+|"[^"]*")+/g) ?? [];
  return { options, key: lines[0].slice(at + 1) };
}

describe("the cluster key's authorized_keys entry", () => {
  it("says restrict, and allows nothing back (no pty, user-rc, port-forwarding, permitopen, ...)", () => {
    const { options, key } = authorizedEntry();
    expect(key).toBe(KEY);
    expect(options).toContain("restrict");
    const allowBack = /^(pty|user-rc|agent-forwarding|port-forwarding|x11-forwarding|permitopen=|permitlisten=|environment=|command=)/i;
    expect(options.filter((o) => allowBack.test(o))).toEqual([]);
  });

  it("takes the key only from mpi.network, even when firewall.allowFrom admits more networks", () => {
    const { options } = authorizedEntry({ allowFrom: ["128.5.5.0/24", "10.1.0.0/16", "192.0.2.7/32"] });
    expect(options.filter((o) => o.startsWith("from="))).toEqual(['from="128.5.5.0/24"']);
  });

  it("takes the key only from mpi.network when the firewall is open to every address (allowAnywhere)", () => {
    const { options } = authorizedEntry({ allowFrom: ["0.0.0.0/0"], allowAnywhere: true });
    expect(options.filter((o) => o.startsWith("from="))).toEqual(['from="128.5.5.0/24"']);
  });
});
