import * as fs from "fs";
import clusterSchema from "../../schemas/cluster.schema.json";
import { validateAgainstSchema } from "./schema";
import { RAW_CONFIG_FILE, rawConfigText } from "./schemaTypes";

/** A schema of one section, `s`, with the given properties and definitions. */
function section(properties: Record<string, unknown>, $defs: Record<string, unknown> = {}, required: string[] = []) {
  return {
    type: "object",
    additionalProperties: false,
    properties: { s: { type: "object", additionalProperties: false, required, properties } },
    $defs,
  };
}

/** The members of section `s` in the generated text, one per line, without doc comments. */
function membersOf(text: string): string[] {
  const body = /^ {2}s\??: \{\n([\s\S]*?)\n {2}\};/m.exec(text)?.[1] ?? "";
  return body
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => !line.startsWith("/**"));
}

describe("the config's types", () => {
  it("are the file npm run docs writes from the schema (run it after changing schemas/cluster.schema.json)", () => {
    expect(fs.readFileSync(RAW_CONFIG_FILE, "utf8")).toBe(rawConfigText());
  });

  it("promise only keys the schema pass really fills in: every key with a default is there after it", () => {
    const raw: Record<string, unknown> = {
      ssh: { jump: { address: "bastion.example.edu" } },
      hosts: [{ name: "n1", address: "10.0.0.5", os: "linux", jump: { address: "b2.example.edu" } }],
      mpi: { network: "10.0.0.0/24" },
    };
    expect(validateAgainstSchema(raw)).toEqual([]);
    const defs = (clusterSchema as { $defs: Record<string, Schema> }).$defs;
    type Schema = { $ref?: string; properties?: Record<string, Schema>; items?: Schema; required?: string[]; default?: unknown };
    const resolve = (s: Schema): Schema => (s.$ref ? resolve(defs[s.$ref.replace("#/$defs/", "")]) : s);
    const missing: string[] = [];
    const walk = (schema: Schema, value: unknown, at: string): void => {
      const s = resolve(schema);
      if (Array.isArray(value) && s.items) value.forEach((v, i) => walk(s.items!, v, `${at}[${i}]`));
      if (!s.properties || typeof value !== "object" || value === null || Array.isArray(value)) return;
      for (const [key, property] of Object.entries(s.properties)) {
        const here = (value as Record<string, unknown>)[key];
        if (here === undefined && (property.default !== undefined || s.required?.includes(key))) missing.push(`${at}.${key}`);
        if (here !== undefined) walk(property, here, `${at}.${key}`);
      }
    };
    walk(clusterSchema as Schema, raw, "mpi-hosts");
    expect(missing).toEqual([]);
  });

  it.each([
    [
      "a key with a default is always there, one without is optional",
      { a: { type: "integer", default: 1 }, b: { type: "string" } },
      {},
      ["a: number;", "b?: string;"],
    ],
    ["a required key is always there", { a: { type: "boolean" } }, {}, ["a: boolean;"], ["a"]],
    ["a list of types is a union", { a: { type: ["string", "integer", "boolean"] } }, {}, ["a?: string | number | boolean;"]],
    [
      "an array of a union is an Array<>",
      { a: { type: "array", items: { type: ["string", "integer"] } } },
      {},
      ["a?: Array<string | number>;"],
    ],
    [
      "a map of values is a Record",
      { a: { type: "object", additionalProperties: { type: "string" } } },
      {},
      ["a?: Record<string, string>;"],
    ],
    ["a reference to a pattern is its type", { a: { $ref: "#/$defs/port" } }, { port: { type: "integer", minimum: 1 } }, ["a?: number;"]],
    [
      "a reference to an enum is its name",
      { a: { $ref: "#/$defs/shellKind" } },
      { shellKind: { enum: ["bash", "zsh"] } },
      ["a?: ShellKind;"],
    ],
  ])("%s", (_name, properties, defs, expected, required: string[] = []) => {
    expect(membersOf(rawConfigText(section(properties, defs, required)))).toEqual(expected);
  });

  it("write each enum once, as a list of its values and the type of one", () => {
    const text = rawConfigText(section({ a: { $ref: "#/$defs/shellKind" } }, { shellKind: { enum: ["bash", "zsh"] } }));
    expect(text).toContain(
      'export const SHELL_KIND_VALUES = ["bash", "zsh"] as const;\nexport type ShellKind = (typeof SHELL_KIND_VALUES)[number];',
    );
  });

  it("lay out a union with an object as prettier does", () => {
    const text = rawConfigText(
      section(
        { j: { $ref: "#/$defs/jump" } },
        { jump: { type: ["string", "object"], additionalProperties: false, properties: { address: { type: "string" } } } },
      ),
    );
    expect(text).toContain("export type RawJump =\n  | string\n  | {\n      address?: string;\n    };\n");
  });

  it.each([
    [
      "a keyword it does not read",
      { a: { oneOf: [{ type: "string" }, { type: "integer" }] } },
      {},
      /#\/properties\/s\/properties\/a: the keyword oneOf is not read/,
    ],
    ["an enum outside $defs", { a: { enum: ["x", "y"] } }, {}, /#\/properties\/s\/properties\/a: an enum outside \$defs/],
    [
      "a $ref that is not a definition",
      { a: { $ref: "#/$defs/nowhere" } },
      {},
      /\$ref #\/\$defs\/nowhere is not a definition of this schema/,
    ],
    ["a $ref next to a type", { a: { $ref: "#/$defs/port", type: "string" } }, { port: { type: "integer" } }, /\$ref next to type/],
    [
      "an object open to any key",
      { a: { type: "object", properties: { b: { type: "string" } } } },
      {},
      /properties without additionalProperties: false/,
    ],
  ])("refuse %s, naming where in the schema", (_name, properties, defs, message) => {
    expect(() => rawConfigText(section(properties, defs))).toThrow(message);
  });
});
