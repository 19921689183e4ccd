/**
 * mcaParams: per-user Open MPI parameter files that confine MPI and runtime traffic to the
 * configured port ranges and the cluster network. Both files are written on every host: Open MPI
 * 4.x reads only ~/.openmpi/mca-params.conf (ORTE included), 5.x reads the BTL settings there and
 * the runtime's from ~/.prte/mca-params.conf (PRRTE). Writing both keeps the desired state
 * independent of what is installed, so review shows exact bytes without asking the host.
 *
 * Runtime ports: with `oobPorts: ephemeral` (the default) no oob_tcp_dynamic_ipv4_ports is written. mpirun (the HNP:
 * prterun, orterun) listens on every free port of that range and each daemon on the first free one (PRRTE
 * src/mca/oob/tcp/oob_tcp_listener.c create_listen: "only the HNP binds to multiple ports"; ORTE the same), so a
 * second mpirun on a host finds the range taken and its daemons cannot call back ("NO PATH TO TARGET").
 */
import { formatPortRange, portCount } from "../config/net";
import { templates } from "../templates/templates";
import { defineFacet, FACET_TIMEOUT_SECONDS, managedBlock } from "./facet";
import { facetInputsRef } from "./inputSchemas";
import { renderScripts } from "./scripts";

export const mcaParams = defineFacet({
  name: "mcaParams",
  appliesTo: () => true,
  privileged: false,
  probePrivileged: false,
  timeoutSeconds: FACET_TIMEOUT_SECONDS,
  secretEnv: [],
  inputs: ({ cluster, host }) => {
    const { btlPorts, oobPorts, oobEphemeral, network, extraMca } = cluster.mpi;
    return { host: host.name, btlPorts, oobPorts, oobEphemeral, network, extraMca };
  },
  inputSchema: facetInputsRef("mcaParamsInputs"),
  // The probe reads only the header: the user's extra parameters stay out of every sibling's record.
  probeInputs: (i) => ({ ...i, extraMca: {} }),
  render({ host, btlPorts, oobPorts, oobEphemeral, network, extraMca }) {
    const data = {
      btl: btlPorts,
      btlCount: portCount(btlPorts),
      oobRange: oobEphemeral ? "" : formatPortRange(oobPorts),
      runtimePortsComment: oobEphemeral
        ? "# Runtime ports: the system's ephemeral ports, so that several mpiruns can run at once on a host."
        : "# Runtime ports: this fixed range; mpirun listens on all of it, so one mpirun at a time per host.",
      network,
      extra: Object.keys(extraMca)
        .sort()
        .map((name) => ({ name, value: String(extraMca[name]) })),
    };
    const openmpi = managedBlock(templates().render("mcaParams/openmpi.conf", data));
    const prte = managedBlock(templates().render("mcaParams/prte.conf", data));
    return {
      desired: { openmpi, prte },
      files: { "openmpi-mca-params.conf.block": openmpi, "prte-mca-params.conf.block": prte },
      scripts: renderScripts("mcaParams", host, "mcaParams", { openmpi: openmpi.replace(/\n$/, ""), prte: prte.replace(/\n$/, "") }),
    };
  },
});
