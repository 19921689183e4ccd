/**
 * Scripts as they travel through the Pulumi state: one gzip-compressed, base64 string (a facet's
 * probe, apply and remove; the probes of all of a host's facets). Each script carries the shared shell library, so a facet's scripts are 20-70 KB of text;
 * stored as text (in the inputs and again in the outputs of every facet) they made the state
 * ~100 KB per facet, and the file backend rewrites the whole state after every step — the main
 * cost of `pulumi up` at 20 hosts (docs/performance.md). Packed they are 3-10 KB.
 */
import * as zlib from "zlib";
import type { RenderedFacet } from "../facets/facet";

export interface FacetScripts {
  probe: string;
  apply: string;
  remove: string;
}

/** Each facet's probe, by facet name, with whether it runs through sudo. */
export type HostProbes = Record<string, { script: string; privileged: boolean }>;

const PREFIX = "gzip+base64:";

function pack(value: unknown): string {
  return PREFIX + zlib.gzipSync(JSON.stringify(value), { level: 9 }).toString("base64");
}

function unpack(packed: string): unknown {
  return JSON.parse(zlib.gunzipSync(Buffer.from(packed.slice(PREFIX.length), "base64")).toString("utf8"));
}

export function packScripts(scripts: FacetScripts): string {
  const { probe, apply, remove } = scripts;
  return pack({ probe, apply, remove });
}

/** Accepts packed scripts, and the plain object that states written before packing hold. */
export function unpackScripts(packed: unknown): FacetScripts {
  if (isScripts(packed)) return packed;
  if (typeof packed !== "string" || !packed.startsWith(PREFIX)) {
    throw new Error(`facet scripts are neither packed (${PREFIX}...) nor plain text: ${JSON.stringify(packed)?.slice(0, 80)}`);
  }
  const scripts = unpack(packed);
  if (!isScripts(scripts)) throw new Error("packed facet scripts lack probe, apply or remove");
  return scripts;
}

export function packHostProbes(probes: HostProbes): string {
  return pack(probes);
}

/** The probes of a host's rendered facets, packed, as MpiHost hands them to every facet of the host. */
export function hostProbesOf(facets: Pick<RenderedFacet, "facet" | "scripts" | "probePrivileged">[]): string {
  return packHostProbes(Object.fromEntries(facets.map((f) => [f.facet, { script: f.scripts.probe, privileged: f.probePrivileged }])));
}

export function unpackHostProbes(packed: string): HostProbes {
  if (!packed.startsWith(PREFIX)) throw new Error(`host probes are not packed (${PREFIX}...): ${JSON.stringify(packed.slice(0, 80))}`);
  return unpack(packed) as HostProbes;
}

function isScripts(value: unknown): value is FacetScripts {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.probe === "string" && typeof v.apply === "string" && typeof v.remove === "string";
}
