/**
 * The Facet resource, served by the mpi-hosts provider plugin (./plugin, pulumi-resource-mpi-hosts), and the facet
 * operations for callers in this process (the lab tests drive them without the engine).
 *
 * A plain CustomResource of the package `mpi-hosts`: the state records the type and the plugin version, no code
 * (a dynamic resource recorded its provider's code, which refresh and destroy then ran; issue 15).
 */
import * as pulumi from "@pulumi/pulumi";
import { facetOperations } from "./facetOperations";
import type { FacetInputs, FacetOutputs } from "./facetOperations";
import { DYNAMIC_FACET_TYPE, FACET_TYPE, PROVIDER_VERSION } from "./resourceTypes";

export type { FacetInputs, FacetOutputs } from "./facetOperations";

/** What the plugin runs for a Facet, in this process (configure, diff, create, update, read, delete). */
export const facetProvider = facetOperations;

export type FacetResourceArgs = { [K in keyof FacetInputs]: pulumi.Input<FacetInputs[K]> };

/** One facet of one host. */
export class Facet extends pulumi.CustomResource {
  declare readonly state: pulumi.Output<FacetOutputs["state"]>;
  declare readonly lastApply: pulumi.Output<string>;
  /** When apply last ran on the host (see FacetOutputs.appliedAt); unknown in a preview that will apply. */
  declare readonly appliedAt: pulumi.Output<string | undefined>;

  constructor(name: string, args: FacetResourceArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      FACET_TYPE,
      name,
      { ...args, lastApply: undefined, appliedAt: undefined },
      // The connection holds no credential (issue 12): only the secret environment is secret (the plugin says so too).
      {
        ...opts,
        version: PROVIDER_VERSION,
        additionalSecretOutputs: ["secretEnv"],
        aliases: [...(opts?.aliases ?? []), { type: DYNAMIC_FACET_TYPE }],
      },
    );
  }
}
