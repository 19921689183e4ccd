/**
 * Renders a facet's three scripts from templates/<facet>/ with a common context. The probe is
 * rendered `readOnly`: the shared library leaves out its writing helpers there. Every facet
 * carries its host's probes (hostProbes), so what a probe does not need is state on every facet.
 */
import { templates } from "../templates/templates";
import { FacetScripts, SCRIPT_MARKERS } from "./facet";

export function renderScripts(dir: string, host: string, facet: string, vars: object): FacetScripts {
  const t = templates();
  const render = (kind: string) =>
    t.render(`${dir}/${kind}.sh`, { facet, host, kind, readOnly: kind === "probe", marker: SCRIPT_MARKERS, ...vars });
  return { probe: render("probe"), apply: render("apply"), remove: render("remove") };
}
