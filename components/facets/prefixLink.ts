/**
 * prefixLink: /opt/anaconda1anaconda2anaconda3 -> the conda prefix, for Open MPI builds whose
 * placeholder prefix was never rewritten. With `auto` the host's build decides (grep for the
 * placeholder); a real directory at that path is never replaced.
 */
import { defineFacet, FACET_TIMEOUT_SECONDS } from "./facet";
import { facetInputsRef } from "./inputSchemas";
import { renderScripts } from "./scripts";

export const PLACEHOLDER_PREFIX = "/opt/anaconda1anaconda2anaconda3";

export const prefixLink = defineFacet({
  name: "prefixLink",
  appliesTo: (cluster) => cluster.python.kind === "conda" && cluster.python.prefixLink !== "never",
  privileged: true,
  probePrivileged: false,
  timeoutSeconds: FACET_TIMEOUT_SECONDS,
  secretEnv: [],
  inputs: ({ cluster, host }) => ({ host: host.name, mode: cluster.python.prefixLink, target: host.pythonPrefix }),
  inputSchema: facetInputsRef("prefixLinkInputs"),
  render({ host, mode, target }) {
    const want = mode === "always" ? target : `${target} where the Open MPI build needs it`;
    return {
      desired: { link: want },
      files: {
        "prefix-link": `${PLACEHOLDER_PREFIX} -> ${target} (${mode === "always" ? "always" : "only where the build refers to it"})\n`,
      },
      scripts: renderScripts("prefixLink", host, "prefixLink", { link: PLACEHOLDER_PREFIX, target, mode, want }),
    };
  },
});
