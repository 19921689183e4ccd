/**
 * The cluster's own SSH key pair, made once by `pulumi up` and kept (encrypted) in the state, so
 * every host can start MPI daemons on every other host. Replaced only when `rotation` changes.
 * Served by the mpi-hosts provider plugin (./clusterKeyOperations): the state records the type and
 * the plugin version, no code (issue 15).
 */
import * as pulumi from "@pulumi/pulumi";
import { CLUSTER_KEY_TYPE, DYNAMIC_CLUSTER_KEY_TYPE, PROVIDER_VERSION } from "./resourceTypes";

export class ClusterKey extends pulumi.CustomResource {
  declare readonly publicKey: pulumi.Output<string>;
  declare readonly privateKey: pulumi.Output<string>;

  constructor(name: string, args: { comment: pulumi.Input<string>; rotation: pulumi.Input<string> }, opts?: pulumi.CustomResourceOptions) {
    super(
      CLUSTER_KEY_TYPE,
      name,
      { ...args, publicKey: undefined, privateKey: undefined },
      // The plugin records privateKey as a secret too.
      {
        ...opts,
        version: PROVIDER_VERSION,
        additionalSecretOutputs: ["privateKey"],
        aliases: [...(opts?.aliases ?? []), { type: DYNAMIC_CLUSTER_KEY_TYPE }],
      },
    );
  }
}
