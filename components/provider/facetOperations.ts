/**
 * What the facet provider does: read = probe (so `pulumi refresh` sees drift), diff = desired vs
 * actual state, create/update = apply then probe (fails if the host still differs), delete = remove.
 * Run by the mpi-hosts provider plugin (./plugin), and in process by the lab tests (./facetProvider).
 */
import type * as pulumi from "@pulumi/pulumi";
import { decodeProbe, describeDifferences, diffStates } from "../facets/compare";
import { LoginSources, loginSourcesFromConfig } from "./credentials";
import { Connection, HostLock, JumpConnection, KILL_GRACE_SECONDS, poolKey, RunResult, runParts, runScript, sudoRefusal } from "./remote";
import { HostProbes, unpackHostProbes, unpackScripts } from "./scriptPack";

export interface FacetInputs {
  host: string;
  facet: string;
  /**
   * The probe of every facet of this host, packed (./scriptPack): a refresh reads every facet, and
   * the first read of a host runs them all in one SSH round trip (see probeHost).
   */
  hostProbes: string;
  connection: Connection;
  privileged: boolean;
  /** probe, apply and remove, packed (./scriptPack). */
  scripts: string;
  /** Desired state on inputs; the state found on the host on outputs. */
  state: Record<string, unknown>;
  secretEnv: Record<string, string>;
  timeoutSeconds: number;
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

type Json = Parameters<typeof diffStates>[0];

/** A connection as states written before the login left the state recorded it (issue 12). */
type RecordedConnection = Connection & { privateKey?: string };

/**
 * How this provider process logs in (configure: the stack config and the CLI's SSH_AUTH_SOCK). Unset when nothing
 * configured it (the lab tests calling these operations in process): then ssh-agent, and a key an old state recorded.
 */
let configured: LoginSources | undefined;

/**
 * The connection to run on: the login of this process (configured; a caller in the same process, such as a lab test,
 * may give its own), never the key a state recorded, which is only a last resort.
 */
function reach(recorded: RecordedConnection): Connection {
  const { privateKey: recordedKey, ...connection } = recorded;
  const login = connection.login ?? configured ?? { agentSocket: process.env.SSH_AUTH_SOCK || undefined };
  return { ...connection, login: recordedKey ? { ...login, recordedKey } : login };
}

/** The probes of every facet of the host (none in states written before hostProbes). */
function hostProbesIn(props: FacetInputs): HostProbes {
  return props.hostProbes ? unpackHostProbes(props.hostProbes) : {};
}

/**
 * A script of the facet as runParts takes it. The probe runs through sudo as the host's probes say
 * (most read as the login user even where apply needs root; without hostProbes: like apply). Pass
 * `probes` when they are unpacked already.
 */
function part(props: FacetInputs, kind: "probe" | "apply" | "remove", probes?: HostProbes) {
  const sudo = kind === "probe" ? ((probes ?? hostProbesIn(props))[props.facet]?.privileged ?? props.privileged) : props.privileged;
  return { script: unpackScripts(props.scripts)[kind], sudo, env: props.secretEnv, step: `${props.facet} ${kind}` };
}

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
async function probeHost(props: FacetInputs): Promise<Record<string, unknown>> {
  const probes = hostProbesIn(props);
  const own = part(props, "probe", probes);
  probes[props.facet] = { script: own.script, privileged: own.sudo };
  const host = poolKey(props.connection);
  const pending = pendingProbes.get(host) ?? new Map<string, PendingProbe>();
  pendingProbes.set(host, pending);
  const usable = (facet: string) => {
    const p = pending.get(facet);
    return p !== undefined && p.script === probes[facet].script && Date.now() - p.startedAt < FRESH_FOR_MS;
  };
  if (!usable(props.facet)) {
    const missing = Object.keys(probes).filter((f) => !usable(f));
    const parts = missing.map((f) => ({ script: probes[f].script, sudo: probes[f].privileged, step: `${f} probe` }));
    const run = runParts(reach(props.connection), parts, props.timeoutSeconds);
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
  return { waitSeconds: props.timeoutSeconds + KILL_GRACE_SECONDS + 10 };
}

/** Apply, then probe, in one round trip holding the host lock; fails when the host still differs. */
async function converge(props: FacetInputs): Promise<FacetOutputs> {
  forgetHost(props.connection);
  const [applied, probed] = await runParts(reach(props.connection), [part(props, "apply"), part(props, "probe")], props.timeoutSeconds, {
    lock: hostLock(props),
  });
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
  return { ...props, state: actual, lastApply: notes.join("; ") || "applied", appliedAt: new Date().toISOString() };
}

/**
 * A connection as far as it matters for a change: the host keys and revoked keys as sets of key blobs. Their order
 * (known_hosts order: another machine's ssh-keyscan, OpenSSH's UpdateHostKeys appending), which line revokes a key
 * (`where`) and where the keys were listed (`hostKeysFrom`) are for messages only.
 */
function comparableConnection(conn: Connection | JumpConnection): Record<string, unknown> {
  const { hostKeys, revokedKeys, hostKeysFrom: _messagesOnly, jump, ...rest } = conn as Connection;
  const blobs = (keys: Array<string | undefined>) =>
    [...new Set(keys.filter((k): k is string => typeof k === "string").map((k) => k.trim().split(/\s+/)[1] ?? k))].sort();
  // A connection recorded before hostKeys had one hostKey.
  const known = hostKeys ?? [(conn as unknown as { hostKey?: string }).hostKey];
  return {
    ...rest,
    hostKeys: blobs(known),
    revokedKeys: blobs((revokedKeys ?? []).map((r) => r.key)),
    ...(jump ? { jump: comparableConnection(jump) } : {}),
  };
}

/** Compares what was last seen on the host (olds.state) with what the config asks for (news.state). */
function needsUpdate(olds: FacetOutputs, news: FacetInputs): boolean {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const { privateKey: recordedKey, ...oldConnection } = olds.connection as RecordedConnection;
  const newConnection = news.connection;
  const desiredKeys = Object.keys(news.state);
  const seen = Object.fromEntries(desiredKeys.map((k) => [k, olds.state?.[k] ?? null]));
  return (
    // A state written before packed scripts and the provider loader: rewritten once,
    // by an apply that finds nothing to do, so that refreshes get the compact form and the new code.
    olds.hostProbes === undefined ||
    // Likewise a state written before appliedAt: without it, every preview would see the job's trigger unknown.
    olds.appliedAt === undefined ||
    !same(seen, news.state) ||
    !same(comparableConnection(oldConnection), comparableConnection(newConnection)) ||
    !same(unpackScripts(olds.scripts), unpackScripts(news.scripts)) ||
    olds.privileged !== news.privileged ||
    !same(Object.keys(olds.secretEnv ?? {}).sort(), Object.keys(news.secretEnv).sort()) ||
    // A state written before the login left the state (issue 12) holds the admin's private key: rewritten once.
    recordedKey !== undefined ||
    !same(olds.secretEnv, news.secretEnv)
  );
}

export const facetOperations: Required<
  Pick<pulumi.dynamic.ResourceProvider, "configure" | "diff" | "create" | "update" | "read" | "delete">
> = {
  /**
   * Called by the provider plugin's Configure (./plugin/handlers.ts) with the stack config of the mpi-hosts namespace
   * (values as strings, secrets decrypted), in the CLI's environment (SSH_AUTH_SOCK).
   */
  async configure(req: pulumi.dynamic.ConfigureRequest) {
    configured = loginSourcesFromConfig((key) => req.config.get(key));
  },
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
    forgetHost(props.connection);
    const { script, ...options } = part(props, "remove");
    const result = await runScript(reach(props.connection), script, {
      ...options,
      timeoutSeconds: props.timeoutSeconds,
      lock: hostLock(props),
    });
    if (result.code !== 0) {
      throw new Error(`${props.host}: ${props.facet} remove failed (exit ${result.code}): ${result.stderr.trim()}`);
    }
  },
};
