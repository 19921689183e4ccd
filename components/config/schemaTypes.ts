/**
 * The config's TypeScript types, generated from schemas/cluster.schema.json, the one source of the config's shape (the
 * README's config reference and schemas/stack.schema.json come from it too). `npm run docs` writes RAW_CONFIG_FILE; a
 * unit test fails when the committed file and the schema disagree.
 *
 * The types are the config as the loader holds it after the schema pass (ajv's useDefaults): a property with a
 * `default` is always there. An enum is a `$defs` entry, written once in the schema: it becomes a list of its values
 * (`FIREWALL_BACKEND_VALUES`) and a type (`FirewallBackend`). Only the keywords the config uses are read; any other
 * keyword that would change a value's type stops the generator (a wrong type would compile and mislead).
 */
import clusterSchema from "../../schemas/cluster.schema.json";

export const RAW_CONFIG_FILE = "components/config/rawConfig.ts";
const SCHEMA_FILE = "schemas/cluster.schema.json";

interface Schema {
  [keyword: string]: unknown;
  type?: string | string[];
  enum?: unknown[];
  $ref?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  default?: unknown;
  description?: string;
}

/** Keywords that narrow values without changing their TypeScript type, or that only document the schema. */
const CHECKS_ONLY = new Set([
  "pattern",
  "minimum",
  "maximum",
  "minLength",
  "maxLength",
  "minItems",
  "maxItems",
  "uniqueItems",
  "propertyNames",
  "format",
  "description",
  "default",
  "title",
  "$schema",
  "$id",
  "$defs",
]);
const SHAPES = new Set(["type", "enum", "$ref", "properties", "required", "additionalProperties", "items"]);

/** What a generator error names: the JSON pointer of the schema object it could not read. */
class Unreadable extends Error {
  constructor(pointer: string, what: string) {
    super(`${SCHEMA_FILE}#${pointer}: ${what} (components/config/schemaTypes.ts reads type, enum, $ref, properties, items)`);
  }
}

const PRIMITIVES: Record<string, string> = { string: "string", integer: "number", number: "number", boolean: "boolean", null: "null" };
const INDENT = "  ";

function pascal(name: string): string {
  return name[0].toUpperCase() + name.slice(1);
}

function constantCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
}

function docComment(description: string | undefined, indent: string): string[] {
  return description ? [`${indent}/** ${description.replace(/\*\//g, "*\\/")} */`] : [];
}

function propertyKey(key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? key : JSON.stringify(key);
}

/** The type after `:` or `=`: on the same line, or from the next one (a union laid out a member a line). */
function spaced(type: string): string {
  return type.startsWith("\n") ? type : ` ${type}`;
}

/** `T[]` for a plain name, `Array<T>` for an object or a union (as prettier leaves them). */
function arrayOf(type: string): string {
  return /^[A-Za-z]+$/.test(type) ? `${type}[]` : `Array<${type}>`;
}

class Generator {
  constructor(private readonly defs: Record<string, Schema>) {}

  /** The exported name of a definition, when it gets one: an enum, or a definition with properties. */
  named(def: string): string | undefined {
    const schema = this.defs[def];
    if (!schema) return undefined;
    if (schema.enum) return pascal(def);
    if (schema.properties) return `Raw${pascal(def)}`;
    return undefined;
  }

  /** The TypeScript type of a value matching `schema`, for a line that starts at `indent`. */
  typeOf(schema: Schema, pointer: string, indent: string): string {
    for (const keyword of Object.keys(schema)) {
      if (!SHAPES.has(keyword) && !CHECKS_ONLY.has(keyword)) throw new Unreadable(pointer, `the keyword ${keyword} is not read`);
    }
    if (schema.$ref !== undefined) return this.reference(schema, pointer, indent);
    if (schema.enum) throw new Unreadable(pointer, "an enum outside $defs (give it a $defs entry: its values get one name in TypeScript)");
    const types = schema.type === undefined ? [] : [schema.type].flat();
    if (types.length === 0) throw new Unreadable(pointer, "no type");
    const members = (at: string) => types.map((type) => this.typeOfOne(type, schema, pointer, at));
    const oneLine = members(indent);
    if (!oneLine.some((m) => m.includes("\n"))) return oneLine.join(" | ");
    if (oneLine.length === 1) return oneLine[0];
    // A union with an object, laid out as prettier does: one member a line, from the next line on.
    return members(indent + INDENT.repeat(2))
      .map((m) => `\n${indent}${INDENT}| ${m}`)
      .join("");
  }

  private reference(schema: Schema, pointer: string, indent: string): string {
    const shaping = Object.keys(schema).filter((k) => SHAPES.has(k) && k !== "$ref");
    if (shaping.length) throw new Unreadable(pointer, `$ref next to ${shaping.join(", ")}`);
    const def = /^#\/\$defs\/([A-Za-z0-9]+)$/.exec(schema.$ref!)?.[1];
    if (def === undefined || !this.defs[def]) throw new Unreadable(pointer, `$ref ${schema.$ref} is not a definition of this schema`);
    return this.named(def) ?? this.typeOf(this.defs[def], `/$defs/${def}`, indent);
  }

  private typeOfOne(type: string, schema: Schema, pointer: string, indent: string): string {
    if (PRIMITIVES[type]) return PRIMITIVES[type];
    if (type === "array") {
      if (!schema.items) throw new Unreadable(pointer, "an array without items");
      return arrayOf(this.typeOf(schema.items, `${pointer}/items`, indent));
    }
    if (type !== "object") throw new Unreadable(pointer, `the type ${type} is not read`);
    const extra = schema.additionalProperties;
    if (!schema.properties) {
      if (typeof extra === "object") return `Record<string, ${this.typeOf(extra, `${pointer}/additionalProperties`, indent)}>`;
      return "Record<string, unknown>";
    }
    if (extra !== false) throw new Unreadable(pointer, "properties without additionalProperties: false");
    return `{\n${this.members(schema, pointer, indent + INDENT).join("\n")}\n${indent}}`;
  }

  /** One line (and its doc comment) per property; a property with a default is always there after the schema pass. */
  members(schema: Schema, pointer: string, indent: string): string[] {
    const required = new Set(schema.required ?? []);
    return Object.entries(schema.properties ?? {}).flatMap(([key, property]) => {
      const always = required.has(key) || property.default !== undefined;
      const type = this.typeOf(property, `${pointer}/properties/${key}`, indent);
      return [...docComment(property.description, indent), `${indent}${propertyKey(key)}${always ? "" : "?"}:${spaced(type)};`];
    });
  }

  /** The exports of the named definitions, in the schema's order. */
  definitions(): string[] {
    return Object.entries(this.defs).flatMap(([def, schema]) => {
      const name = this.named(def);
      if (!name) return [];
      const pointer = `/$defs/${def}`;
      if (schema.enum) {
        if (!schema.enum.every((v) => typeof v === "string")) throw new Unreadable(pointer, "an enum of other values than strings");
        const values = `${constantCase(def)}_VALUES`;
        return [
          "",
          ...docComment(schema.description, ""),
          ...constList(values, schema.enum as string[]),
          `export type ${name} = (typeof ${values})[number];`,
        ];
      }
      const type = this.typeOf(schema, pointer, "");
      return [
        "",
        ...docComment(schema.description, ""),
        schema.type === "object" ? `export interface ${name} ${type}` : `export type ${name} =${spaced(type)};`,
      ];
    });
  }
}

/** `export const NAME = [...] as const;` on one line when it fits prettier's 140 columns, else one value a line (as prettier does). */
function constList(name: string, values: string[]): string[] {
  const line = `export const ${name} = [${values.map((v) => JSON.stringify(v)).join(", ")}] as const;`;
  if (line.length <= 140) return [line];
  return [`export const ${name} = [`, ...values.map((v) => `${INDENT}${JSON.stringify(v)},`), "] as const;"];
}

/** The text of RAW_CONFIG_FILE for `schema` (the cluster schema unless a test gives its own). */
export function rawConfigText(schema: object = clusterSchema): string {
  const top = schema as Schema;
  const generator = new Generator((top.$defs ?? {}) as Record<string, Schema>);
  if (top.type !== "object" || !top.properties) throw new Unreadable("", "the top level is not an object with properties");
  return [
    `// Generated from ${SCHEMA_FILE} by \`npm run docs\` (components/config/schemaTypes.ts): edit the schema, not this file.`,
    "",
    "/** The `mpi-hosts:*` config after the schema pass: every value has its schema's shape, and every default is filled in. */",
    "export interface RawConfig {",
    ...generator.members(top, "", INDENT),
    "}",
    ...generator.definitions(),
    "",
  ].join("\n");
}
