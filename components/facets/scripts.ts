/**
 * Renders a facet's three scripts from templates/<facet>/ with a common context. The probe is
 * rendered `readOnly`: the shared library leaves out its writing helpers there. Every facet
 * carries its host's probes (hostProbes), so what a probe does not need is state on every facet.
 */
import { templates } from "../templates/templates";
import { Host } from "../config/types";

export function renderScripts(dir: string, host: Host, facet: string, vars: object): { probe: string; apply: string; remove: string } {
  const t = templates();
  const render = (kind: string) => t.render(`${dir}/${kind}.sh`, { facet, host: host.name, kind, readOnly: kind === "probe", ...vars });
  return { probe: render("probe"), apply: render("apply"), remove: render("remove") };
}
