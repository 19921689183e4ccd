/** hostfile: ~/.mpi-hosts/hostfile, a file of our own listing every host alias with its slots. */
import { templates } from "../templates/templates";
import { FacetDefinition } from "./facet";
import { renderScripts } from "./scripts";

/** Where the hostfile lives on every host, relative to the user's home. */
export const HOSTFILE_PATH = ".mpi-hosts/hostfile";

export const hostfile: FacetDefinition = {
  name: "hostfile",
  appliesTo: () => true,
  render({ cluster, host }) {
    const content = templates().render("hostfile/hostfile", { hosts: cluster.hosts });
    return {
      facet: "hostfile",
      host: host.name,
      privileged: false,
      probePrivileged: false,
      desired: { hostfile: content },
      files: { hostfile: content },
      scripts: renderScripts("hostfile", host, "hostfile", { content: content.replace(/\n$/, "") }),
      secretEnv: [],
    };
  },
};
