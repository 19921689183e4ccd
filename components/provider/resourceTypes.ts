/**
 * The resource types of the mpi-hosts provider plugin (pulumi-resource-mpi-hosts), as the program registers them
 * and the state records them. One place, read by the program, the plugin, `mpi-hosts drift` and the tests.
 */

/** The plugin's package: the engine gives its default provider the stack config of this namespace (`mpi-hosts:*`). */
export const PROVIDER_PACKAGE = "mpi-hosts";

/**
 * The plugin version the program asks for (registered with every resource, recorded as the default provider's
 * `version`): `mpi-hosts plugin install` (and scripts/install-plugin.sh) installs the plugin as this version. Pinned, not
 * the package.json version: a new one would make the engine create a second default provider and look for the old
 * plugin to refresh an older state (docs/plans/issue15-item3.md 4.4); the state's shape is versioned by
 * FACET_STATE_FORMAT.
 */
export const PROVIDER_VERSION = "0.1.0";

export const FACET_TYPE = "mpi-hosts:index:Facet";
/**
 * The shape of a Facet record (components/provider/facetRecord.ts). 2: declared inputs, no scripts (issue 15, item 3);
 * absent: format 1, scripts in the state, refused on refresh and destroy until a `pulumi up` rewrites it.
 */
export const FACET_STATE_FORMAT = 2;
export const CLUSTER_KEY_TYPE = "mpi-hosts:index:ClusterKey";
/** The verification job (issue 15, R4): before, a command:remote:Command of @pulumi/command. */
export const VERIFICATION_JOB_TYPE = "mpi-hosts:index:VerificationJob";

/**
 * The types these resources had as Pulumi dynamic resources (before issue 15), as aliases: the first `pulumi up` of a
 * state written then carries every resource over to its new type without replacing it (the new provider's DiffConfig
 * never asks for a replacement, pkg/resource/deploy/step_generator.go providerChanged), and rewrites it without the
 * dynamic provider's code (PRE_PLUGIN_CODE_KEY).
 */
export const DYNAMIC_FACET_TYPE = "pulumi-nodejs:dynamic/mpi-hosts:Facet";
export const DYNAMIC_CLUSTER_KEY_TYPE = "pulumi-nodejs:dynamic/mpi-hosts:ClusterKey";

/** Where a dynamic resource recorded its provider's serialized code, in inputs and outputs. */
export const PRE_PLUGIN_CODE_KEY = "__provider";
