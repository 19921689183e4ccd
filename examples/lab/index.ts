/** An MPI cluster of existing hosts, declared by this stack's `mpi-hosts:*` config (see README.md). */
import { mpiClusterFromStackConfig } from "mpi-hosts";

// Checks the config before anything is declared, then every host's facets and the verification job.
const cluster = mpiClusterFromStackConfig();

export const hosts = cluster.summary;
export const verification = cluster.verification;
export const clusterPublicKey = cluster.clusterKey.publicKey;
