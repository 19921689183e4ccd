/**
 * mpi-hosts as a library: the package's one entry point (`import { ... } from "mpi-hosts"`, package.json "main"). A
 * Pulumi program either calls `mpiClusterFromStackConfig()` (the stack config decides everything, as the repository's
 * index.ts does), or builds `MpiCluster` from a config it loaded with `loadCluster`, or from a config whose hosts'
 * address, port, user and hostKey may be `pulumi.Input`s (`{ config }`: another resource's outputs; `renderCluster`
 * renders such a config for review, marking what is known only at apply).
 */
export { mpiClusterFromStackConfig } from "./stackProgram";
export { MpiCluster } from "./mpiCluster";
export type { MpiClusterArgs } from "./mpiCluster";
export type { ClusterConfig, HostConfig, InputHostField } from "./clusterInputs";
export { knownAtApply, renderCluster } from "./renderCluster";
export type { FileTree } from "./review/review";
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
