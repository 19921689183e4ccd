/**
 * The verification job: preflight from verify.from (ssh between every pair, software and versions, names, a TCP
 * matrix over the MPI port ranges), then mpirun's tests; re-run whenever any desired state changes. The same script
 * runs under `pulumi up` (remote.Command) and on demand (`npm run verify`); both read its JSON report.
 */
import { createHash } from "crypto";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { Cluster } from "./config/types";
import { templates } from "./render/templates";
import { planLines, planVerification, VerifyOptions, VerifyPlan } from "./verify/plan";

/** The script the head host runs with `sh -s`: stdout is a summary line and the JSON report; exit 1 on any failure. */
export function renderVerifyScript(cluster: Cluster, options: VerifyOptions = {}): string {
  return renderPlannedScript(planVerification(cluster, options));
}

export function renderPlannedScript(plan: VerifyPlan): string {
  const t = templates();
  const plan_ = planLines(plan).join("\n");
  const header = { facet: "verify", host: plan.from };
  const hostScript = t.render("verify/host.sh", {
    ...header,
    kind: "host preflight",
    plan: plan_,
    sshConnectTimeout: plan.timeouts.sshConnect,
    stepTimeout: plan.timeouts.step,
    sshParallel: plan.sshParallel,
  });
  return t.render("verify/verify.sh", {
    ...header,
    kind: "run",
    from: plan.from,
    plan: plan_,
    hostScript,
    listenPy: t.render("verify/listen.py", {}),
    connectPy: t.render("verify/connect.py", {}),
    judgeAwk: t.render("verify/judge.awk", {}),
    sshConnectTimeout: plan.timeouts.sshConnect,
    stepTimeout: plan.timeouts.step,
    hostRoundTimeout: plan.timeouts.hostRound,
    tcpTimeout: plan.timeouts.tcpConnect,
    listenSeconds: plan.timeouts.listen,
    testTimeout: plan.timeouts.test,
    tests: plan.tests.join(" "),
    ranks: plan.ranks,
    hostCount: plan.hosts.length,
    pingpongArgs: plan.pingpongArgs.join(" "),
    pingpongRounds: plan.pingpongRounds.map((round) => round.map(([a, b]) => `${a},${b}`).join(" ")).join("\n"),
  });
}

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

export function verificationJob(
  name: string,
  cluster: Cluster,
  desiredByHost: pulumi.Input<Record<string, unknown>>,
  adminPrivateKey: pulumi.Input<string>,
  opts: pulumi.CustomResourceOptions,
): command.remote.Command {
  const from = cluster.hosts.find((h) => h.name === cluster.verify.from)!;
  const script = renderVerifyScript(cluster);
  const fingerprint = pulumi.output(desiredByHost).apply((d) => verificationFingerprint(d, script));
  return new command.remote.Command(
    name,
    {
      connection: {
        host: from.address,
        port: from.port,
        user: from.user,
        privateKey: adminPrivateKey,
        hostKey: from.hostKey,
        dialErrorLimit: 3,
        perDialTimeout: cluster.ssh.connectTimeoutSeconds,
      },
      create: "sh -s",
      stdin: script,
      triggers: [fingerprint],
      logging: "stdoutAndStderr",
    },
    opts,
  );
}
