/** Renders a facet's three scripts from templates/<facet>/ with a common context. */
import { templates } from "../render/templates";
import { Host } from "../config/types";

export function renderScripts(dir: string, host: Host, facet: string, vars: object): { probe: string; apply: string; remove: string } {
  const t = templates();
  const render = (kind: string) => t.render(`${dir}/${kind}.sh`, { facet, host: host.name, kind, ...vars });
  return { probe: render("probe"), apply: render("apply"), remove: render("remove") };
}
