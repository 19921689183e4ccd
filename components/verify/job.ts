/**
 * The verification job: preflight from verify.from (ssh between every pair, software and versions, names, a TCP
 * matrix over the MPI port ranges), then mpirun's tests; re-run whenever any desired state changes or any facet's
 * apply ran (a repair of drift included). The same script runs under `pulumi up` (remote.Command) and on demand
 * (`npm run verify`); both read its JSON report from its standard output.
 */
import { createHash } from "crypto";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { Cluster, Jump } from "../config/types";
import { JobLogin } from "../provider/credentials";
import { preferredHostKey } from "../provider/hostKeys";
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

/**
 * The job, re-run (replaced: @pulumi/command 1.x replaces on any change of `triggers`, and the job has no
 * `update` command) when either trigger changes:
 * - the fingerprint of every host's desired state and of the script: a config change, a new mpi-hosts;
 * - every facet's appliedAt: any apply on any host, so also the repair of drift by `pulumi up --refresh`, where
 *   the desired state stays the same. Unchanged facets keep their stamp, so a no-change `up` leaves the job
 *   alone; in a preview, a facet that will apply has an unknown stamp, and the preview shows the job replaced
 *   with that facet's entry of `triggers` changed.
 * Only stderr is logged (progress and the summary line): stdout is the JSON report, kept as the `verification`
 * output (verificationReport) rather than printed.
 */
export function verificationJob(
  name: string,
  cluster: Cluster,
  desiredByHost: pulumi.Input<Record<string, unknown>>,
  appliedAt: AppliedAt,
  login: JobLogin,
  opts: pulumi.CustomResourceOptions,
): command.remote.Command {
  const from = cluster.hosts.find((h) => h.name === cluster.verify.from)!;
  const script = renderVerifyScript(cluster, { reportOnFailure: false });
  const fingerprint = pulumi.output(desiredByHost).apply((d) => verificationFingerprint(d, script));
  return new command.remote.Command(
    name,
    {
      connection: {
        host: from.address,
        port: from.port,
        user: from.user,
        // With an agent, no key: the command provider uses its SSH_AUTH_SOCK (connection.go), and the state names none.
        ...(login.kind === "key"
          ? {
              privateKey: pulumi.secret(login.privateKey),
              ...(login.passphrase ? { privateKeyPassword: pulumi.secret(login.passphrase) } : {}),
            }
          : {}),
        // It takes one key and offers only that key's algorithm (connection.go SSHConfig): the one it negotiates best.
        hostKey: preferredHostKey(from.hostKeys),
        dialErrorLimit: 3,
        perDialTimeout: cluster.ssh.connectTimeoutSeconds,
        ...(from.jump ? { proxy: jobProxy(from.jump, login, cluster.ssh.connectTimeoutSeconds) } : {}),
      },
      create: "sh -s",
      stdin: script,
      // A plain object of outputs, not pulumi.all: one unknown stamp leaves the others readable in a preview's diff.
      triggers: [fingerprint, appliedAt],
      logging: "stderr",
    },
    opts,
  );
}

/**
 * The head's bastion for the command provider: it dials the bastion with these settings, then the head through it
 * (pulumi-command v1.2.1 provider/pkg/provider/remote/connection.go Dial, proxyConnection.go), checking each key.
 */
function jobProxy(jump: Jump, login: JobLogin, perDialTimeout: number): command.types.input.remote.ProxyConnectionArgs {
  return {
    host: jump.address,
    port: jump.port,
    user: jump.user,
    // The same login as the head's (an agent: nothing here, the provider reads SSH_AUTH_SOCK for the proxy too).
    ...(login.kind === "key"
      ? {
          privateKey: pulumi.secret(login.privateKey),
          ...(login.passphrase ? { privateKeyPassword: pulumi.secret(login.passphrase) } : {}),
        }
      : {}),
    hostKey: preferredHostKey(jump.hostKeys),
    dialErrorLimit: 3,
    perDialTimeout,
  };
}

/** The `verification` stack output: the job's report as an object, with a warning when the job printed none. */
export function verificationReport(job: command.remote.Command, from: string): pulumi.Output<VerifyReport> {
  return job.stdout.apply((stdout) => {
    const { report, problem } = reportOfJob(stdout, from);
    if (problem) void pulumi.log.warn(`the verification job's output holds no report: ${problem}`, job);
    return report;
  });
}
