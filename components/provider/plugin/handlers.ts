/**
 * What the mpi-hosts provider plugin answers to the engine, per ResourceProvider call, on plain values: property
 * maps as `Struct.toJavaScript()` gives them (a secret is `{ [SECRET_SIG_KEY]: SECRET_SIG, value }`, an unknown
 * is the UNKNOWN string). ./server wires these to gRPC; the unit tests call them in process.
 *
 * The facet operations (../facetOperations) and the cluster key's (../clusterKeyOperations) run unchanged: they get plain
 * values, and whatever came in secret goes out secret, as do the outputs that are secret by nature (the cluster's
 * private key, a facet's secret environment), whatever the program asked for.
 */
import type { FacetInputs, FacetOutputs } from "../facetOperations";
import { facetOperations } from "../facetOperations";
import { canonical, foreignKeys } from "../facetRecord";
import { clusterKeyOperations, ClusterKeyInputs } from "../clusterKeyOperations";
import { CLUSTER_KEY_TYPE, FACET_STATE_FORMAT, FACET_TYPE, PRE_PLUGIN_CODE_KEY, PROVIDER_PACKAGE } from "../resourceTypes";

/** Pulumi's wire encoding of secrets and unknowns (sdk/nodejs/runtime/rpc.ts, sdk/go/common/resource/plugin/rpc.go). */
export const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export type Props = Record<string, unknown>;

export function isSecret(v: unknown): v is { value: unknown } {
  return v !== null && typeof v === "object" && !Array.isArray(v) && (v as Props)[SECRET_SIG_KEY] === SECRET_SIG;
}

export function secret(value: unknown): Props {
  return { [SECRET_SIG_KEY]: SECRET_SIG, value };
}

function some(v: unknown, test: (x: unknown) => boolean): boolean {
  if (test(v)) return true;
  if (Array.isArray(v)) return v.some((x) => some(x, test));
  if (v !== null && typeof v === "object") return Object.values(v).some((x) => some(x, test));
  return false;
}

export function containsUnknown(v: unknown): boolean {
  return some(v, (x) => x === UNKNOWN);
}

/** The value with every secret unwrapped. */
export function plain<T = unknown>(v: unknown): T {
  if (isSecret(v)) return plain(v.value);
  if (Array.isArray(v)) return v.map((x) => plain(x)) as T;
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) as T;
  return v as T;
}

/** Top-level properties that hold a secret anywhere inside. */
function secretKeys(...maps: Props[]): Set<string> {
  const keys = new Set<string>();
  for (const m of maps) for (const [k, v] of Object.entries(m)) if (some(v, isSecret)) keys.add(k);
  return keys;
}

/** `outs` with the given properties (those present) wrapped as secrets, once. */
function withSecrets(outs: Props, keys: Iterable<string>): Props {
  const result = { ...outs };
  for (const k of keys) if (result[k] !== undefined && result[k] !== null) result[k] = secret(plain(result[k]));
  return result;
}

export interface DiffResult {
  changes: boolean;
  replaces: string[];
  deleteBeforeReplace: boolean;
  /** The inputs the engine's display shows (`pulumi preview --diff`); all of them when absent. */
  diffs?: string[];
}

/** One resource type of the plugin: its operations on plain values, and the outputs that are always secret. */
interface ResourceType {
  secretOutputs: string[];
  /** Refuses inputs the type cannot take (on plain values); absent: every input is taken as given. */
  check?(news: Props, urn: string): void;
  diff(id: string, olds: Props, news: Props): Promise<DiffResult>;
  create(inputs: Props): Promise<{ id: string; outs: Props }>;
  update(id: string, olds: Props, news: Props): Promise<Props>;
  read(id: string, props: Props): Promise<Props>;
  delete(id: string, props: Props): Promise<void>;
}

/**
 * What a facet's change shows in `pulumi preview --diff`: the readable inputs that differ (the desired state as the
 * host has it, the connection, the secret environment, the declared inputs), else the digest of the scripts (a new
 * mpi-hosts). A record of an older format, or one holding keys mpi-hosts does not write, shows as `format` (or those
 * keys): its `pulumi up` rewrites it from the program. Plain JSON only: nothing of the state is decoded.
 */
export function facetDiffs(olds: Props, news: Props): string[] {
  const json = (v: unknown) => canonical(v ?? null);
  const desired = (news.state ?? {}) as Props;
  const seen = Object.fromEntries(Object.keys(desired).map((k) => [k, (olds.state as Props | undefined)?.[k] ?? null]));
  const stateDiffers = json(seen) !== json(desired) ? ["state"] : [];
  // An old record's state is plain JSON too: the migration's preview still shows what the apply will change on the host
  // (the cluster key's record, or a key that differs from the program's).
  if (olds.format !== FACET_STATE_FORMAT) return ["format", ...stateDiffers];
  const foreign = foreignKeys(olds);
  if (foreign.length) return foreign;
  const readable = [...stateDiffers, ...["connection", "secretEnv", "inputs", "hostFacets"].filter((k) => json(olds[k]) !== json(news[k]))];
  if (readable.length) return readable;
  return ["scriptsDigest"].filter((k) => json(olds[k]) !== json(news[k]));
}

/** A resource carried over from a dynamic provider's state (aliases): updated once, so that its code leaves the state. */
const REWRITE: DiffResult = { changes: true, replaces: [], deleteBeforeReplace: false };

/**
 * The facet's properties as the engine sent them, without a `connection.login`: how to log in comes from this process
 * (Configure, SSH_AUTH_SOCK), never from a state. Only the in-process lab tests pass a login, to facetOperations itself.
 */
function fromEngine(props: Props): Props {
  const connection = props.connection;
  if (typeof connection !== "object" || connection === null || !("login" in connection)) return props;
  const { login: _login, ...rest } = connection as Record<string, unknown>;
  return { ...props, connection: rest };
}

const facet: ResourceType = {
  secretOutputs: ["secretEnv"],
  // Inputs with unknowns (a preview before the cluster key exists) are checked again once known, at the update.
  check(news) {
    if (!containsUnknown(news)) facetOperations.check(news);
  },
  async diff(id, olds, news) {
    // An unknown input (the cluster key of a first `up` or a rotation, in a preview) is a change to come.
    if (containsUnknown(news) || PRE_PLUGIN_CODE_KEY in olds) return REWRITE;
    const r = await facetOperations.diff(id, olds as unknown as FacetOutputs, news as unknown as FacetInputs);
    const changes = r.changes === true;
    return {
      changes,
      replaces: r.replaces ?? [],
      deleteBeforeReplace: r.deleteBeforeReplace === true,
      ...(changes ? { diffs: facetDiffs(olds, news) } : {}),
    };
  },
  async create(inputs) {
    const r = await facetOperations.create(fromEngine(inputs) as unknown as FacetInputs);
    return { id: r.id, outs: r.outs as Props };
  },
  async update(id, olds, news) {
    const r = await facetOperations.update(id, fromEngine(olds) as unknown as FacetOutputs, fromEngine(news) as unknown as FacetInputs);
    return r.outs as Props;
  },
  async read(id, props) {
    const r = await facetOperations.read(id, fromEngine(props) as unknown as FacetOutputs);
    return r.props as Props;
  },
  async delete(id, props) {
    await facetOperations.delete(id, fromEngine(props) as unknown as FacetOutputs);
  },
};

const clusterKey: ResourceType = {
  secretOutputs: ["privateKey"],
  check(news, urn) {
    clusterKeyOperations.check(news, urn.split("::").pop() ?? urn);
  },
  async diff(id, olds, news) {
    const r = await clusterKeyOperations.diff(id, olds, news as unknown as ClusterKeyInputs);
    if (!r.changes && PRE_PLUGIN_CODE_KEY in olds) return REWRITE;
    return { ...r, deleteBeforeReplace: false };
  },
  async create(inputs) {
    const r = await clusterKeyOperations.create(inputs as unknown as ClusterKeyInputs);
    return { id: r.id, outs: { ...r.outs } };
  },
  // Only a pair carried over from a dynamic provider's state is updated (a new rotation replaces): the same pair, without
  // that provider's code.
  async update(_id, olds, news) {
    const { [PRE_PLUGIN_CODE_KEY]: _code, ...kept } = olds;
    return { ...kept, ...news, publicKey: olds.publicKey, privateKey: olds.privateKey };
  },
  async read(id, props) {
    return clusterKeyOperations.read(id, props);
  },
  async delete() {},
};

const TYPES: Record<string, ResourceType> = { [FACET_TYPE]: facet, [CLUSTER_KEY_TYPE]: clusterKey };

/** The resource's type from its URN (`urn:pulumi:stack::project::[parent types$]type::name`). */
export function typeOfUrn(urn: string): string {
  return (urn.split("::")[2] ?? "").split("$").pop() ?? "";
}

function typeFor(urn: string): ResourceType {
  const type = typeOfUrn(urn);
  const t = TYPES[type];
  if (!t) throw new Error(`pulumi-resource-mpi-hosts: unknown resource type ${type} (${urn}); it serves ${Object.keys(TYPES).join(", ")}`);
  return t;
}

/** The outputs as the engine should record them: secret what came in secret and what is secret by nature. */
function recorded(t: ResourceType, outs: Props, ...inputs: Props[]): Props {
  return withSecrets(outs, [...secretKeys(...inputs), ...t.secretOutputs]);
}

/** The config keys the engine sends in Configure's `variables`: `mpi-hosts:config:<key>` (provider_plugin.go). */
const VARIABLE_PREFIX = `${PROVIDER_PACKAGE}:config:`;

export const handlers = {
  /**
   * The engine's default provider gets the stack config of our namespace (deploy/target.go GetPackageConfig) and
   * sends it in `variables` as strings (objects as JSON, secrets decrypted): read as `mpi-hosts:<key>`, the keys
   * loginSourcesFromConfig reads, exactly as the dynamic provider's configure got them.
   */
  async configure(variables: Record<string, string>): Promise<void> {
    const config: Record<string, string> = {};
    for (const [k, v] of Object.entries(variables)) {
      if (k.startsWith(VARIABLE_PREFIX)) config[`${PROVIDER_PACKAGE}:${k.slice(VARIABLE_PREFIX.length)}`] = v;
    }
    const get = (key: string) => config[key];
    await facetOperations.configure({ config: { get, require: get } } as Parameters<typeof facetOperations.configure>[0]);
  },

  /** The config as given: every key is optional, and the values are checked where they are used (the program). */
  async checkConfig(news: Props): Promise<Props> {
    return news;
  },

  /**
   * A changed config (another key file, a new passphrase) changes how we log in, never what a resource is: never a
   * replacement, which would replace every facet (step_generator.go providerChanged).
   */
  async diffConfig(olds: Props, news: Props): Promise<DiffResult> {
    const canonical = (m: Props) => JSON.stringify(Object.entries(plain<Props>(m)).sort(([a], [b]) => a.localeCompare(b)));
    return { changes: canonical(olds) !== canonical(news), replaces: [], deleteBeforeReplace: false };
  },

  /** The inputs as given, once the resource type accepted them (a Facet: its schemas, and the plugin's own render). */
  async check(urn: string, news: Props): Promise<Props> {
    typeFor(urn).check?.(plain(news), urn);
    return news;
  },

  async diff(urn: string, id: string, olds: Props, news: Props): Promise<DiffResult> {
    return typeFor(urn).diff(id, plain(olds), plain(news));
  },

  async create(urn: string, inputs: Props): Promise<{ id: string; outs: Props }> {
    const t = typeFor(urn);
    const r = await t.create(plain(inputs));
    return { id: r.id, outs: recorded(t, r.outs, inputs) };
  },

  async update(urn: string, id: string, olds: Props, news: Props): Promise<Props> {
    const t = typeFor(urn);
    return recorded(t, await t.update(id, plain(olds), plain(news)), news);
  },

  async read(urn: string, id: string, props: Props): Promise<Props> {
    const t = typeFor(urn);
    return recorded(t, await t.read(id, plain(props)), props);
  },

  async delete(urn: string, id: string, props: Props): Promise<void> {
    await typeFor(urn).delete(id, plain(props));
  },
};
