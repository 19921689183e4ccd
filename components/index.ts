/**
 * mpi-hosts as a library: the package's one entry point (`import { ... } from "mpi-hosts"`, package.json "main"). A
 * Pulumi program either calls `mpiClusterFromStackConfig()` (the stack config decides everything, as the repository's
 * index.ts does) or loads a config itself with `loadCluster` and builds `MpiCluster`.
 */
export { mpiClusterFromStackConfig } from "./stackProgram";
export { MpiCluster } from "./mpiCluster";
export type { MpiClusterArgs } from "./mpiCluster";
export type { ClusterConfig, HostConfig, InputHostField } from "./clusterInputs";
export { MpiHost } from "./mpiHost";
export type { HostSummary, MpiHostArgs } from "./mpiHost";
export { ConfigError, formatProblems, loadCluster, loadClusterOrThrow, namespaceKeys, readStackFile } from "./config/load";
export type { LoadOptions, LoadResult } from "./config/load";
export * from "./config/types";
export type { RawConfig } from "./config/rawConfig";
export { jobLogin, loginSourcesOf, programLogin } from "./provider/credentials";
export type { JobLogin } from "./provider/credentials";
export type { VerifyReport } from "./verify/report";
export { PROVIDER_PACKAGE, PROVIDER_VERSION } from "./provider/resourceTypes";
