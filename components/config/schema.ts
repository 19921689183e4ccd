/**
 * Schema validation of the raw `mpi-hosts:*` config, with messages in the form
 * `<config path>: <what is wrong> (<what is expected>)`. Applies the schema's defaults.
 */
import Ajv2020, { ErrorObject } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import schema from "../../schemas/cluster.schema.json";
import { ConfigProblem } from "./types";

export const NAMESPACE = "mpi-hosts";

const ajv = new Ajv2020({ allErrors: true, verbose: true, useDefaults: true, strict: true, allowUnionTypes: true });
addFormats(ajv);
const validateSchema = ajv.compile(schema);

/** What each shared definition means, for pattern/range errors on values that use it. */
const expectations: Record<string, { wrong: string; expected: string }> = {
  tcpPort: { wrong: "is not a TCP port", expected: "1-65535" },
  hostLabel: {
    wrong: "is not an RFC 1123 host label",
    expected: "letters, digits and inner hyphens, 1-63 characters",
  },
  address: { wrong: "is not a host name or IP address", expected: "e.g. node1.example.edu or 10.0.0.5" },
  unixUser: { wrong: "is not a user name", expected: "lower-case letters, digits, _ . -, starting with a letter or _" },
  portRange: { wrong: "is not a port range", expected: "FIRST-LAST, e.g. 50000-50099" },
  runtimePorts: { wrong: "is not a port range nor ephemeral", expected: "ephemeral, or FIRST-LAST such as 50100-50199" },
  cidr: { wrong: "is not an IPv4 network", expected: "a.b.c.d/n, e.g. 10.0.0.0/24" },
  absPath: {
    wrong: "is not an absolute path of plain characters",
    expected: "/ then letters, digits, . _ - + /; no spaces or quotes",
  },
  localPath: { wrong: "is not a usable file path", expected: "a path without newlines" },
  versionSpec: { wrong: "is not a version pin", expected: "MAJOR[.MINOR[.PATCH]] optionally ending in .*, e.g. 4.0.* or 5.0.7" },
  keyGeneration: {
    wrong: "is not a key generation",
    expected: "a whole number or 1-64 letters, digits and . _ : -, starting with a letter or digit, e.g. 2 or 2026-12-01",
  },
  mcaValue: { wrong: "is not a one-line value", expected: "no newlines" },
  mcaName: { wrong: "is not an MCA parameter name", expected: "lower-case letters, digits and _, e.g. btl_tcp_links" },
  hostKey: {
    wrong: "is not an SSH public key",
    expected: "TYPE BASE64 as printed by ssh-keyscan, e.g. ssh-ed25519 AAAA...",
  },
  hostKeys: {
    wrong: "is not an SSH public key",
    expected: "TYPE BASE64 as printed by ssh-keyscan, e.g. ssh-ed25519 AAAA..., or a list of them",
  },
  nftTable: {
    wrong: "is not an nftables table",
    expected: "FAMILY NAME as nft list tables prints it, family ip, ip6 or inet, e.g. inet filter",
  },
  nftChain: { wrong: "is not an nftables chain name", expected: "letters, digits, _ . -, starting with a letter or _" },
  jump: {
    wrong: "is not a host name",
    expected: "the name of a host in mpi-hosts:hosts, none, or a bastion { address, port, user, hostKey }",
  },
};

export function configPath(instancePath: string, extra?: string): string {
  const segments = instancePath.split("/").slice(1);
  if (extra !== undefined) segments.push(extra);
  let path = NAMESPACE;
  segments.forEach((segment, i) => {
    const key = segment.replace(/~1/g, "/").replace(/~0/g, "~");
    if (/^\d+$/.test(key)) path += `[${key}]`;
    else path += i === 0 ? `:${key}` : `.${key}`;
  });
  return path;
}

export function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const GENERIC_KEY_PROBLEM = "has a key that is not allowed";

const definitions = (schema as { $defs: Record<string, object> }).$defs;

function definitionOf(error: ErrorObject): string | undefined {
  // A definition that ajv compiles as a function of its own (one with properties, such as jump) reports paths
  // relative to itself ("#/pattern"): known by its schema object instead.
  const own = Object.keys(definitions).find((name) => definitions[name] === error.parentSchema);
  return own ?? /#\/\$defs\/([A-Za-z]+)\//.exec(error.schemaPath)?.[1];
}

function describe(error: ErrorObject): ConfigProblem {
  const params = error.params as Record<string, unknown>;
  const problem = (path: string, message: string): ConfigProblem => ({ path, message, severity: "error" });
  const here = configPath(error.instancePath);
  if (error.propertyName !== undefined && error.keyword !== "propertyNames") {
    const def2 = definitionOf(error);
    const expectation = def2 ? expectations[def2] : undefined;
    return problem(
      here,
      `has the key ${show(error.propertyName)}, which ${expectation ? `${expectation.wrong} (${expectation.expected})` : "is not allowed"}`,
    );
  }
  const def = definitionOf(error);
  switch (error.keyword) {
    case "required":
      return problem(configPath(error.instancePath, String(params.missingProperty)), "missing (required)");
    case "additionalProperties": {
      const allowed = Object.keys((error.parentSchema as { properties?: object }).properties ?? {});
      return problem(configPath(error.instancePath, String(params.additionalProperty)), `unknown setting (one of: ${allowed.join(", ")})`);
    }
    case "enum":
      return problem(here, `${show(error.data)} is not allowed (one of: ${(params.allowedValues as unknown[]).join(", ")})`);
    case "type":
      if (def && expectations[def] && Array.isArray(params.type)) {
        return problem(
          here,
          `${show(error.data)} is neither ${(params.type as string[]).map(article).join(" nor ")} (${expectations[def].expected})`,
        );
      }
      return problem(here, `${show(error.data)} is not ${article(String(params.type))} (${params.type})`);
    case "minItems":
      return problem(here, `has ${(error.data as unknown[]).length} entries (at least ${params.limit})`);
    case "maxItems":
      return problem(here, `has ${(error.data as unknown[]).length} entries (at most ${params.limit})`);
    case "uniqueItems":
      return problem(here, `lists ${show((error.data as unknown[])[Number(params.j)])} twice (each entry once)`);
    case "propertyNames":
      return problem(here, GENERIC_KEY_PROBLEM);
    case "minimum":
    case "maximum":
    case "pattern":
    case "minLength":
    case "maxLength":
      if (def && expectations[def]) {
        const { wrong, expected } = expectations[def];
        return problem(here, `${show(error.data)} ${wrong} (${expected})`);
      }
      if (error.keyword === "pattern") return problem(here, `${show(error.data)} has characters that are not allowed (${params.pattern})`);
      return problem(here, `${show(error.data)} is out of range (${error.message})`);
    default:
      return problem(here, `${show(error.data)} ${error.message ?? "is not valid"}`);
  }
}

function article(type: string): string {
  const names: Record<string, string> = {
    object: "a mapping",
    array: "a list",
    string: "a string",
    integer: "a whole number",
    number: "a number",
    boolean: "true or false",
  };
  return names[type] ?? type;
}

/**
 * Validates in place (defaults are filled in) and returns the problems.
 * `additionalProperties` errors of a parent are kept; errors below a missing/mistyped value are not repeated.
 */
export function validateAgainstSchema(raw: Record<string, unknown>): ConfigProblem[] {
  if (validateSchema(raw)) return [];
  const problems = (validateSchema.errors ?? []).map(describe);
  const seen = new Set<string>();
  const specific = new Set(problems.filter((p) => p.message !== GENERIC_KEY_PROBLEM).map((p) => p.path));
  return problems.filter((p) => {
    if (p.message === GENERIC_KEY_PROBLEM && specific.has(p.path)) return false;
    const key = `${p.path}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
