/**
 * A cluster config from a Pulumi program, whose hosts' address, port, user and hostKey may be `pulumi.Input`s: the
 * output of another resource of the same program (a cloud VM's IP address, the port it maps, its host key).
 *
 * The loader and its rules (components/config/load.ts) run on plain values only, so they run twice:
 * - when the program declares its resources, on the config with every value that is not plain yet replaced by a
 *   placeholder chosen to pass every rule: every rule about the known values runs then, at preview too;
 * - once every value is known (at apply, or at preview when the values are known then), on the real values: a
 *   problem then fails the Output the facets wait for (MpiHost), with the same text naming the field, before any
 *   facet runs on any host.
 * Which parts of a facet depend on a value known only at apply is told apart by loading with two different
 * placeholders (variants "a" and "b"): what comes out the same is plain data, known at preview; the rest comes from the
 * Output and shows as unknown (`output<string>`) in a preview.
 */
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { knownHostsName } from "./config/knownHosts";
import { ConfigError, expandHome, formatProblems, GLOBAL_KNOWN_HOSTS, loadCluster, LoadOptions, LoadResult } from "./config/load";
import { RawConfig } from "./config/rawConfig";
import { Cluster, ConfigProblem } from "./config/types";

/** The host fields a program may give as `pulumi.Input`s. */
export const INPUT_HOST_FIELDS = ["address", "port", "user", "hostKey"] as const;
export type InputHostField = (typeof INPUT_HOST_FIELDS)[number];

type RawHost = RawConfig["hosts"][number];

/** A host of `mpi-hosts:hosts` as a program gives it: the stack file's shape, with address, port, user and hostKey as Inputs. */
export type HostConfig = Omit<RawHost, InputHostField | "slots"> & {
  slots?: number;
  address?: pulumi.Input<string>;
  port?: pulumi.Input<number>;
  user?: pulumi.Input<string>;
  hostKey?: pulumi.Input<string> | pulumi.Input<string[]>;
};

/**
 * The `mpi-hosts:*` config as a program gives it (the keys of a stack file without the namespace, defaults left to the
 * loader), whose hosts may hold Inputs.
 */
export type ClusterConfig = { hosts: HostConfig[] } & Record<string, unknown>;

/** A host value that is not plain yet: where it sits, and the Input that gives it. */
export interface DeferredValue {
  index: number;
  field: InputHostField;
  /** The field as messages name it: hosts[2].address. */
  name: string;
  value: pulumi.Input<unknown>;
}

function isPlain(value: unknown): boolean {
  if (pulumi.Output.isInstance(value) || value instanceof Promise) return false;
  return Array.isArray(value) ? value.every(isPlain) : true;
}

/** Every host value of the config that is an Output or a Promise (not plain data), in host and field order. */
export function deferredValues(config: ClusterConfig): DeferredValue[] {
  return (config.hosts ?? []).flatMap((host, index) =>
    INPUT_HOST_FIELDS.filter((field) => host[field] !== undefined && !isPlain(host[field])).map((field) => ({
      index,
      field,
      name: `hosts[${index}].${field}`,
      value: host[field] as pulumi.Input<unknown>,
    })),
  );
}

export type Variant = "a" | "b";

/**
 * A plain stand-in for a value known only at apply, which passes every rule by itself (a name under .invalid, which
 * no rule reads as an IPv4 address; a port below 1024, which no MPI port range may contain; a well-formed key) and
 * differs between the two variants and from host to host. The same text marks the value in a render (renderCluster).
 */
export function placeholderOf(d: Pick<DeferredValue, "index" | "field">, variant: Variant): unknown {
  switch (d.field) {
    case "address":
      return `known-at-apply-${variant}.hosts-${d.index}-address.invalid`;
    case "port":
      // Distinct for the first 200 hosts (beyond, a render may name the wrong host's port; the apply is unaffected).
      return (variant === "a" ? 620 : 820) + (d.index % 200);
    case "user":
      return `known-at-apply-${variant}-hosts-${d.index}-user`;
    case "hostKey":
      return `ssh-ed25519 KnownAtApply${variant}hosts${d.index}hostKey`;
  }
}

/** The config with each deferred value replaced by `valueOf(it)`: plain data for the loader. */
export function substitute(
  config: ClusterConfig,
  deferred: DeferredValue[],
  valueOf: (d: DeferredValue, i: number) => unknown,
): Record<string, unknown> {
  const hosts = config.hosts.map((h) => ({ ...h }) as Record<string, unknown>);
  deferred.forEach((d, i) => (hosts[d.index][d.field] = valueOf(d, i)));
  return { ...config, hosts };
}

/**
 * The loader's options for a placeholder variant: a host whose address or port is deferred and whose key is not pinned
 * has its keys looked up in known_hosts, at apply under its real name; meanwhile the placeholder name is listed there
 * with the placeholder key, so that the lookup (and where its keys come from) runs the same way.
 */
function placeholderOptions(config: ClusterConfig, deferred: DeferredValue[], variant: Variant, options: LoadOptions): LoadOptions {
  const ssh = (config.ssh ?? {}) as { knownHostsPath?: string };
  const lines = config.hosts.flatMap((host, index) => {
    const of = (field: InputHostField) => deferred.find((d) => d.index === index && d.field === field);
    if (host.hostKey !== undefined || (!of("address") && !of("port"))) return [];
    const key = placeholderOf({ index, field: "hostKey" }, variant) as string;
    if (of("address")) {
      // Any port: the loader may take the port from the user's ssh config (ssh -G), which this cannot foresee.
      const address = placeholderOf({ index, field: "address" }, variant) as string;
      return [`${address},[${address}]:* ${key}\n`];
    }
    const port = placeholderOf({ index, field: "port" }, variant) as number;
    return [`${knownHostsName(host.address as string, port)} ${key}\n`];
  });
  if (lines.length === 0) return options;
  const read = options.readKnownHosts ?? readFileOrEmpty;
  const knownHostsPath = expandHome(ssh.knownHostsPath ?? "~/.ssh/known_hosts");
  return {
    ...options,
    globalKnownHostsPaths: options.globalKnownHostsPaths ?? (options.readKnownHosts ? [] : GLOBAL_KNOWN_HOSTS),
    readKnownHosts: (file) => (file === knownHostsPath ? `${read(file)}\n${lines.join("")}` : read(file)),
  };
}

function readFileOrEmpty(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

/** The loader's result for the config with the deferred values as the placeholders of `variant`. */
export function loadWithPlaceholders(
  config: ClusterConfig,
  deferred: DeferredValue[],
  variant: Variant,
  options: LoadOptions = {},
): LoadResult {
  return loadCluster(
    substitute(config, deferred, (d) => placeholderOf(d, variant)),
    placeholderOptions(config, deferred, variant, options),
  );
}

/** The cluster of a program's config: plain, or known at apply; see the module comment. */
export interface ClusterPlan {
  /** The cluster with the deferred values as placeholders of variant "a" (the plain cluster when nothing is deferred). */
  cluster: Cluster;
  /** The same with the placeholders of variant "b", to tell what depends on a deferred value. */
  other: Cluster;
  /** The cluster with the real values, checked by the same loader; undefined when nothing is deferred. */
  atApply?: pulumi.Output<Cluster>;
  /** Problems found now (warnings: an error throws). */
  problems: ConfigProblem[];
}

/** Loads a program's config (see the module comment); throws a ConfigError for the errors found now. */
export function planCluster(config: ClusterConfig, options: LoadOptions = {}): ClusterPlan {
  const deferred = deferredValues(config);
  const load = (variant: Variant) => loadWithPlaceholders(config, deferred, variant, options);
  const a = load("a");
  if (!a.cluster || a.problems.some((p) => p.severity === "error")) throw new ConfigError(a.problems);
  if (deferred.length === 0) return { cluster: a.cluster, other: a.cluster, problems: a.problems };
  const b = load("b");
  if (!b.cluster) throw new ConfigError(b.problems);
  const shown = new Set(formatProblems(a.problems).split("\n"));
  const secrets = Promise.all(deferred.map((d) => pulumi.isSecret(pulumi.output(d.value))));
  const atApply = pulumi.all([pulumi.all(deferred.map((d) => d.value)), secrets]).apply(([values, secret]) => {
    const { cluster, problems } = loadWithValues(config, deferred, values, options, secret);
    for (const p of problems) if (!shown.has(formatProblems([p]))) void pulumi.log.warn(formatProblems([p]));
    return cluster;
  });
  return { cluster: a.cluster, other: b.cluster, atApply, problems: a.problems };
}

/**
 * A config error found at apply, which fails the Output every facet waits for and so ends the program: the loader's
 * ConfigError as a `pulumi.RunError`, which the SDK shows by its message alone (the stack file's text, naming the
 * field), and without stack frames. The SDK formats every error that ends a program with `util.inspect(err, { colors:
 * true })` (cmd/run/run.ts, also a RunError's, for its trace), and Node 20.20's inspect does not return on a frame
 * naming a file right under a scope folder (nodejs/node#64011), which the SDK's source maps make of every apply
 * callback's frame (`node_modules/@pulumi/output.ts`): it builds a string up to V8's maximum length, and `pulumi up`
 * reported the error 75-180 s late (docs/pulumi.md). Where the error was raised says nothing to whoever fixes the value.
 */
export class ConfigErrorAtApply extends pulumi.RunError {
  constructor(readonly problems: ConfigProblem[]) {
    super(new ConfigError(problems).message);
    this.name = "ConfigError";
    this.stack = `${this.name}: ${this.message}`;
  }
}

/**
 * The apply-time load: the config with the deferred values as they resolved, through the same loader; throws a
 * ConfigErrorAtApply (the stack file's messages, naming the field) on an error, which fails the Output every facet
 * waits for. The problems name no value that came from a secret Output (`secret[i]` for `values[i]`): the update log
 * and the terminal show them.
 */
export function loadWithValues(
  config: ClusterConfig,
  deferred: DeferredValue[],
  values: unknown[],
  options: LoadOptions = {},
  secret: boolean[] = [],
): { cluster: Cluster; problems: ConfigProblem[] } {
  const loaded = loadCluster(
    substitute(config, deferred, (_, i) => values[i]),
    options,
  );
  const problems = loaded.problems.map((p) => ({ ...p, path: hideSecrets(p.path), message: hideSecrets(p.message) }));
  if (!loaded.cluster) throw new ConfigErrorAtApply(problems);
  return { cluster: loaded.cluster, problems };

  function hideSecrets(text: string): string {
    return deferred.reduce((t, d, i) => {
      if (!secret[i]) return t;
      const shown = [values[i]]
        .flat()
        .map(String)
        .filter((v) => v !== "");
      return shown.reduce((u, v) => u.split(v).join(`<secret: ${d.name}>`), t);
    }, text);
  }
}

/**
 * A value of the cluster as a resource input: plain data when it does not depend on a value known only at apply (the
 * same from both variants), else the Output of it from the real cluster.
 */
export type ClusterValue = <T>(of: (cluster: Cluster) => T) => pulumi.Input<T>;

export function clusterValueOf(plan: Pick<ClusterPlan, "cluster" | "other" | "atApply">): ClusterValue {
  return <T>(of: (cluster: Cluster) => T): pulumi.Input<T> => {
    const value = of(plan.cluster);
    if (!plan.atApply || JSON.stringify(value) === JSON.stringify(of(plan.other))) return value;
    return plan.atApply.apply(of) as pulumi.Output<T>;
  };
}
