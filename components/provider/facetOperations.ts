/**
 * What the facet provider does: read = probe (so `pulumi refresh` sees drift), diff = desired vs
 * actual state, create/update = apply then probe (fails if the host still differs), delete = remove. Every script is
 * rendered here by the installed code from declared inputs (./facetRecord): apply from the program's, probe and remove
 * from the state's once their schemas accepted them; never a script from a state (issue 15, item 3).
 * Run by the mpi-hosts provider plugin (./plugin), and in process by the lab tests (./facetProvider).
 */
import * as path from "path";
import type * as pulumi from "@pulumi/pulumi";
import { decodeProbe, describeDifferences, diffStates } from "../facets/compare";
import { definitionOf } from "../facets/index";
import { LoginSources, loginSourcesFromConfig } from "./credentials";
import {
  canonical,
  checkedRecord,
  definitionOfRecord,
  FacetInputs,
  FacetOutputs,
  foreignKeys,
  programRenderProblem,
  renderedFrom,
} from "./facetRecord";
import { Connection, HostLock, JumpConnection, KILL_GRACE_SECONDS, poolKey, RunResult, runParts, runScript, sudoRefusal } from "./remote";
import { FACET_STATE_FORMAT } from "./resourceTypes";
import { assertFacetsTakePublicKey } from "./clusterKeyOperations";
import { clusterTrust } from "../facets/clusterTrust";
import { shown } from "../facets/inputSchemas";

export type { FacetInputs, FacetOutputs } from "./facetRecord";

type Json = Parameters<typeof diffStates>[0];

/**
 * How this provider process logs in (configure: the stack config and the CLI's SSH_AUTH_SOCK). Unset when nothing
 * configured it (the lab tests calling these operations in process): then ssh-agent.
 */
let configured: LoginSources | undefined;

/**
 * The connection to run on: the login of this process (configured; a caller in the same process, such as a lab test,
 * may give its own). Never a key from a state: states written before issue 12 recorded one, and are refused now.
 */
function reach(connection: Connection): Connection {
  return { ...connection, login: connection.login ?? configured ?? { agentSocket: process.env.SSH_AUTH_SOCK || undefined } };
}

/** The checkout this plugin runs (scripts/install-plugin.sh runs it in place), for messages. */
const PLUGIN_CHECKOUT = path.resolve(__dirname, "../..");

function stateFromProbe(props: FacetInputs, result: { code: number; stdout: string; stderr: string }): Record<string, unknown> {
  if (result.code !== 0) {
    throw new Error(`${props.host}: ${props.facet} probe failed (exit ${result.code}): ${result.stderr.trim() || result.stdout.trim()}`);
  }
  return decodeProbe(result.stdout);
}

/** A probe result waiting for its facet's read. */
interface PendingProbe {
  script: string;
  result: Promise<RunResult>;
  startedAt: number;
}

/** Probe results of this provider process not yet taken, by host (poolKey), then facet. */
const pendingProbes = new Map<string, Map<string, PendingProbe>>();
/** A result older than this is not used (one refresh reads a host's facets within seconds). */
const FRESH_FOR_MS = 120_000;

/**
 * The facet's state on the host. The engine reads every facet of a refresh separately, a few at a
 * time (its parallelism is 4 per CPU) and in no useful order; so a read that finds no result waiting
 * for its facet runs, in one round trip, the probe of every facet of the host that has none waiting
 * (from hostProbes), and the siblings' reads take theirs. A result is used once, only for the very script
 * that made it, and never after the host was changed (forgetHost).
 */
async function probeHost(props: FacetOutputs): Promise<Record<string, unknown>> {
  const definition = definitionOfRecord(props);
  // Every probe rendered by the installed code from recorded inputs its schema accepted, run as its definition says.
  const probes: Record<string, { script: string; sudo: boolean }> = {};
  for (const [facet, inputs] of Object.entries(props.hostFacets)) {
    const sibling = definitionOf(facet)!;
    probes[facet] = { script: renderedFrom(sibling, inputs).scripts.probe, sudo: sibling.probePrivileged };
  }
  const own = {
    script: renderedFrom(definition, props.inputs).scripts.probe,
    sudo: definition.probePrivileged,
    step: `${props.facet} probe`,
  };
  probes[props.facet] = own;
  const host = poolKey(props.connection);
  const pending = pendingProbes.get(host) ?? new Map<string, PendingProbe>();
  pendingProbes.set(host, pending);
  const usable = (facet: string) => {
    const p = pending.get(facet);
    return p !== undefined && p.script === probes[facet].script && Date.now() - p.startedAt < FRESH_FOR_MS;
  };
  if (!usable(props.facet)) {
    const missing = Object.keys(probes).filter((f) => !usable(f));
    const parts = missing.map((f) => ({ script: probes[f].script, sudo: probes[f].sudo, step: `${f} probe` }));
    const run = runParts(reach(props.connection), parts, definition.timeoutSeconds);
    missing.forEach((f, i) => {
      const result = run.then((results) => results[i]);
      result.catch(() => undefined); // a result nobody reads must not fail the process; readers still get the error
      pending.set(f, { script: probes[f].script, result, startedAt: Date.now() });
    });
  }
  const mine = pending.get(props.facet)!;
  pending.delete(props.facet);
  const result = await mine.result;
  const refused = own.sudo ? sudoRefusal(props.connection, own.step, result) : undefined;
  if (refused) throw refused;
  return stateFromProbe(props, result);
}

/** Drops the waiting probe results of the host that `conn` reaches: it is about to change. */
function forgetHost(conn: Connection): void {
  pendingProbes.delete(poolKey(conn));
}

/**
 * Apply and remove hold the host lock (issue 15, item 6): two runs against one host (two `pulumi up`s, an up and a
 * destroy) take turns step by step instead of interleaving. A waiter gives up after the facet's own limit plus the
 * KILL grace and a margin: longer than a holder with the same limit can keep it. Probes take no lock.
 */
function hostLock(props: FacetInputs): HostLock {
  return { waitSeconds: definitionOfRecord(props).timeoutSeconds + KILL_GRACE_SECONDS + 10 };
}

/**
 * Apply, then probe, in one round trip holding the host lock; fails when the host still differs. Both rendered by the
 * installed code from the program's inputs (never from a state); the secrets go to apply alone.
 */
async function converge(news: unknown): Promise<FacetOutputs> {
  const props = checkedRecord<FacetInputs>(news, "program", "apply");
  const definition = definitionOfRecord(props);
  const r = renderedFrom(definition, props.inputs);
  const env = Object.fromEntries(definition.secretEnv.map((n) => [n, props.secretEnv[n]]));
  forgetHost(props.connection);
  const [applied, probed] = await runParts(
    reach(props.connection),
    [
      { script: r.scripts.apply, sudo: r.privileged, env, step: `${props.facet} apply` },
      { script: r.scripts.probe, sudo: r.probePrivileged, step: `${props.facet} probe` },
    ],
    r.timeoutSeconds,
    { lock: hostLock(props) },
  );
  const refused = r.privileged ? sudoRefusal(props.connection, `${props.facet} apply`, applied) : undefined;
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
  const differences = diffStates(r.desired as Record<string, Json>, actual as Record<string, Json>);
  if (differences.length) {
    throw new Error(`${props.host}: ${props.facet} still differs after apply:\n${describeDifferences(differences)}`);
  }
  return { ...normalized(props), state: actual, lastApply: notes.join("; ") || "applied", appliedAt: new Date().toISOString() };
}

/** The record with only the fields mpi-hosts writes (a refresh or an update drops anything else a state held). */
function normalized<T extends FacetInputs>(props: T): FacetOutputs {
  const { format, host, facet, inputs, hostFacets, connection, state, scriptsDigest, secretEnv } = props;
  const { lastApply, appliedAt } = props as unknown as Partial<FacetOutputs>;
  return {
    format,
    host,
    facet,
    inputs,
    hostFacets,
    connection,
    state,
    scriptsDigest,
    secretEnv,
    lastApply: lastApply ?? "",
    ...(appliedAt !== undefined ? { appliedAt } : {}),
  };
}

/**
 * A connection as far as it matters for a change: the host keys and revoked keys as sets of key blobs. Their order
 * (known_hosts order: another machine's ssh-keyscan, OpenSSH's UpdateHostKeys appending), which line revokes a key
 * (`where`) and where the keys were listed (`hostKeysFrom`) are for messages only.
 */
function comparableConnection(conn: Connection | JumpConnection): Record<string, unknown> {
  const { hostKeys, revokedKeys, hostKeysFrom: _messagesOnly, jump, ...rest } = conn as Connection;
  // Every connection mpi-hosts wrote lists hostKeys (one `hostKey` was a format no release wrote): without it, no
  // connection, which needsApply takes as a change, so that `pulumi up` rewrites the record.
  if (!Array.isArray(hostKeys)) throw new Error("a connection without hostKeys");
  const blobs = (keys: Array<string | undefined>) =>
    [...new Set(keys.filter((k): k is string => typeof k === "string").map((k) => k.trim().split(/\s+/)[1] ?? k))].sort();
  return {
    ...rest,
    hostKeys: blobs(hostKeys),
    revokedKeys: blobs((revokedKeys ?? []).map((r) => r.key)),
    ...(jump ? { jump: comparableConnection(jump) } : {}),
  };
}

/**
 * clusterTrust's clusterPublicKey is the only input of a Facet that the program takes from the state: the ClusterKey
 * resource's recorded public key (components/mpiCluster.ts). The ClusterKey refuses one the facets' schema would refuse
 * (clusterKeyOperations), but a run that does not diff it (`pulumi up --target` of a Facet) hands it on as recorded:
 * said here as what it is, a pair in the state that may have been edited, not as a program/plugin mismatch.
 */
function refuseStateKeyRefusedBySchema(news: unknown): void {
  const record = news as { facet?: unknown; host?: unknown; inputs?: { clusterPublicKey?: unknown } } | null;
  if (record?.facet !== clusterTrust.name) return;
  const host = typeof record.host === "string" && /^[A-Za-z0-9-]{1,63}$/.test(record.host) ? record.host : shown(record.host);
  const where = `${host}: ${clusterTrust.name}: check of its clusterPublicKey (the ClusterKey resource's recorded public key); nothing was run`;
  assertFacetsTakePublicKey({ publicKey: record.inputs?.clusterPublicKey }, where);
}

/**
 * Whether the host must be converged: compares what was last seen on the host (olds.state) with what the config asks
 * for (news.state), and the rest of the record field by field except hostFacets. Decodes nothing and refuses nothing: a
 * record mpi-hosts would refuse on read is a change, so that `pulumi up` rewrites it from the program (the repair of a
 * state changed outside mpi-hosts, and the migration).
 */
function needsApply(olds: FacetOutputs, news: FacetInputs): boolean {
  const same = (a: unknown, b: unknown) => canonical(a) === canonical(b);
  if (olds.format !== FACET_STATE_FORMAT || foreignKeys(olds).length) return true;
  // A state written before appliedAt: without it, every preview would see the job's trigger unknown.
  if (olds.appliedAt === undefined) return true;
  const desiredKeys = Object.keys(news.state ?? {});
  const seen = Object.fromEntries(desiredKeys.map((k) => [k, (olds.state as Record<string, unknown> | undefined)?.[k] ?? null]));
  let connectionChanged = true;
  try {
    connectionChanged = !same(comparableConnection(olds.connection), comparableConnection(news.connection));
  } catch {
    // A connection that is not one: rewritten.
  }
  return (
    connectionChanged ||
    !same(seen, news.state) ||
    !same(olds.inputs, news.inputs) ||
    olds.scriptsDigest !== news.scriptsDigest ||
    !same(Object.keys(olds.secretEnv ?? {}).sort(), Object.keys(news.secretEnv ?? {}).sort()) ||
    !same(olds.secretEnv, news.secretEnv)
  );
}

/**
 * A change of the record: the host's, or only of hostFacets (the probe inputs of the host's other facets, which a
 * refresh renders their probes from). The latter is rewritten without touching the host, so that `pulumi up` also
 * repairs a hostFacets changed outside mpi-hosts, and a sibling's new probe inputs reach every record of the host.
 */
function needsUpdate(olds: FacetOutputs, news: FacetInputs): boolean {
  return needsApply(olds, news) || canonical(olds.hostFacets ?? null) !== canonical(news.hostFacets ?? null);
}

/** The update of a record whose host needs nothing: the program's record, with when and how the host was last applied. */
function recordOnly(olds: FacetOutputs, news: FacetInputs): FacetOutputs {
  return { ...normalized(news), lastApply: olds.lastApply ?? "", appliedAt: olds.appliedAt };
}

export const facetOperations: Required<
  Pick<pulumi.dynamic.ResourceProvider, "configure" | "diff" | "create" | "update" | "read" | "delete">
> & { check(news: unknown): void } = {
  /**
   * Called by the provider plugin's Configure (./plugin/handlers.ts) with the stack config of the mpi-hosts namespace
   * (values as strings, secrets decrypted), in the CLI's environment (SSH_AUTH_SOCK).
   */
  async configure(req: pulumi.dynamic.ConfigureRequest) {
    configured = loginSourcesFromConfig((key) => req.config.get(key));
  },
  /**
   * The plugin's Check of a Facet the program declares (no unknowns left): the record passes its schemas, and the
   * desired state and scriptsDigest the program rendered are the plugin's own. Throws what differs.
   */
  check(news: unknown): void {
    refuseStateKeyRefusedBySchema(news);
    const record = checkedRecord<FacetInputs>(news, "program", "apply");
    const problem = programRenderProblem(record, PLUGIN_CHECKOUT);
    if (problem) throw new Error(problem);
  },
  async diff(_id: string, olds: FacetOutputs, news: FacetInputs) {
    return { changes: needsUpdate(olds, news), replaces: [], deleteBeforeReplace: false };
  },
  async create(inputs: FacetInputs) {
    const outs = await converge(inputs);
    return { id: `${outs.host}/${outs.facet}`, outs };
  },
  // The update runs what the program's inputs render; the olds only tell whether the host needs anything at all (an
  // appliedAt kept, so that the verification job does not re-run for a record-only change).
  async update(_id: string, olds: FacetOutputs, news: FacetInputs) {
    return { outs: needsApply(olds, news) ? await converge(news) : recordOnly(olds, news) };
  },
  async read(id: string, props: FacetOutputs) {
    const record = checkedRecord<FacetOutputs>(props, "state", "read");
    const state = await probeHost(record);
    return { id, props: { ...normalized(record), state } };
  },
  /** Remove, rendered from the recorded inputs; no environment (no remove reads a secret). */
  async delete(_id: string, props: FacetOutputs) {
    const record = checkedRecord<FacetOutputs>(props, "state", "delete");
    const r = renderedFrom(definitionOfRecord(record), record.inputs);
    forgetHost(record.connection);
    const result = await runScript(reach(record.connection), r.scripts.remove, {
      sudo: r.privileged,
      step: `${record.facet} remove`,
      timeoutSeconds: r.timeoutSeconds,
      lock: hostLock(record),
    });
    if (result.code !== 0) {
      throw new Error(`${record.host}: ${record.facet} remove failed (exit ${result.code}): ${result.stderr.trim()}`);
    }
  },
};
