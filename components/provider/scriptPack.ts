/**
 * Scripts as they travel through the Pulumi state: one brotli-compressed, base64 string (a facet's
 * probe, apply and remove; the probes of all of a host's facets). Each script carries the shared shell
 * library, and the file backend rewrites the whole state after every step: packed, the state stays small
 * (figures in docs/performance.md).
 *
 * brotli rather than gzip: gzip finds repeats only within its last 32 KB, less than one firewall script,
 * so it stops seeing that a facet's three scripts repeat one library; brotli's window (4 MB) holds a whole facet.
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

const PREFIX = "brotli+base64:";

/** Quality 5: about as small as the highest quality, at a fraction of its time (docs/performance.md). */
const BROTLI = {
  params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5, [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT },
};

/** Only the form this code writes: no released version wrote another (gzip, or plain scripts), so none is read. */
function isPacked(value: string): boolean {
  return value.startsWith(PREFIX);
}

function pack(value: unknown): string {
  return PREFIX + zlib.brotliCompressSync(Buffer.from(JSON.stringify(value), "utf8"), BROTLI).toString("base64");
}

function unpack(packed: string): unknown {
  return JSON.parse(zlib.brotliDecompressSync(Buffer.from(packed.slice(PREFIX.length), "base64")).toString("utf8"));
}

export function packScripts(scripts: FacetScripts): string {
  const { probe, apply, remove } = scripts;
  return pack({ probe, apply, remove });
}

export function unpackScripts(packed: unknown): FacetScripts {
  if (typeof packed !== "string" || !isPacked(packed))
    throw new Error(`facet scripts are not packed (${PREFIX}...): ${JSON.stringify(packed)?.slice(0, 80)}`);
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
  if (!isPacked(packed)) throw new Error(`host probes are not packed (${PREFIX}...): ${JSON.stringify(packed.slice(0, 80))}`);
  return unpack(packed) as HostProbes;
}

function isScripts(value: unknown): value is FacetScripts {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.probe === "string" && typeof v.apply === "string" && typeof v.remove === "string";
}
