/**
 * MpiHost: one host and its facets, applied in order (each facet waits for the one before). Each facet's resource
 * takes its name, privileges, time limit and secrets from the facet's definition (components/facets/facet.ts), and
 * its scripts and desired state from the definition's render.
 */
import * as pulumi from "@pulumi/pulumi";
import { hostKeysFrom } from "./config/knownHosts";
import { jumpOf } from "./config/jump";
import { Cluster, Host } from "./config/types";
import { RenderedFacet } from "./facets/facet";
import { CLUSTER_KEY_PLACEHOLDER, facetsOf, renderHost } from "./facets/index";
import { CLUSTER_KEY_ENV } from "./facets/clusterTrust";
import { Facet } from "./provider/facetProvider";
import { Connection } from "./provider/remote";
import { hostProbesOf, packScripts } from "./provider/scriptPack";

export interface MpiHostArgs {
  cluster: Cluster;
  host: Host;
  clusterPublicKey: pulumi.Input<string>;
  clusterPrivateKey: pulumi.Input<string>;
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
    const rendered = pulumi.output(args.clusterPublicKey).apply((key) => renderHost(cluster, host, key));
    // What does not change with the cluster key is declared as plain data, known before the key is: a preview that
    // replaces the key (a rotation, ssh.clusterKeyRotation) then shows only the facets that hold it as updates, and
    // every other facet unchanged. Told apart by rendering with two different keys.
    const [keyA, keyB] = [
      renderHost(cluster, host, CLUSTER_KEY_PLACEHOLDER),
      renderHost(cluster, host, "ssh-ed25519 ANOTHER-CLUSTER-KEY other"),
    ];
    const keyFree = <T>(of: (all: RenderedFacet[]) => T): pulumi.Output<T> =>
      (JSON.stringify(of(keyA)) === JSON.stringify(of(keyB)) ? pulumi.output(of(keyA)) : rendered.apply(of)) as pulumi.Output<T>;
    // The facet list does not depend on the key, so resources can be declared before it is known.
    const definitions = facetsOf(cluster, host);
    // The value of each secret a facet may declare (FacetDefinition.secretEnv), known only once the key exists.
    const secretValues: Record<string, pulumi.Input<string>> = { [CLUSTER_KEY_ENV]: args.clusterPrivateKey };
    // How to reach the host, and as whom; no credential: the provider logs in with what its machine has (configure).
    const connection: Connection = {
      name: host.name,
      address: host.address,
      port: host.port,
      user: host.user,
      hostKeys: host.hostKeys,
      revokedKeys: host.revokedKeys,
      hostKeysFrom: hostKeysFrom(cluster, host),
      connectTimeoutSeconds: cluster.ssh.connectTimeoutSeconds,
      ...jumpOf(host),
    };
    // Every facet carries them: the first read of a refresh runs them all (one round trip per host).
    const hostProbes = keyFree(hostProbesOf);
    let previous: Facet | undefined;
    const lastApply: Record<string, pulumi.Output<string>> = {};
    for (const definition of definitions) {
      const facetName = definition.name;
      const facet = keyFree((all) => all.find((f) => f.facet === facetName) as RenderedFacet);
      // Only a facet that declares a secret waits for it (the private key: for clusterTrust alone).
      const secretEnv = pulumi.secret(secretEnvOf(definition.secretEnv, secretValues, `${host.name} ${facetName}`));
      const resource: Facet = new Facet(
        `${name}-${facetName}`,
        {
          host: host.name,
          facet: facetName,
          connection,
          privileged: facet.apply((f) => f.privileged),
          hostProbes,
          scripts: facet.apply((f) => packScripts(f.scripts)),
          state: facet.apply((f) => f.desired),
          secretEnv,
          timeoutSeconds: definition.timeoutSeconds,
        },
        { parent: this, dependsOn: previous ? [previous] : [] },
      );
      this.facets.push(resource);
      this.appliedAt[facetName] = resource.appliedAt;
      lastApply[facetName] = resource.lastApply;
      previous = resource;
    }
    this.desired = rendered.apply((all) => Object.fromEntries(all.map((f) => [f.facet, f.desired])));
    this.summary = pulumi.all(lastApply).apply((notes): HostSummary => ({
      address: host.address,
      port: host.port,
      os: host.os,
      slots: host.slots,
      facets: Object.fromEntries(Object.entries(notes).map(([facet, note]) => [facet, note ?? "pending"])),
    }));
    this.registerOutputs({ summary: this.summary });
  }
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
