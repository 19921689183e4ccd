/**
 * What a Facet resource records (its inputs, and as outputs the same with the state found on the host), and the
 * checks it passes before the plugin renders a script from it (issue 15, item 3: the state is a way to root).
 *
 * A record holds no script: the facet's declared inputs (FacetDefinition.inputs), the probe inputs of every facet of
 * its host (`hostFacets`, for the one-round-trip refresh), a digest of what the installed code renders from them, the
 * connection, the desired state and the secret environment. Privileges, time limits and secret names come from the
 * facet's definition, never from a record. Probe and remove are rendered from recorded inputs, apply only from the
 * program's, each after its schema (schemas/facetInputs.schema.json) accepted them.
 */
import { reinstallPluginAdvice } from "./pluginAdvice";
import { probeInputsOf, RenderedFacet, renderFromInputs, scriptsDigest } from "../facets/facet";
import { AnyFacetDefinition, definitionOf } from "../facets/index";
import { facetInputsRef, schemaProblem, shown } from "../facets/inputSchemas";
import { Connection } from "./remote";
import { FACET_STATE_FORMAT } from "./resourceTypes";

/** A facet's declared inputs as plain JSON: what its definition's `inputs` made. */
export type DeclaredInputs = { host: string } & Record<string, unknown>;

export interface FacetInputs {
  /** FACET_STATE_FORMAT; absent in states written before it (format 1: scripts in the state). */
  format: number;
  host: string;
  facet: string;
  /** The facet's declared inputs: probe, apply and remove are rendered from these by the installed code. */
  inputs: DeclaredInputs;
  /** The probe inputs (FacetDefinition.probeInputs) of every facet of the host, by facet name, itself included. */
  hostFacets: Record<string, DeclaredInputs>;
  connection: Connection;
  /** Desired state on inputs; the state found on the host on outputs. */
  state: Record<string, unknown>;
  /** scriptsDigest of the facet rendered from `inputs` (components/facets/facet.ts). */
  scriptsDigest: string;
  /** The values of the secrets the definition names (secretEnv); sent to apply only. */
  secretEnv: Record<string, string>;
}

export interface FacetOutputs extends FacetInputs {
  /** What the last apply said ("no change", or what it did). */
  lastApply: string;
  /**
   * When apply last ran (create or update; an ISO time): new at every apply, kept by read, not an input, so
   * not part of diff. The verification job is triggered by every facet's stamp, so it runs again after
   * any change on any host, drift repairs included. Missing in states written before it.
   */
  appliedAt?: string;
}

/** Every key a Facet record may hold; anything else is refused on read and delete (and rewritten by `pulumi up`). */
export const RECORD_KEYS: readonly string[] = [
  "format",
  "host",
  "facet",
  "inputs",
  "hostFacets",
  "connection",
  "state",
  "scriptsDigest",
  "secretEnv",
  "lastApply",
  "appliedAt",
];

/** The keys of a record that mpi-hosts does not write (`scripts`, `hostProbes` of format 1, or anything else). */
export function foreignKeys(record: object): string[] {
  return Object.keys(record).filter((k) => !RECORD_KEYS.includes(k));
}

/** JSON with sorted keys: the same data gives the same text whatever order its keys came in. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
      .join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** Renders of this process, by facet and inputs: a refresh renders each probe twice otherwise (first reader, own read). */
const renders = new Map<string, RenderedFacet>();
const RENDER_CACHE_SIZE = 2000;

/** The facet rendered by the installed code from inputs a schema has accepted (checkedRecord). */
export function renderedFrom(definition: AnyFacetDefinition, inputs: DeclaredInputs): RenderedFacet {
  const key = `${definition.name}\n${canonical(inputs)}`;
  let r = renders.get(key);
  if (!r) {
    if (renders.size >= RENDER_CACHE_SIZE) renders.clear();
    r = renderFromInputs(definition, inputs);
    renders.set(key, r);
  }
  return r;
}

/** Where a record comes from: the state (read, delete) or the program (check, create, update). */
export type RecordOrigin = "state" | "program";

/** For a message: the host a record names, printable whatever it holds. */
function hostOf(record: unknown): string {
  const host = (record as { host?: unknown } | null)?.host;
  return typeof host === "string" && /^[A-Za-z0-9-]{1,63}$/.test(host) ? host : shown(host);
}

/** The sentence a format-1 record (scripts in the state) is refused with, the same for every facet of a host. */
export function oldFormatRefusal(host: string, operation: "read" | "delete"): string {
  const text =
    `${host}: the state of its facets was written by mpi-hosts before state format ${FACET_STATE_FORMAT}: it holds their ` +
    `scripts, which mpi-hosts no longer runs from a state (docs/security.md, issue 15). Run \`pulumi up\` once (without ` +
    `--refresh): it rewrites every facet without scripts; the applies find nothing to do, except clusterTrust's, which records the cluster key's generation on the host. Then refresh, drift or destroy.`;
  if (operation === "read") return text;
  return (
    `${text} If ${host} is no longer in the stack config, put it back for that one \`pulumi up\`; or drop its resources ` +
    "with `pulumi state delete URN` and undo them by hand (`npm run render` writes their remove.sh)."
  );
}

/** What is wrong with the record, as "<path> is ...: ..." without host or facet; undefined when nothing is. */
function recordProblem(record: Record<string, unknown>, definition: AnyFacetDefinition): string | undefined {
  const foreign = foreignKeys(record);
  if (foreign.length) return `record holds ${foreign.map((k) => `\`${shown(k)}\``).join(", ")}, which mpi-hosts does not write in a Facet`;
  const { host, connection, inputs, hostFacets, secretEnv, scriptsDigest: digest, state } = record;
  const hostProblem = schemaProblem(facetInputsRef("connection"), connection, "connection");
  if (hostProblem) return hostProblem;
  if ((connection as Connection).name !== host) return `connection.name is ${shown((connection as Connection).name)}, not the facet's host`;
  const inputsProblem = schemaProblem(definition.inputSchema, inputs, "inputs");
  if (inputsProblem) return inputsProblem;
  if ((inputs as DeclaredInputs).host !== host) return `inputs.host is ${shown((inputs as DeclaredInputs).host)}, not the facet's host`;
  if (hostFacets === null || typeof hostFacets !== "object" || Array.isArray(hostFacets))
    return `hostFacets is ${shown(hostFacets)}: it must be an object`;
  for (const [name, probeInputs] of Object.entries(hostFacets as Record<string, unknown>)) {
    const sibling = definitionOf(name);
    if (!sibling) return `hostFacets has the key ${shown(name)}, which is no facet of mpi-hosts`;
    const problem = schemaProblem(sibling.inputSchema, probeInputs, `hostFacets.${name}`);
    if (problem) return problem;
    if ((probeInputs as DeclaredInputs).host !== host)
      return `hostFacets.${name}.host is ${shown((probeInputs as DeclaredInputs).host)}, not the facet's host`;
  }
  const own = (hostFacets as Record<string, unknown>)[definition.name];
  if (canonical(own) !== canonical(probeInputsOf(definition, inputs as DeclaredInputs))) {
    return `hostFacets.${definition.name} is ${shown(own)}: it must be the probe inputs of the facet's own inputs`;
  }
  if (secretEnv === null || typeof secretEnv !== "object" || Array.isArray(secretEnv)) return `secretEnv is not an object`;
  for (const [name, value] of Object.entries(secretEnv as Record<string, unknown>)) {
    if (!definition.secretEnv.includes(name))
      return `secretEnv names ${shown(name)}, which ${definition.name} does not declare (it declares ${shown(definition.secretEnv)})`;
    if (typeof value !== "string") return `secretEnv.${name} is not a string`;
  }
  if (typeof digest !== "string" || !/^sha256:[0-9a-f]{64}$/.test(digest))
    return `scriptsDigest is ${shown(digest)}: it must be sha256: and 64 hex digits`;
  if (state === null || typeof state !== "object" || Array.isArray(state)) return `state is ${shown(state)}: it must be an object`;
  return undefined;
}

/** The record, checked; throws what is wrong (host, facet, what was found, what to do) before anything runs. */
export function checkedRecord<T extends FacetInputs>(value: unknown, origin: RecordOrigin, operation: "read" | "delete" | "apply"): T {
  const record = (value ?? {}) as Record<string, unknown>;
  const host = hostOf(record);
  const facet = typeof record.facet === "string" ? record.facet : shown(record.facet);
  const refuse = (problem: string) => {
    if (origin === "program") {
      return new Error(
        `${host}: ${facet}: the program's ${problem}; nothing was run. The program (this checkout) and the installed ` +
          `plugin (pulumi-resource-mpi-hosts) must be the same code: ${reinstallPluginAdvice()}.`,
      );
    }
    return new Error(
      `${host}: ${facet}: the state's ${problem}. mpi-hosts renders its scripts only from inputs its schema accepts; nothing ` +
        "was run. The state was changed outside mpi-hosts: restore it from the backend's backups, or run `pulumi up` to " +
        "rewrite it from the stack config.",
    );
  };
  if (record.format === undefined && origin === "state")
    throw new Error(oldFormatRefusal(host, operation === "delete" ? "delete" : "read"));
  if (typeof record.format === "number" && record.format > FACET_STATE_FORMAT) {
    throw new Error(
      `${host}: ${facet}: the ${origin} was written by a newer mpi-hosts (state format ${record.format}); update ` +
        `mpi-hosts, then ${reinstallPluginAdvice()}. Nothing was run.`,
    );
  }
  if (record.format !== FACET_STATE_FORMAT) throw refuse(`format is ${shown(record.format)}, not ${FACET_STATE_FORMAT}`);
  if (typeof record.host !== "string" || !/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(record.host)) {
    throw refuse(`host is ${shown(record.host)}: it must be a host name (a hostLabel)`);
  }
  const definition = typeof record.facet === "string" ? definitionOf(record.facet) : undefined;
  if (!definition) throw refuse(`facet is ${shown(record.facet)}, which is no facet of mpi-hosts`);
  const { login: _inProcessOnly, ...connection } = (record.connection ?? {}) as Connection;
  const problem = recordProblem({ ...record, connection }, definition);
  if (problem) throw refuse(problem);
  if (origin === "program") {
    const missing = definition.secretEnv.filter((n) => typeof (record.secretEnv as Record<string, unknown>)[n] !== "string");
    if (missing.length) throw refuse(`secretEnv lacks ${missing.join(", ")}, which ${definition.name} declares`);
  }
  return record as unknown as T;
}

/** The definition of a record checkedRecord accepted. */
export function definitionOfRecord(record: FacetInputs): AnyFacetDefinition {
  return definitionOf(record.facet)!;
}

/**
 * The fields of a program's record the plugin computes itself (desired state, scriptsDigest) compared with its own
 * render: refused when they differ, since the plugin's render is what runs and the program's what review and preview
 * showed (issue 15, item 3).
 */
export function programRenderProblem(record: FacetInputs, pluginCheckout: string): string | undefined {
  const r = renderedFrom(definitionOfRecord(record), record.inputs);
  const differs = [
    canonical(record.state) !== canonical(r.desired) ? "desired state" : "",
    record.scriptsDigest !== scriptsDigest(r) ? "scriptsDigest" : "",
  ].filter(Boolean);
  if (!differs.length) return undefined;
  return (
    `${record.host}: ${record.facet}: the program (the checkout of this run) and the installed plugin ` +
    `(pulumi-resource-mpi-hosts, runs ${pluginCheckout}) render different scripts (${differs.join(", ")} differ); ` +
    reinstallPluginAdvice()
  );
}

/** A record as mpi-hosts writes it for the facet rendered from `inputs` (the program, the lab harness). */
export function facetRecord(args: {
  definition: AnyFacetDefinition;
  inputs: DeclaredInputs;
  /** Every facet of the host with its declared inputs, itself included. */
  host: Array<{ definition: AnyFacetDefinition; inputs: DeclaredInputs }>;
  connection: Connection;
  secretEnv: Record<string, string>;
}): FacetInputs {
  const inputs = plainJson(args.inputs);
  const r = renderFromInputs(args.definition, inputs);
  return {
    format: FACET_STATE_FORMAT,
    host: inputs.host,
    facet: args.definition.name,
    inputs,
    hostFacets: hostFacetsOf(args.host),
    connection: args.connection,
    state: r.desired,
    scriptsDigest: scriptsDigest(r),
    secretEnv: args.secretEnv,
  };
}

/** The host's `hostFacets`: every facet's probe inputs, in apply order. */
export function hostFacetsOf(host: Array<{ definition: AnyFacetDefinition; inputs: DeclaredInputs }>): Record<string, DeclaredInputs> {
  return Object.fromEntries(host.map(({ definition, inputs }) => [definition.name, plainJson(probeInputsOf(definition, inputs))]));
}

/** The value as it reads back from JSON (a state): no undefined members. */
export function plainJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
