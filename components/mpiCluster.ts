/** MpiCluster: the cluster key, one MpiHost per host, then the verification job across all of them. */
import * as pulumi from "@pulumi/pulumi";
import { ClusterConfig, ClusterPlan, clusterValueOf, planCluster } from "./clusterInputs";
import { formatProblems, LoadOptions } from "./config/load";
import { Cluster } from "./config/types";
import { HostSummary, MpiHost } from "./mpiHost";
import { ClusterKey } from "./provider/clusterKey";
import { verificationJob, verificationReport } from "./verify/job";
import { VerifyReport } from "./verify/report";

/**
 * The cluster, either loaded already (`loadCluster`: plain values), or as a config whose hosts' address, port, user and
 * hostKey may be `pulumi.Input`s (another resource's outputs), loaded here: its rules run now on what is known, and
 * again at apply on the rest (components/clusterInputs.ts).
 */
export type MpiClusterArgs = { cluster: Cluster } | { config: ClusterConfig; loadOptions?: LoadOptions };

/** The plan of either kind of args; a config's warnings are logged, its errors thrown (a ConfigError: nothing declared). */
function planOf(args: MpiClusterArgs): Pick<ClusterPlan, "cluster" | "other" | "atApply"> {
  if ("cluster" in args) return { cluster: args.cluster, other: args.cluster };
  const plan = planCluster(args.config, args.loadOptions);
  for (const p of plan.problems) void pulumi.log.warn(formatProblems([p]));
  return plan;
}

export class MpiCluster extends pulumi.ComponentResource {
  readonly hosts: MpiHost[];
  readonly clusterKey: ClusterKey;
  /** The verification job's report (`pulumi stack output verification --json`); absent when verify.enabled is false. */
  readonly verification?: pulumi.Output<VerifyReport>;
  readonly summary: pulumi.Output<Record<string, HostSummary>>;

  constructor(name: string, args: MpiClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mpi-hosts:index:MpiCluster", name, {}, opts);
    const plan = planOf(args);
    const { cluster } = plan;
    this.clusterKey = new ClusterKey(
      `${name}-cluster-key`,
      { comment: `mpi-hosts cluster ${name}`, rotation: cluster.ssh.clusterKeyRotation },
      { parent: this },
    );
    this.hosts = cluster.hosts.map(
      (host) =>
        new MpiHost(
          host.name,
          {
            cluster,
            host,
            clusterPublicKey: this.clusterKey.publicKey,
            clusterPrivateKey: this.clusterKey.privateKey,
            ...(plan.atApply ? { plan } : {}),
          },
          { parent: this },
        ),
    );
    this.summary = pulumi.all(Object.fromEntries(this.hosts.map((h, i) => [cluster.hosts[i].name, h.summary])));
    if (cluster.verify.enabled) {
      const desired = pulumi.all(Object.fromEntries(this.hosts.map((h, i) => [cluster.hosts[i].name, h.desired])));
      const appliedAt = Object.fromEntries(
        this.hosts.flatMap((h, i) => Object.entries(h.appliedAt).map(([facet, at]) => [`${cluster.hosts[i].name}/${facet}`, at])),
      );
      const job = verificationJob(
        `${name}-verify`,
        cluster,
        desired,
        appliedAt,
        { parent: this, dependsOn: this.hosts },
        clusterValueOf(plan),
      );
      this.verification = verificationReport(job, cluster.verify.from);
    }
    this.registerOutputs({ summary: this.summary, verification: this.verification });
  }
}
