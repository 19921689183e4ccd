/**
 * Every facet, in the order they are applied on a host: software first, then what uses it;
 * the firewall opens ports only once MPI is configured to use exactly those.
 */
import { Cluster, Host } from "../config/types";
import { clusterTrust } from "./clusterTrust";
import { FacetDefinition, RenderedFacet } from "./facet";
import { firewall } from "./firewall";
import { hostfile } from "./hostfile";
import { mcaParams } from "./mcaParams";
import { prefixLink } from "./prefixLink";
import { python } from "./python";
import { sshConfig } from "./sshConfig";

export const facets: FacetDefinition[] = [python, prefixLink, sshConfig, clusterTrust, mcaParams, firewall, hostfile];

/** Stands in for the cluster key before the first `pulumi up` creates it (render for review). */
export const CLUSTER_KEY_PLACEHOLDER = "ssh-ed25519 CLUSTER-KEY-CREATED-BY-PULUMI-UP mpi-hosts cluster";

/**
 * The placeholder with the declared key generation (ssh.clusterKeyRotation) as its comment: a rotation then shows in
 * review as a change of every host's clusterTrust files (authorized_keys block, public key, scripts).
 */
export function clusterKeyPlaceholder(cluster: Cluster): string {
  return `${CLUSTER_KEY_PLACEHOLDER}, key generation ${cluster.ssh.clusterKeyRotation}`;
}

/** The names of the host's facets, in apply order (without rendering them). */
export function facetNames(cluster: Cluster, host: Host): string[] {
  return facets.filter((f) => f.appliesTo(cluster, host)).map((f) => f.name);
}

export function renderHost(cluster: Cluster, host: Host, clusterPublicKey: string): RenderedFacet[] {
  return facets.filter((f) => f.appliesTo(cluster, host)).map((f) => f.render({ cluster, host, clusterPublicKey }));
}
