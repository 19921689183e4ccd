/**
 * The verification job's script: one POSIX sh script the head host runs with `sh -s` (templates/verify/verify.sh),
 * carrying the plan, the per-host script (host.sh) and the programs with no placeholders, which are plain files
 * next to the templates (templates/verify/*.py, *.awk) and travel as they are.
 */
import * as fs from "fs";
import * as path from "path";
import { Cluster } from "../config/types";
import { SCRIPT_MARKERS } from "../facets/facet";
import { HOSTFILE_PATH } from "../facets/hostfile";
import { TEMPLATE_ROOT, templates } from "../templates/templates";
import { planLines, planVerification, VerifyOptions, VerifyPlan } from "./plan";

/** The job's programs that need no rendering: python for the TCP matrix and the clean-up, awk for the judge. */
export const VERIFY_PROGRAMS = ["listen.py", "connect.py", "reap.py", "mpirun.awk", "judge.awk"] as const;
export type VerifyProgram = (typeof VERIFY_PROGRAMS)[number];

/** A program of the job as it travels to the head host (templates/verify/NAME). */
export function verifyProgram(name: VerifyProgram): string {
  return fs.readFileSync(path.join(TEMPLATE_ROOT, "verify", name), "utf8");
}

export interface ScriptOptions {
  /**
   * Print the report on stdout when the job fails too (npm run verify reads it to say what failed). Under
   * `pulumi up` a failed job fails the update and its output is not kept, and the command's error would repeat the
   * report's JSON after the lines the display already showed: there stdout stays empty on failure.
   */
  reportOnFailure?: boolean;
}

/**
 * The script the head host runs with `sh -s`: stdout is the JSON report (one line) and nothing else; stderr is
 * progress, the one-line summary and what failed; exit 1 on any failure.
 */
export function renderVerifyScript(cluster: Cluster, options: VerifyOptions & ScriptOptions = {}): string {
  return renderPlannedScript(planVerification(cluster, options), options);
}

export function renderPlannedScript(plan: VerifyPlan, options: ScriptOptions = {}): string {
  const t = templates();
  const plan_ = planLines(plan).join("\n");
  const header = { facet: "verify", host: plan.from, marker: SCRIPT_MARKERS };
  const hostScript = t.render("verify/host.sh", {
    ...header,
    kind: "host preflight",
    plan: plan_,
    sshConnectTimeout: plan.timeouts.sshConnect,
    stepTimeout: plan.timeouts.step,
    sshParallel: plan.sshParallel,
    hostfilePath: HOSTFILE_PATH,
  });
  return t.render("verify/verify.sh", {
    ...header,
    kind: "run",
    from: plan.from,
    plan: plan_,
    hostfilePath: HOSTFILE_PATH,
    hostScript,
    listenPy: verifyProgram("listen.py"),
    connectPy: verifyProgram("connect.py"),
    reapPy: verifyProgram("reap.py"),
    mpirunAwk: verifyProgram("mpirun.awk"),
    judgeAwk: verifyProgram("judge.awk"),
    sshConnectTimeout: plan.timeouts.sshConnect,
    stepTimeout: plan.timeouts.step,
    hostRoundTimeout: plan.timeouts.hostRound,
    tcpTimeout: plan.timeouts.tcpConnect,
    listenSeconds: plan.timeouts.listen,
    testTimeout: plan.timeouts.test,
    tests: plan.tests.join(" "),
    ranks: plan.ranks,
    hostCount: plan.hosts.length,
    reportOnFailure: options.reportOnFailure === false ? "no" : "yes",
    pingpongArgs: plan.pingpongArgs.join(" "),
    pingpongRounds: plan.pingpongRounds.map((round) => round.map(([a, b]) => `${a},${b}`).join(" ")).join("\n"),
  });
}
