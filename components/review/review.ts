/**
 * Render for review: the exact files and scripts each host would get, plus a README with the
 * host table, the port plan and a Mermaid diagram, so a pull request shows what changes where.
 * Deterministic: the same config gives byte-identical output.
 */
import { formatPortRange } from "../config/net";
import { Cluster } from "../config/types";
import { RenderedFacet } from "../facets/facet";
import { clusterKeyPlaceholder, renderHost } from "../facets/index";
import { templates } from "../templates/templates";

/** Relative path -> content. */
export type FileTree = Map<string, string>;

export function renderForReview(cluster: Cluster, clusterPublicKey = clusterKeyPlaceholder(cluster)): FileTree {
  const tree: FileTree = new Map();
  const perHost = cluster.hosts.map((host) => ({ host, facets: renderHost(cluster, host, clusterPublicKey) }));
  for (const { host, facets } of perHost) {
    for (const facet of facets) {
      const dir = `${host.name}/${facet.facet}`;
      for (const [name, content] of Object.entries(facet.files).sort(([a], [b]) => a.localeCompare(b))) tree.set(`${dir}/${name}`, content);
      for (const kind of ["probe", "apply", "remove"] as const) tree.set(`${dir}/${kind}.sh`, facet.scripts[kind]);
    }
  }
  tree.set("README.md", reviewReadme(cluster, perHost));
  return new Map([...tree.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

function reviewReadme(cluster: Cluster, perHost: Array<{ host: Cluster["hosts"][number]; facets: RenderedFacet[] }>): string {
  const { mpi, python } = cluster;
  const pythonOf = (prefix: string) =>
    python.kind === "conda" ? `conda ${prefix} (mpi4py ${python.mpi4py}, openmpi ${python.openmpi})` : "system packages";
  return templates().render("review/README.md", {
    hostCount: cluster.hosts.length,
    slots: cluster.hosts.reduce((n, h) => n + h.slots, 0),
    hosts: perHost.map(({ host, facets }) => ({
      ...host,
      python: pythonOf(host.pythonPrefix),
      facets: facets.map((f) => f.facet).join(", "),
      mermaidId: `h_${host.name.replace(/-/g, "_")}`,
    })),
    jumps: cluster.hosts.flatMap((h) =>
      h.jump ? [`${h.name} through ${h.jump.name} (${h.jump.user}@${h.jump.address}:${h.jump.port})`] : [],
    ),
    network: mpi.network,
    btl: formatPortRange(mpi.btlPorts),
    oob: formatPortRange(mpi.oobPorts),
    oobSetBy: mpi.oobEphemeral
      ? "the system (ephemeral ports: no port setting, so that several mpiruns can run at once on a host)"
      : "`oob_tcp_dynamic_ipv4_ports` in ~/.openmpi/mca-params.conf and ~/.prte/mca-params.conf (one mpirun at a time per host)",
    oobClosed: mpi.oobEphemeral ? "" : " (closed to others)",
    allowFrom: cluster.firewall.allowFrom.join(", "),
    sshPorts: [...new Set(cluster.hosts.map((h) => h.port))].sort((a, b) => a - b).join(", "),
    keyGeneration: cluster.ssh.clusterKeyRotation,
    verify: cluster.verify,
    verifyTests: cluster.verify.tests.join(", "),
    verifyFromId: `h_${cluster.verify.from.replace(/-/g, "_")}`,
    others: cluster.hosts.filter((h) => h.name !== cluster.verify.from).map((h) => ({ mermaidId: `h_${h.name.replace(/-/g, "_")}` })),
  });
}
