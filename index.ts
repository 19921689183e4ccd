/**
 * mpi-hosts: brings every host of the stack config to the declared MPI state over SSH and proves it
 * with a verification job. The config is validated before any resource is declared: a bad config
 * stops here, with one line per problem, and no host is touched.
 */
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, formatProblems, loadCluster, namespaceKeys } from "./components/config/load";
import { MpiCluster } from "./components/mpiCluster";

const { cluster, problems } = loadCluster(namespaceKeys(pulumi.runtime.allConfig()));
if (!cluster) throw new ConfigError(problems);
for (const p of problems) pulumi.log.warn(formatProblems([p]));

const adminPrivateKey = pulumi.secret(cluster.sshPrivateKey ?? readKey(cluster.ssh.privateKeyPath));

function readKey(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError([
      {
        path: "mpi-hosts:ssh.privateKeyPath",
        message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (a private key file, or set the secret mpi-hosts:sshPrivateKey)`,
        severity: "error",
      },
    ]);
  }
}

const mpiCluster = new MpiCluster(pulumi.getStack(), { cluster, adminPrivateKey });

export const hosts = mpiCluster.summary;
export const verification = mpiCluster.verification;
export const clusterPublicKey = mpiCluster.clusterKey.publicKey;
