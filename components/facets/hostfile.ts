/** hostfile: ~/.mpi-hosts/hostfile (HOSTFILE_PATH), a file of our own listing every host alias with its slots. */
import { templates } from "../templates/templates";
import { defineFacet, FACET_TIMEOUT_SECONDS, HEADER } from "./facet";
import { facetInputsRef } from "./inputSchemas";
import { renderScripts } from "./scripts";

/**
 * Where the hostfile lives on every host, relative to the user's home: the verification job's scripts and messages
 * take it from here. The facet's own scripts spell it too (templates/hostfile/): a value reaches a script only quoted
 * ({{q}}), and quoting would change the scripts every state holds (a `pulumi up` for nothing); facet.test.ts keeps
 * the two equal.
 */
export const HOSTFILE_PATH = ".mpi-hosts/hostfile";

export const hostfile = defineFacet({
  name: "hostfile",
  appliesTo: () => true,
  privileged: false,
  probePrivileged: false,
  timeoutSeconds: FACET_TIMEOUT_SECONDS,
  secretEnv: [],
  inputs: ({ cluster, host }) => ({ host: host.name, hosts: cluster.hosts.map(({ name, slots }) => ({ name, slots })) }),
  inputSchema: facetInputsRef("hostfileInputs"),
  // The probe reads only the header; `hosts` keeps the own entry so that the reduced inputs still render.
  probeInputs: (i) => ({ ...i, hosts: i.hosts.filter((h) => h.name === i.host) }),
  render({ host, hosts }) {
    const content = templates().render("hostfile/hostfile", { header: HEADER, hosts });
    return {
      desired: { hostfile: content },
      files: { hostfile: content },
      scripts: renderScripts("hostfile", host, "hostfile", { content: content.replace(/\n$/, "") }),
    };
  },
});
