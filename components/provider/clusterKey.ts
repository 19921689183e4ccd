/**
 * The cluster's own SSH key pair, made once by `pulumi up` and kept (encrypted) in the state, so
 * every host can start MPI daemons on every other host. Replaced only when `rotation` changes.
 */
import * as pulumi from "@pulumi/pulumi";

export const clusterKeyProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: { comment: string; rotation: string }) {
    const { utils } = require("ssh2") as typeof import("ssh2");
    const pair = utils.generateKeyPairSync("ed25519", { comment: inputs.comment });
    return { id: `cluster-key-${inputs.rotation}`, outs: { ...inputs, publicKey: pair.public.trim(), privateKey: pair.private } };
  },
  async diff(_id: string, olds: { rotation: string }, news: { rotation: string }) {
    const changed = olds.rotation !== news.rotation;
    return { changes: changed, replaces: changed ? ["rotation"] : [] };
  },
};

export class ClusterKey extends pulumi.dynamic.Resource {
  declare readonly publicKey: pulumi.Output<string>;
  declare readonly privateKey: pulumi.Output<string>;

  constructor(name: string, args: { comment: pulumi.Input<string>; rotation: pulumi.Input<string> }, opts?: pulumi.CustomResourceOptions) {
    super(
      clusterKeyProvider,
      name,
      { ...args, publicKey: undefined, privateKey: undefined },
      { ...opts, additionalSecretOutputs: ["privateKey"] },
      "mpi-hosts",
      "ClusterKey",
    );
  }
}
