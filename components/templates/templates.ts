/**
 * Handlebars templates, found by scanning templates/ (no hand-kept list). Every template is a
 * partial under its path without `.hbs` (e.g. `sshConfig/probe.sh`), so scripts can share `_lib/*`.
 * Escaping is off: shell scripts interpolate through `{{q value}}`, which quotes; content files
 * interpolate values the schema has already restricted to safe characters.
 */
import * as fs from "fs";
import * as path from "path";
import Handlebars from "handlebars";
import { shellQuote } from "./shellQuote";

export const TEMPLATE_ROOT = path.resolve(__dirname, "../../templates");

function scan(dir: string, prefix = ""): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) return scan(path.join(dir, entry.name), rel);
      return entry.name.endsWith(".hbs") ? [rel] : [];
    });
}

export interface TemplateSet {
  names: string[];
  render(name: string, context: object): string;
  source(name: string): string;
}

export function loadTemplates(root = TEMPLATE_ROOT): TemplateSet {
  const hb = Handlebars.create();
  hb.registerHelper("q", (value: unknown) => {
    if (value === undefined || value === null || typeof value === "object") {
      throw new Error(`q: expected a string or number to quote, got ${value === null ? "null" : typeof value}`);
    }
    return shellQuote(value as string);
  });
  const sources = new Map<string, string>();
  for (const file of scan(root)) {
    const name = file.replace(/\.hbs$/, "");
    const text = fs.readFileSync(path.join(root, file), "utf8");
    sources.set(name, text);
    hb.registerPartial(name, text);
  }
  const compiled = new Map<string, HandlebarsTemplateDelegate>();
  return {
    names: [...sources.keys()],
    source(name) {
      const text = sources.get(name);
      if (text === undefined) throw new Error(`no template ${name}.hbs under ${root}`);
      return text;
    },
    render(name, context) {
      let template = compiled.get(name);
      if (!template) {
        template = hb.compile(this.source(name), { noEscape: true, strict: true });
        compiled.set(name, template);
      }
      return template(context);
    },
  };
}

let shared: TemplateSet | undefined;
export function templates(): TemplateSet {
  shared ??= loadTemplates();
  return shared;
}
