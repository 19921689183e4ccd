/**
 * mpi-hosts: brings every host of the stack config to the declared MPI state over SSH and proves it
 * with a verification job. The config is validated before any resource is declared: a bad config
 * stops here, with one line per problem, and no host is touched.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, formatProblems, loadCluster, namespaceKeys } from "./components/config/load";
import { MpiCluster } from "./components/mpiCluster";
import { jobLogin, loginSourcesOf, programLogin, recordedSecretsWarning } from "./components/provider/credentials";

const { cluster, problems } = loadCluster(namespaceKeys(pulumi.runtime.allConfig()));
if (!cluster) throw new ConfigError(problems);
for (const p of problems) pulumi.log.warn(formatProblems([p]));

// The facets and the verification job log in in the provider plugin, at run time (ssh-agent first, then the key file or
// secret); `up` checks here that there is a way to, before any host is touched.
const login = programLogin(jobLogin(loginSourcesOf(cluster)), pulumi.runtime.isDryRun());
if ("error" in login) {
  throw new ConfigError([{ path: "mpi-hosts:ssh.privateKeyPath", message: login.error, severity: "error" }]);
}
if (login.warning) void pulumi.log.warn(login.warning);
// The facets' connections hold no key, but the provider's recorded configuration (the whole stack config) does.
const secretsWarning = recordedSecretsWarning(cluster);
if (secretsWarning) void pulumi.log.warn(secretsWarning);

const mpiCluster = new MpiCluster(pulumi.getStack(), { cluster });

export const hosts = mpiCluster.summary;
export const verification = mpiCluster.verification;
export const clusterPublicKey = mpiCluster.clusterKey.publicKey;
