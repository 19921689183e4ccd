/**
 * clusterTrust: passwordless, host-key-pinned SSH between all hosts. Every host gets the cluster
 * key pair (~/.ssh/mpi-hosts_ed25519), a known_hosts file of our own with every host's pinned key,
 * and an authorized_keys block accepting the cluster key only from mpi.network, for commands only (`restrict`: no pty,
 * no ~/.ssh/rc, no agent, port or X11 forwarding): Open MPI's ssh launcher runs `ssh HOST <daemon command>`, no more.
 * The private key reaches the host through the environment at run time, never through a script.
 *
 * The key is anchored on the host (issue 15, residual R3 of docs/plans/issue15-item3.md): next to the key, a record
 * (~/.ssh/mpi-hosts_ed25519.generation) names the key generation (ssh.clusterKeyRotation, from the stack file) and the
 * fingerprint of the key installed for it. The key pair itself comes from the state, which whoever can write the state
 * chooses; apply refuses, before it writes anything, a key other than the recorded one for the same generation.
 */
import * as crypto from "crypto";
import { knownHostsName } from "../config/knownHosts";
import { templates } from "../templates/templates";
import { defineFacet, FACET_TIMEOUT_SECONDS, HEADER, managedBlock } from "./facet";
import { facetInputsRef } from "./inputSchemas";
import { renderScripts } from "./scripts";

export const CLUSTER_KEY_ENV = "MPI_HOSTS_CLUSTER_KEY";

/** OpenSSH's SHA256 fingerprint (`ssh-keygen -l`) of a public key line ("type base64 [comment]"). */
export function publicKeyFingerprint(publicKey: string): string {
  const blob = Buffer.from(publicKey.trim().split(/\s+/)[1] ?? "", "base64");
  return `SHA256:${crypto.createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** Stands in for the cluster key before the first `pulumi up` creates it (render for review), and in probe inputs. */
export const CLUSTER_KEY_PLACEHOLDER = "ssh-ed25519 CLUSTER-KEY-CREATED-BY-PULUMI-UP mpi-hosts cluster";

export const clusterTrust = defineFacet({
  name: "clusterTrust",
  appliesTo: () => true,
  privileged: false,
  probePrivileged: false,
  timeoutSeconds: FACET_TIMEOUT_SECONDS,
  secretEnv: [CLUSTER_KEY_ENV],
  inputs: ({ cluster, host, clusterPublicKey }) => ({
    host: host.name,
    // Every key the controller accepts for a host, not one preferred key: OpenSSH on the hosts then negotiates
    // among the known keys' types by itself and accepts what mpi-hosts accepts, no more (no revoked key is listed).
    knownHosts: cluster.hosts.flatMap((h) =>
      h.hostKeys.map((key) => ({ names: [knownHostsName(h.name, h.port), knownHostsName(h.address, h.port)].join(","), key })),
    ),
    // Only the cluster network: firewall.allowFrom may be wider (0.0.0.0/0 with allowAnywhere), and other hosts'
    // ssh to start daemons comes from the cluster's own addresses.
    from: cluster.mpi.network,
    clusterPublicKey,
    // From the stack file through the program, never from the ClusterKey's record: the host's anchor compares it.
    keyGeneration: cluster.ssh.clusterKeyRotation,
  }),
  inputSchema: facetInputsRef("clusterTrustInputs"),
  // The probe reads only the header. Without the keys, every sibling's record stays the same size whatever the number
  // of hosts, and free of the cluster key: a rotation updates the clusterTrust facets only (MpiHost's keyFree).
  // The generation too: the probe reads the record from the host, and a rotation must leave the other facets' records
  // (whose hostFacets hold this) unchanged.
  probeInputs: (i) => ({ ...i, knownHosts: [], clusterPublicKey: CLUSTER_KEY_PLACEHOLDER, keyGeneration: "1" }),
  render({ host, knownHosts: entries, from, clusterPublicKey, keyGeneration }) {
    const t = templates();
    const knownHosts = t.render("clusterTrust/known_hosts", { header: HEADER, entries });
    const authorizedKeys = managedBlock(t.render("clusterTrust/authorized_keys", { from, publicKey: clusterPublicKey }));
    const identity = clusterPublicKey.split(" ").slice(0, 2).join(" ");
    const publicKey = `${clusterPublicKey}\n`;
    const fingerprint = publicKeyFingerprint(clusterPublicKey);
    const keyRecord = t.render("clusterTrust/key_generation", { header: HEADER, keyGeneration, fingerprint });
    const vars = {
      identity,
      publicKey: clusterPublicKey,
      knownHosts: knownHosts.replace(/\n$/, ""),
      authorizedKeys: authorizedKeys.replace(/\n$/, ""),
      keyGeneration,
      fingerprint,
      keyRecord: keyRecord.replace(/\n$/, ""),
    };
    return {
      desired: { identity, publicKey, knownHosts, authorizedKeys, keyRecord },
      files: {
        "mpi-hosts_known_hosts": knownHosts,
        "authorized_keys.block": authorizedKeys,
        "mpi-hosts_ed25519.pub": publicKey,
        "mpi-hosts_ed25519.generation": keyRecord,
      },
      scripts: renderScripts("clusterTrust", host, "clusterTrust", vars),
    };
  },
});
