/**
 * What the provider plugin (./plugin) does for a ClusterKey (./clusterKey): create makes an ed25519 key pair, diff
 * replaces it when `rotation` changes and ignores everything else. No read (the pair lives only in the state), no
 * update, nothing to delete.
 */
import { utils } from "ssh2";

export interface ClusterKeyInputs {
  comment: string;
  rotation: string;
}

export interface ClusterKeyOutputs extends ClusterKeyInputs {
  publicKey: string;
  privateKey: string;
}

export const clusterKeyOperations = {
  async create(inputs: ClusterKeyInputs): Promise<{ id: string; outs: ClusterKeyOutputs }> {
    const pair = utils.generateKeyPairSync("ed25519", { comment: inputs.comment });
    return { id: `cluster-key-${inputs.rotation}`, outs: { ...inputs, publicKey: pair.public.trim(), privateKey: pair.private } };
  },
  async diff(_id: string, olds: ClusterKeyInputs, news: ClusterKeyInputs): Promise<{ changes: boolean; replaces: string[] }> {
    const changed = olds.rotation !== news.rotation;
    return { changes: changed, replaces: changed ? ["rotation"] : [] };
  },
};
