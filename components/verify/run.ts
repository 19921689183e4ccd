/**
 * Runs the verification job on demand, the way `pulumi up` runs it: the rendered script through `sh -s` on the
 * head host over SSH (pinned host key, the admin key), no Pulumi engine. Used by `npm run verify`, the lab
 * tests and the fail-fast benchmark. Its stdout is read as `pulumi up` reads it for the stack output (the JSON
 * report, nothing else); its stderr carries the progress lines, then the summary line.
 */
import { Cluster } from "../config/types";
import { LoginSources } from "../provider/credentials";
import { hostConnection } from "../provider/hostConnection";
import { Connection, runScript } from "../provider/remote";
import { reportOfJob, VerifyReport } from "./report";
import { renderPlannedScript } from "./script";
import { planVerification, VerifyOptions, VerifyPlan } from "./plan";

export interface VerifyRun {
  /** The script's exit code: 0 pass, 1 failure. */
  code: number;
  /** Undefined when the script printed no report (it could not run at all); `problem` says why. */
  report?: VerifyReport;
  /** The report's one-line summary (the line the script also printed on stderr). */
  summary?: string;
  problem?: string;
  stdout: string;
  stderr: string;
  /** Wall time seen from here, SSH connection included. */
  seconds: number;
}

/**
 * The job's own limit (every preflight round, each test's tries and its retry: plan.timeouts.job), and room to
 * connect to the head and judge the records: the job ends by itself first, with its report.
 */
export function overallTimeoutSeconds(plan: VerifyPlan): number {
  return plan.timeouts.job + plan.timeouts.step + 10;
}

export function headConnection(cluster: Cluster, login: LoginSources): Connection {
  return {
    ...hostConnection(
      cluster,
      cluster.hosts.find((h) => h.name === cluster.verify.from)!,
    ),
    login,
  };
}

export async function runVerification(
  cluster: Cluster,
  login: LoginSources,
  options: VerifyOptions & { onProgress?: (line: string) => void } = {},
): Promise<VerifyRun> {
  const plan = planVerification(cluster, options);
  const script = renderPlannedScript(plan);
  const started = Date.now();
  const result = await runScript(headConnection(cluster, login), script, {
    step: "verification job",
    timeoutSeconds: overallTimeoutSeconds(plan),
    onStderrLine: options.onProgress,
  });
  const seconds = (Date.now() - started) / 1000;
  const run: VerifyRun = { code: result.code, stdout: result.stdout, stderr: result.stderr, seconds };
  const { report, problem } = reportOfJob(result.stdout, plan.from);
  if (problem === undefined) {
    run.report = report;
    run.summary = report.summary;
  } else {
    run.problem = `${problem}${result.stderr.trim() ? `\n${result.stderr.trim()}` : ""}`;
  }
  return run;
}
