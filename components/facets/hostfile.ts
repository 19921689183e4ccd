/** hostfile: ~/.mpi-hosts/hostfile (HOSTFILE_PATH), a file of our own listing every host alias with its slots. */
import { templates } from "../render/templates";
import { defineFacet, FACET_TIMEOUT_SECONDS, HEADER } from "./facet";
import { renderScripts } from "./scripts";

/** Where the hostfile lives on every host, relative to the user's home. */
export const HOSTFILE_PATH = ".mpi-hosts/hostfile";
const HOSTFILE_DIR = HOSTFILE_PATH.slice(0, HOSTFILE_PATH.lastIndexOf("/"));

export const hostfile = defineFacet({
  name: "hostfile",
  appliesTo: () => true,
  privileged: false,
  probePrivileged: false,
  timeoutSeconds: FACET_TIMEOUT_SECONDS,
  secretEnv: [],
  inputs: ({ cluster, host }) => ({ host: host.name, hosts: cluster.hosts.map(({ name, slots }) => ({ name, slots })) }),
  render({ host, hosts }) {
    const content = templates().render("hostfile/hostfile", { header: HEADER, hosts });
    return {
      desired: { hostfile: content },
      files: { hostfile: content },
      scripts: renderScripts("hostfile", host, "hostfile", {
        content: content.replace(/\n$/, ""),
        path: HOSTFILE_PATH,
        dir: HOSTFILE_DIR,
      }),
    };
  },
});
