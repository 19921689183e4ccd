/**
 * A facet is one piece of a host's state with three scripts: probe (prints the state as JSON,
 * changes nothing), apply (converges, idempotent, atomic) and remove (undoes exactly what apply added).
 * `desired` has the same shape as the probe's state, so comparing them is a plain data diff.
 *
 * Every facet is one FacetDefinition (this file): what it declares (name, privileges, time limit, secrets) and how it
 * renders. The component (MpiHost), the provider's inputs and review all read the definition; to add a facet, copy
 * one (components/facets/hostfile.ts is the smallest) and list it in ./index.ts (docs/architecture.md).
 */
import * as crypto from "crypto";
import { Cluster, Host } from "../config/types";

export type StateValue = string | number | boolean | null | StateValue[] | { [key: string]: StateValue };
export type FacetState = { [key: string]: StateValue };

export interface FacetScripts {
  probe: string;
  apply: string;
  remove: string;
}

/** What a facet's render makes of its inputs. */
export interface FacetRender {
  desired: FacetState;
  /** Files for review, by a short name (what the scripts write on the host). */
  files: Record<string, string>;
  scripts: FacetScripts;
}

/** A facet rendered for one host: its render and what its definition declares, as the component and review take them. */
export interface RenderedFacet extends FacetRender {
  facet: string;
  host: string;
  /** The declared inputs it was rendered from (what a Facet records instead of the scripts). */
  inputs: { host: string };
  /** Apply and remove run through `sudo -n` (system paths, firewall, packages). */
  privileged: boolean;
  /**
   * The probe runs through `sudo -n` too: only where reading needs root (the firewall). Every other
   * probe runs as the login user, which is also whose view of the host MPI jobs get, and saves a
   * sudo (its PAM session) per host and refresh.
   */
  probePrivileged: boolean;
  /** How long one step (probe, apply + probe, remove) may take on the host. */
  timeoutSeconds: number;
  /** Names of secret values the scripts read from the environment (supplied at run time, never rendered). */
  secretEnv: string[];
}

export interface FacetContext {
  cluster: Cluster;
  host: Host;
  /** The cluster identity's public key ("ssh-ed25519 AAAA... comment"); a placeholder before the first `pulumi up`. */
  clusterPublicKey: string;
}

/** What most facets' steps may take; a facet that installs software declares more. */
export const FACET_TIMEOUT_SECONDS = 120;

/**
 * One facet, declared once. `inputs` picks from the config what the facet depends on, as plain JSON data (it must
 * survive JSON.stringify unchanged); `render` is a pure function of those inputs. So the same render can run wherever
 * the inputs are, the provider plugin included (issue 15: probe and remove rendered from a facet's declared inputs).
 */
export interface FacetDefinition<Inputs = unknown> {
  /** The facet's name: its resource's name suffix (HOST-NAME) and its key in the state; never renamed. */
  name: string;
  /** Whether this host gets the facet at all (e.g. no prefix link for distro packages). */
  appliesTo(cluster: Cluster, host: Host): boolean;
  /** Apply and remove run through `sudo -n`; a function where the inputs decide (python: distro packages). */
  privileged: boolean | ((inputs: Inputs) => boolean);
  /** The probe runs through `sudo -n` too (see RenderedFacet.probePrivileged). */
  probePrivileged: boolean;
  timeoutSeconds: number;
  /** Names of the secret values the scripts read from the environment; MpiHost supplies each at run time. */
  secretEnv: readonly string[];
  /** What render reads: the host's name and the config values the facet depends on, nothing more. */
  inputs(ctx: FacetContext): Inputs & { host: string };
  /**
   * The JSON schema `inputs` always satisfies (a $ref into schemas/facetInputs.schema.json, ./inputSchemas.ts): the
   * provider plugin renders from inputs read back from a state only once they pass it (issue 15, item 3).
   */
  inputSchema: object;
  /**
   * The smallest valid inputs that render the same probe (default: the inputs themselves). Every facet of a host
   * records these of all its host's facets (`hostFacets`), so the first read of a refresh runs every probe of the
   * host in one round trip; what grows with the number of hosts stays out of them (facet.test.ts checks both).
   */
  probeInputs?(inputs: Inputs & { host: string }): Inputs & { host: string };
  render(inputs: Inputs & { host: string }): FacetRender;
}

/** Declares a facet; the type of its inputs is inferred from `inputs`. */
export function defineFacet<Inputs>(definition: FacetDefinition<Inputs>): FacetDefinition<Inputs> {
  return definition;
}

/** The facet rendered for the context's host, with what its definition declares. */
export function renderFacet<Inputs>(definition: FacetDefinition<Inputs>, ctx: FacetContext): RenderedFacet {
  return renderFromInputs(definition, definition.inputs(ctx));
}

/** The facet rendered from its declared inputs alone (what `inputs` made, or the same data read back from JSON). */
export function renderFromInputs<Inputs>(definition: FacetDefinition<Inputs>, inputs: Inputs & { host: string }): RenderedFacet {
  const { desired, files, scripts } = definition.render(inputs);
  const { privileged } = definition;
  return {
    facet: definition.name,
    host: inputs.host,
    inputs,
    privileged: typeof privileged === "function" ? privileged(inputs) : privileged,
    probePrivileged: definition.probePrivileged,
    timeoutSeconds: definition.timeoutSeconds,
    desired,
    files,
    scripts,
    secretEnv: [...definition.secretEnv],
  };
}

/** The inputs that render the facet's probe (FacetDefinition.probeInputs). */
export function probeInputsOf<Inputs>(definition: FacetDefinition<Inputs>, inputs: Inputs & { host: string }): Inputs & { host: string } {
  return definition.probeInputs ? definition.probeInputs(inputs) : inputs;
}

/**
 * What a Facet records instead of its scripts: a digest of everything the installed code makes of its inputs (the
 * three scripts, privileges, time limit, secret names). A new mpi-hosts that renders differently is then an update,
 * and the plugin's Check refuses a program that renders otherwise than the plugin does.
 */
export function scriptsDigest(f: RenderedFacet): string {
  const { probe, apply, remove } = f.scripts;
  const canonical = JSON.stringify({
    probe,
    apply,
    remove,
    privileged: f.privileged,
    probePrivileged: f.probePrivileged,
    timeoutSeconds: f.timeoutSeconds,
    secretEnv: f.secretEnv,
  });
  return `sha256:${crypto.createHash("sha256").update(canonical, "utf8").digest("hex")}`;
}

/** The first line of every whole file mpi-hosts writes on a host; remove deletes only files that carry HEADER_MARK. */
export const HEADER_MARK = "managed by mpi-hosts";
export const HEADER = `# ${HEADER_MARK}: generated from the stack config; edits here are reported as drift and undone`;
/** The lines around every block mpi-hosts keeps in a file that is not its own (~/.ssh/config, ~/.bashrc, pf.conf...). */
export const BLOCK_BEGIN = "# BEGIN mpi-hosts managed block";
export const BLOCK_END = "# END mpi-hosts managed block";

/** A managed block as the probe prints it: markers included, final newline included. */
export function managedBlock(body: string): string {
  return `${BLOCK_BEGIN}\n${body.replace(/\n+$/, "")}\n${BLOCK_END}\n`;
}

/** The markers as every script's template sees them (templates/_lib/lib.sh.hbs: mh_begin, mh_end, mh_owned_remove). */
export const SCRIPT_MARKERS = { headerMark: HEADER_MARK, blockBegin: BLOCK_BEGIN, blockEnd: BLOCK_END };
