/**
 * A facet is one piece of a host's state with three scripts: probe (prints the state as JSON,
 * changes nothing), apply (converges, idempotent, atomic) and remove (undoes exactly what apply added).
 * `desired` has the same shape as the probe's state, so comparing them is a plain data diff.
 */
import { Cluster, Host } from "../config/types";

export type StateValue = string | number | boolean | null | StateValue[] | { [key: string]: StateValue };
export type FacetState = { [key: string]: StateValue };

export interface RenderedFacet {
  facet: string;
  host: string;
  /** Apply and remove run through `sudo -n` (system paths, firewall, packages). */
  privileged: boolean;
  /**
   * The probe runs through `sudo -n` too: only where reading needs root (the firewall). Every other
   * probe runs as the login user, which is also whose view of the host MPI jobs get, and saves a
   * sudo (its PAM session) per host and refresh.
   */
  probePrivileged: boolean;
  desired: FacetState;
  /** Files for review, by a short name (what the scripts write on the host). */
  files: Record<string, string>;
  scripts: { probe: string; apply: string; remove: string };
  /** Names of secret values the scripts read from the environment (supplied at run time, never rendered). */
  secretEnv: string[];
}

export interface FacetContext {
  cluster: Cluster;
  host: Host;
  /** The cluster identity's public key ("ssh-ed25519 AAAA... comment"); a placeholder before the first `pulumi up`. */
  clusterPublicKey: string;
}

export interface FacetDefinition {
  name: string;
  /** Whether this host gets the facet at all (e.g. no prefix link for distro packages). */
  appliesTo(cluster: Cluster, host: Host): boolean;
  render(ctx: FacetContext): RenderedFacet;
}

export const HEADER = "# managed by mpi-hosts: generated from the stack config; edits here are reported as drift and undone";
export const BLOCK_BEGIN = "# BEGIN mpi-hosts managed block";
export const BLOCK_END = "# END mpi-hosts managed block";

/** A managed block as the probe prints it: markers included, final newline included. */
export function managedBlock(body: string): string {
  return `${BLOCK_BEGIN}\n${body.replace(/\n+$/, "")}\n${BLOCK_END}\n`;
}
