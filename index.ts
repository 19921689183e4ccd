/**
 * mpi-hosts: brings every host of the stack config to the declared MPI state over SSH and proves it with a
 * verification job. The steps (config checked before any resource is declared, a way to log in, the cluster) are the
 * library's `mpiClusterFromStackConfig` (components/stackProgram.ts), which a user's own project calls the same way.
 */
import { mpiClusterFromStackConfig } from "./components/index";

const mpiCluster = mpiClusterFromStackConfig();

export const hosts = mpiCluster.summary;
export const verification = mpiCluster.verification;
export const clusterPublicKey = mpiCluster.clusterKey.publicKey;
