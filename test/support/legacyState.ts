/**
 * Facet records as mpi-hosts wrote them before state format 2 (issue 15, item 3): scripts and the host's probes in the
 * state, brotli-packed. Production code no longer reads or writes this form; the tests build it to show that a
 * refresh, drift or destroy refuses it and a `pulumi up` rewrites it. The packer is the one mpi-hosts used
 * (components/provider/scriptPack.ts, removed with format 2).
 */
import * as zlib from "zlib";
import type { FacetScripts, RenderedFacet } from "../../components/facets/facet";

const PREFIX = "brotli+base64:";
const BROTLI = {
  params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5, [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT },
};

export function pack(value: unknown): string {
  return PREFIX + zlib.brotliCompressSync(Buffer.from(JSON.stringify(value), "utf8"), BROTLI).toString("base64");
}

export function unpack(packed: string): unknown {
  return JSON.parse(zlib.brotliDecompressSync(Buffer.from(packed.slice(PREFIX.length), "base64")).toString("utf8"));
}

export function packScripts({ probe, apply, remove }: FacetScripts): string {
  return pack({ probe, apply, remove });
}

/** Each facet's probe, by facet name, with whether it runs through sudo (format 1's `hostProbes`). */
export type HostProbes = Record<string, { script: string; privileged: boolean }>;

export function packHostProbes(probes: HostProbes): string {
  return pack(probes);
}

/** The format-1 fields of a facet rendered by the installed code: what a state written before format 2 held. */
export function legacyFields(facet: RenderedFacet, host: RenderedFacet[]): Record<string, unknown> {
  return {
    hostProbes: packHostProbes(Object.fromEntries(host.map((f) => [f.facet, { script: f.scripts.probe, privileged: f.probePrivileged }]))),
    privileged: facet.privileged,
    scripts: packScripts(facet.scripts),
    timeoutSeconds: facet.timeoutSeconds,
  };
}

/**
 * A format-1 record from a format-2 one: without `format`, `inputs`, `hostFacets` and `scriptsDigest`, with the
 * scripts, host probes, privileges and time limit of the facet as the installed code renders them.
 */
export function legacyRecord(record: Record<string, unknown>, facet: RenderedFacet, host: RenderedFacet[]): Record<string, unknown> {
  const { format: _f, inputs: _i, hostFacets: _h, scriptsDigest: _d, ...kept } = record;
  return { ...kept, ...legacyFields(facet, host) };
}
