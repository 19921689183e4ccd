/**
 * What the provider plugin (./plugin) does for a ClusterKey (./clusterKey): create makes an ed25519 key pair, diff
 * replaces it when `rotation` changes and ignores everything else, read returns what was recorded (the pair lives only
 * in the state). No update, nothing to delete.
 *
 * Whoever can write the state can write the pair: every operation that meets one (check, diff of the recorded pair,
 * read, create) refuses a `publicKey` that is not the public half of `privateKey`. A consistent pair of the writer's
 * own is refused by the hosts instead (clusterTrust's key record, components/facets/clusterTrust.ts).
 */
import { utils } from "ssh2";
import { publicKeyFingerprint } from "../facets/clusterTrust";
import { newEd25519KeyPair } from "./ed25519KeyPair";

export interface ClusterKeyInputs {
  comment: string;
  rotation: string;
}

export interface ClusterKeyOutputs extends ClusterKeyInputs {
  publicKey: string;
  privateKey: string;
}

const TO_DO = "bump mpi-hosts:ssh.clusterKeyRotation to make a new pair, or restore the state from a backup and find out who wrote it";

/**
 * Refuses a key pair whose halves do not belong together, or half a pair; `where` names the resource and the step.
 * Properties without either half (a ClusterKey's inputs before create) pass.
 */
export function assertKeyPairConsistent(props: { publicKey?: unknown; privateKey?: unknown }, where: string): void {
  const { publicKey, privateKey } = props;
  if (publicKey === undefined && privateKey === undefined) return;
  if (typeof publicKey !== "string" || typeof privateKey !== "string") {
    throw new Error(
      `${where}: the cluster key pair is incomplete (publicKey ${typeof publicKey === "string" ? "present" : "missing"}, privateKey ${typeof privateKey === "string" ? "present" : "missing"}): ${TO_DO}`,
    );
  }
  const parsed = utils.parseKey(privateKey);
  if (parsed instanceof Error || Array.isArray(parsed)) {
    const why = parsed instanceof Error ? parsed.message : "more than one key";
    throw new Error(`${where}: the cluster's privateKey is not one OpenSSH private key (${why}): ${TO_DO}`);
  }
  const derived = `${parsed.type} ${parsed.getPublicSSH().toString("base64")}`;
  const declared = publicKey.trim().split(/\s+/).slice(0, 2).join(" ");
  if (derived !== declared) {
    throw new Error(
      `${where}: the cluster's publicKey (${publicKeyFingerprint(publicKey)}) is not the public half of its privateKey ` +
        `(${publicKeyFingerprint(derived)}): the key pair in the state was edited. ${TO_DO[0].toUpperCase()}${TO_DO.slice(1)}.`,
    );
  }
}

export const clusterKeyOperations = {
  /** The program's inputs (a pair in them, which the program never sends, must at least be one pair). */
  check(news: Partial<ClusterKeyOutputs>, where: string): void {
    assertKeyPairConsistent(news, `${where}: check`);
  },
  async create(inputs: ClusterKeyInputs): Promise<{ id: string; outs: ClusterKeyOutputs }> {
    const outs = { ...inputs, ...newEd25519KeyPair(inputs.comment) };
    assertKeyPairConsistent(outs, `cluster-key-${inputs.rotation}: create`);
    return { id: `cluster-key-${inputs.rotation}`, outs };
  },
  /**
   * Unchanged generation: the engine hands the program the recorded pair, which must be one pair. A new generation
   * replaces the pair whatever was recorded (the way out of an edited state).
   */
  async diff(id: string, olds: Partial<ClusterKeyOutputs>, news: ClusterKeyInputs): Promise<{ changes: boolean; replaces: string[] }> {
    const changed = olds.rotation !== news.rotation;
    if (!changed) assertKeyPairConsistent(olds, `${id}: diff (the recorded pair)`);
    return { changes: changed, replaces: changed ? ["rotation"] : [] };
  },
  /** The pair lives only in the state: what was recorded is what there is, if it is one pair. */
  async read(id: string, props: Partial<ClusterKeyOutputs>): Promise<Partial<ClusterKeyOutputs>> {
    assertKeyPairConsistent(props, `${id}: read`);
    return props;
  },
};
