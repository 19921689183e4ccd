/**
 * The resource types of the mpi-hosts provider plugin (pulumi-resource-mpi-hosts), as the program registers them
 * and the state records them. One place, read by the program, the plugin, `mpi-hosts drift` and the tests.
 */

/** The plugin's package: the engine gives its default provider the stack config of this namespace (`mpi-hosts:*`). */
export const PROVIDER_PACKAGE = "mpi-hosts";

/**
 * The plugin version the program asks for (registered with every resource, recorded as the default provider's
 * `version`): scripts/install-plugin.sh installs the plugin as this version. The package.json version.
 */
export const PROVIDER_VERSION = "0.1.0";

export const FACET_TYPE = "mpi-hosts:index:Facet";
export const CLUSTER_KEY_TYPE = "mpi-hosts:index:ClusterKey";
