/**
 * The JSON schemas of the facets' declared inputs (schemas/facetInputs.schema.json) and of the connection a Facet
 * records, checked before the provider plugin renders a script from them (issue 15, item 3): a state is data anyone
 * with write access to the backend can change, and the scripts run as the login user and, through sudo, as root.
 * The config's definitions (schemas/cluster.schema.json) bound every leaf, so a recorded value can hold no more than
 * the config loader lets through.
 *
 * A separate ajv from the config loader's: no defaults, no coercion, nothing removed; a value is accepted as it is,
 * or refused.
 */
import Ajv2020, { ErrorObject, ValidateFunction } from "ajv/dist/2020";
import clusterSchema from "../../schemas/cluster.schema.json";
import facetInputsSchema from "../../schemas/facetInputs.schema.json";

const FACET_INPUTS_ID = (facetInputsSchema as { $id: string }).$id;

const ajv = new Ajv2020({ strict: true, allErrors: true, useDefaults: false, coerceTypes: false, allowUnionTypes: true });
ajv.addSchema(clusterSchema);
ajv.addSchema(facetInputsSchema);

/** A reference to a definition of schemas/facetInputs.schema.json, as a facet's `inputSchema` names it. */
export function facetInputsRef(definition: string): { $ref: string } {
  return { $ref: `${FACET_INPUTS_ID}#/$defs/${definition}` };
}

const compiled = new Map<string, ValidateFunction>();

function validatorOf(schema: object): ValidateFunction {
  const key = JSON.stringify(schema);
  let validate = compiled.get(key);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(key, validate);
  }
  return validate;
}

/** A value as a message shows it: JSON (control characters escaped, so nothing reaches a terminal raw), cut short. */
export function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** `inputs`, `/hosts/0/name` -> `inputs.hosts[0].name`. */
function pathOf(root: string, instancePath: string): string {
  return instancePath
    .split("/")
    .slice(1)
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((path, s) => (/^\d+$/.test(s) ? `${path}[${s}]` : `${path}.${s}`), root);
}

function valueAt(value: unknown, instancePath: string): unknown {
  return instancePath
    .split("/")
    .slice(1)
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce<unknown>((v, s) => (v !== null && typeof v === "object" ? (v as Record<string, unknown>)[s] : undefined), value);
}

/** One problem per value, the most telling first: a wrong key or type before a pattern. */
function describe(root: string, value: unknown, errors: ErrorObject[]): string {
  const e = errors.find((x) => x.keyword === "additionalProperties") ?? errors.find((x) => x.keyword === "required") ?? errors[0];
  if (e.keyword === "additionalProperties") {
    const key = (e.params as { additionalProperty: string }).additionalProperty;
    return `${pathOf(root, e.instancePath)} has the key ${shown(key)}, which mpi-hosts does not write there`;
  }
  if (e.keyword === "required") {
    return `${pathOf(root, e.instancePath)} lacks ${shown((e.params as { missingProperty: string }).missingProperty)}`;
  }
  const found = valueAt(value, e.instancePath);
  return `${pathOf(root, e.instancePath)} is ${shown(found)}: it ${e.message ?? "is not valid"} (${e.schemaPath})`;
}

/**
 * Checks `value` against `schema`; undefined when it passes, else one sentence naming `root` and the path
 * (`inputs.hostConfig.pythonPrefix is "/x$(id)": it must match pattern ...`).
 */
export function schemaProblem(schema: object, value: unknown, root: string): string | undefined {
  const validate = validatorOf(schema);
  if (validate(value)) return undefined;
  return describe(root, value, validate.errors ?? []);
}
