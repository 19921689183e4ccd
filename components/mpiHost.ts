/**
 * MpiHost: one host and its facets, applied in order (each facet waits for the one before). Each facet's resource
 * records the facet's declared inputs (FacetDefinition.inputs), its host's probe inputs, the desired state and a
 * digest of the scripts, never a script: the provider plugin renders them itself (components/provider/facetRecord.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { ClusterPlan, clusterValueOf } from "./clusterInputs";
import { Cluster, Host } from "./config/types";
import { CLUSTER_KEY_PLACEHOLDER, facetsOf } from "./facets/index";
import { CLUSTER_KEY_ENV } from "./facets/clusterTrust";
import { Facet } from "./provider/facetProvider";
import { FacetInputs, facetRecord } from "./provider/facetRecord";
import { hostConnection } from "./provider/hostConnection";
import { FACET_STATE_FORMAT } from "./provider/resourceTypes";

export interface MpiHostArgs {
  cluster: Cluster;
  host: Host;
  clusterPublicKey: pulumi.Input<string>;
  clusterPrivateKey: pulumi.Input<string>;
  /**
   * When a host value of the cluster is known only at apply (MpiCluster from a config with Outputs, clusterInputs.ts):
   * `cluster` then holds placeholders (variant "a"), `other` the same with other placeholders, `atApply` the real
   * cluster, checked. Every facet waits for `atApply`, so a config error found at apply stops all of them.
   */
  plan?: Pick<ClusterPlan, "other" | "atApply">;
}

export interface HostSummary {
  address: string;
  port: number;
  os: string;
  slots: number;
  /** What the last apply of each facet said. */
  facets: Record<string, string>;
}

export class MpiHost extends pulumi.ComponentResource {
  readonly facets: Facet[] = [];
  /** Desired state of every facet, for the verification job's trigger. */
  readonly desired: pulumi.Output<Record<string, unknown>>;
  /** When each facet's apply last ran, by facet name: the job's other trigger (one entry each, so a preview names the facet). */
  readonly appliedAt: Record<string, pulumi.Output<string | undefined>> = {};
  readonly summary: pulumi.Output<HostSummary>;

  constructor(name: string, args: MpiHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mpi-hosts:index:MpiHost", name, {}, opts);
    const { cluster, host } = args;
    const other = args.plan?.other ?? cluster;
    const atApply = args.plan?.atApply;
    const hostIn = (c: Cluster): Host => c.hosts.find((h) => h.name === host.name)!;
    // The facet list does not depend on the key, nor on a host value known only at apply (none of address, port, user,
    // host key picks a facet), so resources can be declared before they are known.
    const definitions = facetsOf(cluster, host);
    const valueOf = clusterValueOf({ cluster, other, atApply });
    // How to reach the host, and as whom; no credential: the provider logs in with what its machine has (configure).
    const connection = valueOf((c) => hostConnection(c, hostIn(c)));
    /** Every facet's record (without its secrets) as the plugin will render it, for a given cluster and cluster key. */
    const recordsFor = (c: Cluster, clusterPublicKey: string): FacetInputs[] => {
      const h = hostIn(c);
      const declared = definitions.map((definition) => ({
        definition,
        inputs: definition.inputs({ cluster: c, host: h, clusterPublicKey }),
      }));
      return declared.map((d) => facetRecord({ ...d, host: declared, connection: hostConnection(c, h), secretEnv: {} }));
    };
    const records = atApply
      ? // Not pulumi.all([atApply, key]): it would walk the whole cluster for Outputs, where there are none.
        atApply.apply((c) => pulumi.output(args.clusterPublicKey).apply((key) => recordsFor(c, key)))
      : pulumi.output(args.clusterPublicKey).apply((key) => recordsFor(cluster, key));
    // What does not change with the cluster key is declared as plain data, known before the key is: a preview that
    // replaces the key (a rotation, ssh.clusterKeyRotation) then shows only the facets that hold it as updates, and
    // every other facet unchanged. Told apart by rendering with two different keys (and, for a value known only at
    // apply, two different placeholders: what depends on it shows as unknown in a preview).
    const [keyA, keyB] = [recordsFor(cluster, CLUSTER_KEY_PLACEHOLDER), recordsFor(other, "ssh-ed25519 ANOTHER-CLUSTER-KEY other")];
    const keyFree = <T>(of: (all: FacetInputs[]) => T): pulumi.Output<T> =>
      (JSON.stringify(of(keyA)) === JSON.stringify(of(keyB)) ? pulumi.output(of(keyA)) : records.apply(of)) as pulumi.Output<T>;
    // The value of each secret a facet may declare (FacetDefinition.secretEnv), known only once the key exists.
    const secretValues: Record<string, pulumi.Input<string>> = { [CLUSTER_KEY_ENV]: args.clusterPrivateKey };
    let previous: Facet | undefined;
    const lastApply: Record<string, pulumi.Output<string>> = {};
    for (const definition of definitions) {
      const facetName = definition.name;
      const field = <K extends keyof FacetInputs>(key: K) => keyFree((all) => all.find((r) => r.facet === facetName)![key]);
      // Only a facet that declares a secret waits for it (the private key: for clusterTrust alone).
      const secretEnv = pulumi.secret(secretEnvOf(definition.secretEnv, secretValues, `${host.name} ${facetName}`));
      const resource: Facet = new Facet(
        `${name}-${facetName}`,
        {
          format: FACET_STATE_FORMAT,
          host: host.name,
          facet: facetName,
          inputs: field("inputs"),
          // Every facet carries them: the first read of a refresh runs every probe of the host (one round trip).
          hostFacets: field("hostFacets"),
          connection,
          state: field("state"),
          scriptsDigest: field("scriptsDigest"),
          secretEnv,
        },
        { parent: this, dependsOn: waitFor(atApply, previous ? [previous] : []) },
      );
      this.facets.push(resource);
      this.appliedAt[facetName] = resource.appliedAt;
      lastApply[facetName] = resource.lastApply;
      previous = resource;
    }
    this.desired = records.apply((all) => Object.fromEntries(all.map((r) => [r.facet, r.state])));
    const [address, port] = [valueOf((c) => hostIn(c).address), valueOf((c) => hostIn(c).port)];
    this.summary = pulumi.all([pulumi.all(lastApply), address, port]).apply(([notes, address, port]): HostSummary => ({
      address,
      port,
      os: host.os,
      slots: host.slots,
      facets: Object.fromEntries(Object.entries(notes).map(([facet, note]) => [facet, note ?? "pending"])),
    }));
    this.registerOutputs({ summary: this.summary });
  }
}

/**
 * A facet's dependencies, which, when the cluster has values known only at apply, resolve once it is checked: a config
 * error found at apply fails every facet's registration before any facet runs (at preview, an unknown cluster leaves
 * just the listed ones). A plain list otherwise, as the state has always recorded it.
 */
function waitFor(atApply: pulumi.Output<Cluster> | undefined, dependsOn: pulumi.Resource[]): pulumi.Input<pulumi.Input<pulumi.Resource>[]> {
  return atApply ? atApply.apply(() => dependsOn) : dependsOn;
}

/** The secret environment of a facet: each name it declares with its value (an empty map, known at once, for none). */
function secretEnvOf(
  names: readonly string[],
  values: Record<string, pulumi.Input<string>>,
  facet: string,
): pulumi.Output<Record<string, string>> {
  if (names.length === 0) return pulumi.output<Record<string, string>>({});
  const missing = names.filter((n) => !(n in values));
  if (missing.length) {
    throw new Error(
      `${facet}: the facet declares secret ${missing.join(", ")}, which MpiHost does not supply (it supplies ${Object.keys(values).join(", ")}); add its value to secretValues in components/mpiHost.ts`,
    );
  }
  return pulumi.all(Object.fromEntries(names.map((n) => [n, values[n]]))) as pulumi.Output<Record<string, string>>;
}
