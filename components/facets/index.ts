/**
 * Every facet, in the order they are applied on a host: software first, then what uses it;
 * the firewall opens ports only once MPI is configured to use exactly those.
 */
import { Cluster, Host } from "../config/types";
import { CLUSTER_KEY_PLACEHOLDER, clusterTrust } from "./clusterTrust";
import { FacetDefinition, RenderedFacet, renderFacet } from "./facet";
import { firewall } from "./firewall";
import { hostfile } from "./hostfile";
import { mcaParams } from "./mcaParams";
import { prefixLink } from "./prefixLink";
import { python } from "./python";
import { sshConfig } from "./sshConfig";

/** A facet definition whatever its inputs' type: each one's render takes only what its own `inputs` made. */
export type AnyFacetDefinition = FacetDefinition<any>;

export const facets: AnyFacetDefinition[] = [python, prefixLink, sshConfig, clusterTrust, mcaParams, firewall, hostfile];

export { CLUSTER_KEY_PLACEHOLDER } from "./clusterTrust";

/**
 * The placeholder with the declared key generation (ssh.clusterKeyRotation) as its comment: a rotation then shows in
 * review as a change of every host's clusterTrust files (authorized_keys block, public key, scripts).
 */
export function clusterKeyPlaceholder(cluster: Cluster): string {
  return `${CLUSTER_KEY_PLACEHOLDER}, key generation ${cluster.ssh.clusterKeyRotation}`;
}

/** The definitions of the host's facets, in apply order (what MpiHost declares before anything is rendered). */
export function facetsOf(cluster: Cluster, host: Host): AnyFacetDefinition[] {
  return facets.filter((f) => f.appliesTo(cluster, host));
}

/** The names of the host's facets, in apply order (without rendering them). */
export function facetNames(cluster: Cluster, host: Host): string[] {
  return facetsOf(cluster, host).map((f) => f.name);
}

export function renderHost(cluster: Cluster, host: Host, clusterPublicKey: string): RenderedFacet[] {
  return facetsOf(cluster, host).map((f) => renderFacet(f, { cluster, host, clusterPublicKey }));
}

/** The definition of the facet named `name`; undefined for a name mpi-hosts has no facet of. */
export function definitionOf(name: string): AnyFacetDefinition | undefined {
  return facets.find((f) => f.name === name);
}
