/**
 * The verification job: preflight from verify.from (ssh between every pair, software and versions, names, a TCP
 * matrix over the MPI port ranges), then mpirun's tests; re-run whenever any desired state changes or any facet's
 * apply ran (a repair of drift included). The same script runs under `pulumi up` (the mpi-hosts plugin's
 * VerificationJob) and on demand (`npm run verify`); both read its JSON report from its standard output.
 */
import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { Cluster } from "../config/types";
import { PROVIDER_VERSION, VERIFICATION_JOB_TYPE } from "../provider/resourceTypes";
import { jobInputsOf, VerificationJobInputs } from "./jobInputs";
import { reportOfJob, VerifyReport } from "./report";
import { renderVerifyScript } from "./script";

/** A digest of everything the job proves: any host's desired state, or the job itself. */
export function verificationFingerprint(desiredByHost: Record<string, unknown>, script: string): string {
  const canonical = JSON.stringify({ desiredByHost: sortKeys(desiredByHost), script });
  return createHash("sha256").update(canonical).digest("hex");
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** When each facet's apply last ran, by "host/facet" (MpiHost.appliedAt of every host). */
export type AppliedAt = Record<string, pulumi.Input<string | undefined>>;

export type VerificationJobArgs = {
  [K in keyof VerificationJobInputs]: K extends "appliedAt" ? AppliedAt : pulumi.Input<VerificationJobInputs[K]>;
};

/**
 * The job, a resource of the mpi-hosts provider plugin (components/provider/plugin/jobHandlers.ts): its inputs are
 * declared data (./jobInputs), the plugin renders the script with its own code and logs in as the facets do; the
 * state holds no script, no command and no key, and deleting the job runs nothing (issue 15, R4).
 */
export class VerificationJob extends pulumi.CustomResource {
  /** The job's stdout: the JSON report, one line. */
  declare readonly stdout: pulumi.Output<string>;
  declare readonly ranAt: pulumi.Output<string>;

  constructor(name: string, args: VerificationJobArgs, opts?: pulumi.CustomResourceOptions) {
    super(VERIFICATION_JOB_TYPE, name, { ...args, stdout: undefined, ranAt: undefined }, { ...opts, version: PROVIDER_VERSION });
  }
}

/**
 * The job, re-run (replaced, as @pulumi/command's was: its delete runs nothing) when an input changes:
 * - the fingerprint of every host's desired state and of the script: a config change, a new mpi-hosts;
 * - every facet's appliedAt: any apply on any host, so also the repair of drift by `pulumi up --refresh`, where
 *   the desired state stays the same. Unchanged facets keep their stamp, so a no-change `up` leaves the job
 *   alone; in a preview, a facet that will apply has an unknown stamp, and the preview shows the job replaced
 *   with `appliedAt` changed.
 * Only stderr is logged (progress and the summary line): stdout is the JSON report, kept as the `verification`
 * output (verificationReport) rather than printed.
 */
export function verificationJob(
  name: string,
  cluster: Cluster,
  desiredByHost: pulumi.Input<Record<string, unknown>>,
  appliedAt: AppliedAt,
  opts: pulumi.CustomResourceOptions,
  valueOf: <T>(of: (cluster: Cluster) => T) => pulumi.Input<T> = (of) => of(cluster),
): VerificationJob {
  // valueOf: an Output of what depends on a host value known only at apply (components/clusterInputs.ts).
  const script = valueOf((c) => renderVerifyScript(c, { reportOnFailure: false }));
  const fingerprint = pulumi.all([desiredByHost, script]).apply(([d, s]) => verificationFingerprint(d, s));
  const jobCluster = valueOf((c) => jobInputsOf(c, "", {}).cluster);
  const connection = valueOf((c) => jobInputsOf(c, "", {}).connection);
  // A plain object of outputs, not pulumi.all: one unknown stamp leaves the others readable in a preview's diff.
  return new VerificationJob(name, { cluster: jobCluster, connection, fingerprint, appliedAt }, opts);
}

/** The `verification` stack output: the job's report as an object, with a warning when the job printed none. */
export function verificationReport(job: VerificationJob, from: string): pulumi.Output<VerifyReport> {
  return job.stdout.apply((stdout) => {
    const { report, problem } = reportOfJob(stdout, from);
    if (problem) void pulumi.log.warn(`the verification job's output holds no report: ${problem}`, job);
    return report;
  });
}
