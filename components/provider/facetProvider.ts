/**
 * The facet provider: one generic Pulumi dynamic provider that runs a facet's rendered scripts
 * over SSH. read = probe (so `pulumi refresh` sees drift), diff = desired vs actual state,
 * create/update = apply then probe (fails if the host still differs), delete = remove.
 *
 * Dynamic providers are serialized into the state (pulumi/pulumi #8090, #13960): the methods use
 * only plain data and the self-contained functions of ./remote and ./compare, which require
 * their modules at run time.
 */
import * as pulumi from "@pulumi/pulumi";
import { decodeProbe, describeDifferences, diffStates } from "../facets/compare";
import { Connection, runCoalesced, runParts, runScript, sudoRefusal } from "./remote";

export interface FacetInputs {
  host: string;
  facet: string;
  connection: Connection;
  privileged: boolean;
  scripts: { probe: string; apply: string; remove: string };
  /** Desired state on inputs; the state found on the host on outputs. */
  state: Record<string, unknown>;
  secretEnv: Record<string, string>;
  timeoutSeconds: number;
}

export interface FacetOutputs extends FacetInputs {
  /** What the last apply said ("no change", or what it did). */
  lastApply: string;
}

type Json = Parameters<typeof diffStates>[0];

function part(props: FacetInputs, kind: "probe" | "apply" | "remove") {
  return { script: props.scripts[kind], sudo: props.privileged, env: props.secretEnv, step: `${props.facet} ${kind}` };
}

function stateFromProbe(props: FacetInputs, result: { code: number; stdout: string; stderr: string }): Record<string, unknown> {
  if (result.code !== 0) {
    throw new Error(`${props.host}: ${props.facet} probe failed (exit ${result.code}): ${result.stderr.trim() || result.stdout.trim()}`);
  }
  return decodeProbe(result.stdout);
}

/** Probes of one host's facets that arrive together share one SSH round trip. */
async function probeHost(props: FacetInputs): Promise<Record<string, unknown>> {
  return stateFromProbe(props, await runCoalesced(props.connection, part(props, "probe"), props.timeoutSeconds));
}

/** Apply, then probe, in one round trip; fails when the host still differs. */
async function converge(props: FacetInputs): Promise<FacetOutputs> {
  const [applied, probed] = await runParts(props.connection, [part(props, "apply"), part(props, "probe")], props.timeoutSeconds);
  const refused = props.privileged ? sudoRefusal(props.connection, `${props.facet} apply`, applied) : undefined;
  if (refused) throw refused;
  const notes = applied.stderr
    .split("\n")
    .filter((l) => l.startsWith("mpi-hosts: "))
    .map((l) => l.slice("mpi-hosts: ".length));
  if (applied.code !== 0) {
    throw new Error(
      `${props.host}: ${props.facet} apply failed (exit ${applied.code}):\n${applied.stderr.trim() || applied.stdout.trim()}`,
    );
  }
  const actual = stateFromProbe(props, probed);
  const differences = diffStates(props.state as Record<string, Json>, actual as Record<string, Json>);
  if (differences.length) {
    throw new Error(`${props.host}: ${props.facet} still differs after apply:\n${describeDifferences(differences)}`);
  }
  return { ...props, state: actual, lastApply: notes.join("; ") || "applied" };
}

/** Compares what was last seen on the host (olds.state) with what the config asks for (news.state). */
function needsUpdate(olds: FacetOutputs, news: FacetInputs): boolean {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const { privateKey: _oldKey, ...oldConnection } = olds.connection;
  const { privateKey: _newKey, ...newConnection } = news.connection;
  const desiredKeys = Object.keys(news.state);
  const seen = Object.fromEntries(desiredKeys.map((k) => [k, olds.state?.[k] ?? null]));
  return (
    !same(seen, news.state) ||
    !same(oldConnection, newConnection) ||
    !same(olds.scripts, news.scripts) ||
    olds.privileged !== news.privileged ||
    !same(Object.keys(olds.secretEnv ?? {}).sort(), Object.keys(news.secretEnv).sort()) ||
    _oldKey !== _newKey ||
    !same(olds.secretEnv, news.secretEnv)
  );
}

export const facetProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id: string, olds: FacetOutputs, news: FacetInputs) {
    return { changes: needsUpdate(olds, news), replaces: [], deleteBeforeReplace: false };
  },
  async create(inputs: FacetInputs) {
    const outs = await converge(inputs);
    return { id: `${inputs.host}/${inputs.facet}`, outs };
  },
  async update(_id: string, _olds: FacetOutputs, news: FacetInputs) {
    return { outs: await converge(news) };
  },
  async read(id: string, props: FacetOutputs) {
    const state = await probeHost(props);
    return { id, props: { ...props, state } };
  },
  async delete(_id: string, props: FacetOutputs) {
    const { script, ...options } = part(props, "remove");
    const result = await runScript(props.connection, script, { ...options, timeoutSeconds: props.timeoutSeconds });
    if (result.code !== 0) {
      throw new Error(`${props.host}: ${props.facet} remove failed (exit ${result.code}): ${result.stderr.trim()}`);
    }
  },
};

export type FacetResourceArgs = { [K in keyof FacetInputs]: pulumi.Input<FacetInputs[K]> };

/** One facet of one host. */
export class Facet extends pulumi.dynamic.Resource {
  declare readonly state: pulumi.Output<Record<string, unknown>>;
  declare readonly lastApply: pulumi.Output<string>;

  constructor(name: string, args: FacetResourceArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      facetProvider,
      name,
      { ...args, lastApply: undefined },
      { ...opts, additionalSecretOutputs: ["connection", "secretEnv"] },
      "mpi-hosts",
      "Facet",
    );
  }
}
