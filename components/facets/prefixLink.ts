/**
 * prefixLink: /opt/anaconda1anaconda2anaconda3 -> the conda prefix, for Open MPI builds whose
 * placeholder prefix was never rewritten. With `auto` the host's build decides (grep for the
 * placeholder); a real directory at that path is never replaced.
 */
import { FacetDefinition } from "./facet";
import { renderScripts } from "./scripts";

export const PLACEHOLDER_PREFIX = "/opt/anaconda1anaconda2anaconda3";

export const prefixLink: FacetDefinition = {
  name: "prefixLink",
  appliesTo: (cluster) => cluster.python.kind === "conda" && cluster.python.prefixLink !== "never",
  render({ cluster, host }) {
    const mode = cluster.python.prefixLink;
    const target = host.pythonPrefix;
    const want = mode === "always" ? target : `${target} where the Open MPI build needs it`;
    return {
      facet: "prefixLink",
      host: host.name,
      privileged: true,
      probePrivileged: false,
      desired: { link: want },
      files: {
        "prefix-link": `${PLACEHOLDER_PREFIX} -> ${target} (${mode === "always" ? "always" : "only where the build refers to it"})\n`,
      },
      scripts: renderScripts("prefixLink", host, "prefixLink", { link: PLACEHOLDER_PREFIX, target, mode, want }),
      secretEnv: [],
    };
  },
};
