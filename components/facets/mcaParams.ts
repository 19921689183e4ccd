/**
 * mcaParams: per-user Open MPI parameter files that confine MPI and runtime traffic to the
 * configured port ranges and the cluster network. Both files are written on every host: Open MPI
 * 4.x reads only ~/.openmpi/mca-params.conf (ORTE included), 5.x reads the BTL settings there and
 * the runtime's from ~/.prte/mca-params.conf (PRRTE). Writing both keeps the desired state
 * independent of what is installed, so review shows exact bytes without asking the host.
 */
import { portCount } from "../config/net";
import { templates } from "../render/templates";
import { FacetDefinition } from "./facet";
import { renderScripts } from "./scripts";

export const mcaParams: FacetDefinition = {
  name: "mcaParams",
  appliesTo: () => true,
  render({ cluster, host }) {
    const { btlPorts, oobPorts, network, extraMca } = cluster.mpi;
    const data = {
      btl: btlPorts,
      btlCount: portCount(btlPorts),
      oob: oobPorts,
      network,
      extra: Object.keys(extraMca)
        .sort()
        .map((name) => ({ name, value: String(extraMca[name]) })),
    };
    const openmpi = templates().render("mcaParams/openmpi.conf", data);
    const prte = templates().render("mcaParams/prte.conf", data);
    return {
      facet: "mcaParams",
      host: host.name,
      privileged: false,
      probePrivileged: false,
      desired: { openmpi, prte },
      files: { "openmpi-mca-params.conf.block": openmpi, "prte-mca-params.conf.block": prte },
      scripts: renderScripts("mcaParams", host, "mcaParams", { openmpi: openmpi.replace(/\n$/, ""), prte: prte.replace(/\n$/, "") }),
      secretEnv: [],
    };
  },
};
