/**
 * Renders a facet's three scripts from templates/<facet>/ with a common context. The probe is
 * rendered `readOnly`: the shared library leaves out its writing helpers there.
 */
import { templates } from "../templates/templates";
import { FacetScripts, SCRIPT_MARKERS } from "./facet";

/** The config's hostLabel (schemas/cluster.schema.json). */
const HOST_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const FACET_NAME = /^[a-z][A-Za-z]{0,63}$/;

export function renderScripts(dir: string, host: string, facet: string, vars: object): FacetScripts {
  // The header (templates/_lib/header.sh.hbs) names both in a comment, unquoted: a newline there would start a
  // command. The config's schema admits none, and the plugin renders only from inputs its schema accepts; this is
  // the last guard, where the text is made (issue 15, item 3).
  if (!HOST_LABEL.test(host)) throw new Error(`${JSON.stringify(host).slice(0, 80)}: not a host name (a hostLabel): no script rendered`);
  if (!FACET_NAME.test(facet)) throw new Error(`${JSON.stringify(facet).slice(0, 80)}: not a facet name: no script rendered`);
  const t = templates();
  const render = (kind: string) =>
    t.render(`${dir}/${kind}.sh`, { facet, host, kind, readOnly: kind === "probe", marker: SCRIPT_MARKERS, ...vars });
  return { probe: render("probe"), apply: render("apply"), remove: render("remove") };
}
