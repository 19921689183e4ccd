/**
 * The verification report, its one definition: the type of what the job prints as JSON (templates/verify/judge.awk
 * writes it; judge.test.ts checks every report it writes against these fields), how to find it in the job's
 * output, and the failed report that stands in for a missing one.
 */

export type StageStatus = "pass" | "fail" | "skip" | "notrun";
export type TcpStatus = "ok" | "blocked" | "unchecked";

export interface StageResult {
  name: string;
  status: StageStatus;
  /** Wall time of the round the stage ran in (ssh, software and names run in one round). */
  seconds: number | null;
  detail: string | null;
}

export interface HostResult {
  name: string;
  address: string;
  slots: number;
  /** The head could run the preflight there. */
  reached: boolean;
  hostname: string | null;
  openmpi: string | null;
  mpi4py: string | null;
  python: string;
  mpirun: string;
  /** What `command -v mpirun` gives in a non-interactive ssh shell there. */
  mpirunOnPath: string | null;
}

export interface TcpResult {
  status: TcpStatus;
  port: number | null;
  seconds: number | null;
  detail: string | null;
}

export interface PairResult {
  from: string;
  to: string;
  ssh: "ok" | "fail" | "unchecked";
  tcp: Record<string, TcpResult>;
  /** From pingpong: half the round trip of the smallest message, microseconds. */
  latencyUs?: number;
  /** From pingpong: the largest message's rate, MB/s (10^6 bytes). */
  bandwidthMBs?: number;
}

export interface Failure {
  stage: string;
  kind: string;
  from: string | null;
  to: string | null;
  port: number | null;
  range: string | null;
  expected: string | null;
  detail: string | null;
  message: string;
  hint: string | null;
  /**
   * An MPI test's failure: the lines of mpirun's output that say what went wrong (Open MPI's headline, the host
   * it names, a rank's error), banners and blank lines left out; the first is in `detail` and `message` too.
   */
  output?: string[];
  /** Set when this mpirun was tried twice: why the first try failed (a runtime launch failure). */
  retried?: string | null;
}

/** An mpirun tried once more after its output showed a runtime launch failure. */
export interface Retry {
  stage: string;
  /** The pair for pingpong; the head and null for a test of the whole cluster. */
  from: string;
  to: string | null;
  /** Why: the runtime launch failure the first try's output showed. */
  reason: string;
  /** How the second try ended. */
  result: "pass" | "fail" | "timeout";
}

export interface VerifyReport {
  version: 1;
  ok: boolean;
  failedStage: string | null;
  from: string;
  /** When the job started, UTC (ISO 8601, seconds). */
  at: string | null;
  seconds: number | null;
  summary: string;
  stages: StageResult[];
  ranges: Array<{ label: string; first: number; last: number }>;
  hosts: HostResult[];
  pairs: PairResult[];
  failures: Failure[];
  /** Every retry, passed or not (absent in reports of older jobs). */
  retries?: Retry[];
}

export class ReportError extends Error {}

/** Finds the report (the line that starts with `{"version":`) and the summary line before it. */
export function parseVerifyOutput(stdout: string): { summary: string; report: VerifyReport } {
  const lines = stdout.split("\n");
  const at = lines.findIndex((l) => l.startsWith('{"version":'));
  if (at < 0) {
    const tail = stdout.trim().split("\n").slice(-3).join(" | ");
    throw new ReportError(`the verification job printed no report${tail ? ` (its last output: ${tail})` : " (no output at all)"}`);
  }
  let report: VerifyReport;
  try {
    report = JSON.parse(lines[at]) as VerifyReport;
  } catch (err) {
    throw new ReportError(`the verification report is not valid JSON (${(err as Error).message}): ${lines[at].slice(0, 200)}`);
  }
  if (report.version !== 1)
    throw new ReportError(`unknown verification report version ${String(report.version)} (this mpi-hosts reads version 1)`);
  return { summary: at > 0 ? lines[at - 1] : report.summary, report };
}

/** The job's report as the stack output carries it, and why there is none when there is none. */
export interface JobReport {
  report: VerifyReport;
  /** Set when the job's stdout held no report: `report` is then a failed one that says so. */
  problem?: string;
}

/**
 * Reads the job's stdout (the JSON report; a run of an older mpi-hosts printed a summary line first). The job exits
 * non-zero on any failure, and then `pulumi up` fails with no output; a stdout without a report despite exit 0
 * (lost output; a stray line before the report does not hide it) gives a failed report, never an empty, passing-looking one.
 */
export function reportOfJob(stdout: string, from: string): JobReport {
  try {
    return { report: parseVerifyOutput(stdout).report };
  } catch (err) {
    const problem = (err as Error).message;
    const hint = "run the job again with npm run verify -- --stack NAME, which prints all it says";
    return {
      problem,
      report: {
        version: 1,
        ok: false,
        failedStage: "report",
        from,
        at: null,
        seconds: null,
        summary: `mpi-hosts verify: FAILED from ${from}: ${problem}`,
        stages: [],
        ranges: [],
        hosts: [],
        pairs: [],
        failures: [
          {
            stage: "report",
            kind: "no-report",
            from,
            to: null,
            port: null,
            range: null,
            expected: "the JSON report on the job's standard output",
            detail: null,
            message: problem,
            hint,
          },
        ],
      },
    };
  }
}
