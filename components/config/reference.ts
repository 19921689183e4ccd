/**
 * The README's config reference, generated from schemas/cluster.schema.json so the two cannot
 * drift apart (a unit test compares them; `npm run docs` rewrites the README section).
 */
import schema from "../../schemas/cluster.schema.json";

type Schema = {
  description?: string;
  default?: unknown;
  enum?: unknown[];
  type?: string | string[];
  $ref?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  required?: string[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
};

const defs = (schema as { $defs: Record<string, Schema> }).$defs;

function resolve(s: Schema): Schema {
  return s.$ref ? { ...defs[s.$ref.replace("#/$defs/", "")], ...s, $ref: undefined } : s;
}

function typeOf(s: Schema): string {
  const r = resolve(s);
  if (r.enum) return r.enum.map((v) => `\`${v}\``).join(" \\| ");
  if (r.type === "array") return `list of ${typeOf(r.items ?? {})}`;
  if (Array.isArray(r.type)) return r.type.join(" \\| ");
  if (r.type === "integer" && r.minimum !== undefined && r.maximum !== undefined) return `integer ${r.minimum}-${r.maximum}`;
  return r.type ?? "";
}

function row(key: string, s: Schema, required: boolean): string {
  const r = resolve(s);
  const def =
    r.default !== undefined && !(typeof r.default === "object" && Object.keys(r.default as object).length === 0)
      ? `\`${JSON.stringify(r.default)}\``
      : required
        ? "required"
        : "";
  return `| \`${key}\` | ${typeOf(s)} | ${def} | ${(r.description ?? "").replace(/\|/g, "\\|")} |`;
}

export function configReference(): string {
  const top = schema as Schema;
  const lines: string[] = [];
  for (const [name, section] of Object.entries(top.properties ?? {})) {
    const s = resolve(section);
    lines.push(`#### \`mpi-hosts:${name}\`${top.required?.includes(name) ? " (required)" : ""}`, "", s.description ?? "", "");
    const props = s.type === "array" ? resolve(s.items ?? {}).properties : s.properties;
    const required = s.type === "array" ? resolve(s.items ?? {}).required : s.required;
    if (props) {
      lines.push("| key | type | default | meaning |", "|---|---|---|---|");
      for (const [key, prop] of Object.entries(props)) lines.push(row(key, prop, required?.includes(key) ?? false));
      lines.push("");
    }
  }
  return lines.join("\n");
}

export const REFERENCE_START = "<!-- config-reference:start (generated from schemas/cluster.schema.json by `npm run docs`) -->";
export const REFERENCE_END = "<!-- config-reference:end -->";

export function withReference(readme: string): string {
  const start = readme.indexOf(REFERENCE_START);
  const end = readme.indexOf(REFERENCE_END);
  if (start < 0 || end < start) throw new Error("README.md has no config reference markers");
  return `${readme.slice(0, start + REFERENCE_START.length)}\n\n${configReference()}\n${readme.slice(end)}`;
}
