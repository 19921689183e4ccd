/**
 * A JSON schema for a whole `Pulumi.<stack>.yaml`, for editors (the YAML language server's `# yaml-language-server:
 * $schema=` line, or a `yaml.schemas` setting): the `config:` map with each `mpi-hosts:` key checked against
 * schemas/cluster.schema.json, and the stack file's own keys (secretsprovider, encryptionsalt, ...). Generated from
 * the cluster schema, never written by hand: `npm run docs` rewrites schemas/stack.schema.json.
 */
import clusterSchema from "../../schemas/cluster.schema.json";
import { NAMESPACE } from "./schema";

type Schema = Record<string, unknown>;

/** `pulumi config set --secret` writes `{ secure: "v1:..." }` in place of any value. */
const SECRET: Schema = {
  type: "object",
  description: "A value encrypted by `pulumi config set --secret`.",
  properties: { secure: { type: "string" } },
  required: ["secure"],
  additionalProperties: false,
};

export function stackFileSchema(cluster: Schema = clusterSchema as Schema): Schema {
  const properties = cluster.properties as Record<string, Schema>;
  const config: Record<string, Schema> = {};
  for (const [key, schema] of Object.entries(properties)) {
    config[`${NAMESPACE}:${key}`] = { anyOf: [schema, { $ref: "#/$defs/secret" }] };
  }
  return {
    $schema: cluster.$schema,
    $id: "https://mpi-hosts.dev/schemas/stack.schema.json",
    title: "Pulumi.<stack>.yaml of an mpi-hosts stack",
    description: `Generated from cluster.schema.json by \`npm run docs\`: the stack file, with every ${NAMESPACE}: key checked.`,
    type: "object",
    properties: {
      config: {
        type: "object",
        properties: config,
        required: ((cluster.required as string[]) ?? []).map((key) => `${NAMESPACE}:${key}`),
        // Other namespaces (pulumi:, aws:, a program of the user's) are theirs; a mistyped key of ours is not.
        propertyNames: { anyOf: [{ enum: Object.keys(config) }, { not: { pattern: `^${NAMESPACE}:` } }] },
      },
      secretsprovider: { type: "string" },
      encryptedkey: { type: "string" },
      encryptionsalt: { type: "string" },
      environment: {},
    },
    additionalProperties: true,
    $defs: { ...(cluster.$defs as Schema), secret: SECRET },
  };
}

/** The file's text as `npm run docs` writes it. */
export function stackFileSchemaText(): string {
  return `${JSON.stringify(stackFileSchema(), null, 2)}\n`;
}
