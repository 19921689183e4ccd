/**
 * The whole mpi-hosts program as one call: the stack config of the `mpi-hosts:` namespace, checked before any resource
 * is declared (a bad config stops here, with one line per problem, and no host is touched), then the cluster. The
 * repository's index.ts and a user's own project (examples/lab/index.ts) both call it, so they run the same steps.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, formatProblems, loadCluster, namespaceKeys } from "./config/load";
import { MpiCluster } from "./mpiCluster";
import { jobLogin, loginSourcesOf, programLogin, recordedSecretsWarning } from "./provider/credentials";

/** Builds the cluster the stack config declares, named `name` (default: the stack's name). */
export function mpiClusterFromStackConfig(name: string = pulumi.getStack(), opts?: pulumi.ComponentResourceOptions): MpiCluster {
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

  return new MpiCluster(name, { cluster }, opts);
}
