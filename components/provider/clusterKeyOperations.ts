/**
 * What the provider plugin (./plugin) does for a ClusterKey (./clusterKey): create makes an ed25519 key pair, diff
 * replaces it when `rotation` changes and ignores everything else, read returns what was recorded (the pair lives only
 * in the state). No update, nothing to delete.
 *
 * Whoever can write the state can write the pair: check, create and the diff of a recorded pair at an unchanged
 * rotation refuse a `publicKey` that is not the public half of `privateKey` (a refresh diffs too; read refuses nothing). A consistent pair of the writer's
 * own is refused by the hosts instead (clusterTrust's key record, components/facets/clusterTrust.ts). A pair whose
 * public key the facets' input schema refuses (its comment, say) is refused here too, by the resource that holds it,
 * so that the message says where the key came from rather than the Facets' Check blaming the program.
 */
import { utils } from "ssh2";
import { publicKeyFingerprint } from "../facets/clusterTrust";
import { facetInputsRef, schemaProblem, shown } from "../facets/inputSchemas";
import { newEd25519KeyPair } from "./ed25519KeyPair";

export interface ClusterKeyInputs {
  comment: string;
  rotation: string;
}

export interface ClusterKeyOutputs extends ClusterKeyInputs {
  publicKey: string;
  privateKey: string;
}

const TO_DO =
  "bump mpi-hosts:ssh.clusterKeyRotation and run `pulumi up` without --refresh to make a new pair (a refresh diffs the " +
  "recorded pair before it sees the new rotation), or restore the state from a backup and find out who wrote it";

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

/** Why the facets' input schema (clusterTrust's clusterPublicKey) refuses `publicKey`, or undefined. */
function facetsSchemaProblem(publicKey: string): string | undefined {
  return schemaProblem(facetInputsRef("clusterPublicKey"), publicKey, "clusterTrust's clusterPublicKey");
}

/**
 * Refuses a recorded pair (one pair, assertKeyPairConsistent) whose public key no host's clusterTrust would take: the
 * key comes from the state, never from the program, and the message says so.
 */
export function assertFacetsTakePublicKey(props: { publicKey?: unknown }, where: string): void {
  const { publicKey } = props;
  if (typeof publicKey !== "string") return;
  const problem = facetsSchemaProblem(publicKey);
  if (!problem) return;
  const comment = publicKey.trim().split(/\s+/).slice(2).join(" ");
  throw new Error(
    `${where}: the cluster's publicKey (${publicKeyFingerprint(publicKey)}, comment ${shown(comment)}) is refused by the ` +
      `facets' input schema, so no host's clusterTrust would take it (${problem}). mpi-hosts makes the pair with the comment ` +
      `\`mpi-hosts cluster NAME\`: the pair in the state may have been edited. ${TO_DO[0].toUpperCase()}${TO_DO.slice(1)}.`,
  );
}

export const clusterKeyOperations = {
  /**
   * The program's inputs: a comment that would make a public key the facets refuse (MpiCluster's name), and a pair in
   * them, which the program never sends, must at least be one pair the facets take.
   */
  check(news: Partial<ClusterKeyOutputs>, where: string): void {
    if (typeof news.comment === "string") {
      // The schema's own test on a line as create makes it (ssh-ed25519, a key, the comment): the pattern stays in one place.
      const problem = facetsSchemaProblem(`ssh-ed25519 AAAA ${news.comment}`);
      if (problem) {
        throw new Error(
          `${where}: check: the comment ${shown(news.comment)} (\`mpi-hosts cluster\` and the MpiCluster's name) would make a ` +
            `public key that the facets' input schema refuses (${problem}); nothing was made. Name the cluster with ` +
            "letters, digits, spaces and , . _ : - only.",
        );
      }
    }
    assertKeyPairConsistent(news, `${where}: check`);
    assertFacetsTakePublicKey(news, `${where}: check`);
  },
  async create(inputs: ClusterKeyInputs): Promise<{ id: string; outs: ClusterKeyOutputs }> {
    const outs = { ...inputs, ...newEd25519KeyPair(inputs.comment) };
    assertKeyPairConsistent(outs, `cluster-key-${inputs.rotation}: create`);
    return { id: `cluster-key-${inputs.rotation}`, outs };
  },
  /**
   * Unchanged generation: the engine hands the program the recorded pair, which must be one pair the facets take. A new generation
   * replaces the pair whatever was recorded (the way out of an edited state).
   */
  async diff(id: string, olds: Partial<ClusterKeyOutputs>, news: ClusterKeyInputs): Promise<{ changes: boolean; replaces: string[] }> {
    const changed = olds.rotation !== news.rotation;
    if (!changed) {
      assertKeyPairConsistent(olds, `${id}: diff (the recorded pair)`);
      assertFacetsTakePublicKey(olds, `${id}: diff (the recorded pair)`);
    }
    return { changes: changed, replaces: changed ? ["rotation"] : [] };
  },
  /**
   * The pair lives only in the state: what was recorded is what there is. Read refuses nothing: every refresh also
   * diffs the read pair against the recorded inputs (rotation unchanged), which refuses it with the full message.
   */
  async read(_id: string, props: Partial<ClusterKeyOutputs>): Promise<Partial<ClusterKeyOutputs>> {
    return props;
  },
};
