/**
 * What mpirun printed, judged: which of its lines say what went wrong, and whether they show a runtime launch
 * failure, the one kind of failure the job tries once more. The rules are data, decided here; the job applies them
 * on the head host (templates/verify/mpirun.awk reads them as plan lines), because the retry has to be decided
 * there, while the job runs, and so that `pulumi up` and `npm run verify` show the same lines. Its unit test runs
 * that program over output captured from lab hosts (test/fixtures/mpirun-output).
 *
 * Patterns are POSIX extended regular expressions that mean the same in JavaScript: no \d, \s, \b, lookarounds or
 * {n,m} (old mawk has no intervals), and no tab (the plan line separates fields with tabs).
 */

export interface NoiseRule {
  pattern: string;
  /** Why a person reading the failure does not need the line. */
  why: string;
}

/** Lines outside Open MPI's help messages that say nothing about the cause. */
export const NOISE: NoiseRule[] = [
  { pattern: "^Abort is in progress", why: "prterun's answer to the job's own TERM at the limit, not a cause" },
  {
    pattern: "^(.*line [0-9]+: +[0-9]+ )?Killed( |$)",
    why: "the shell's own note that `timeout` needed KILL at the limit (dash: Killed; bash: line N: PID Killed ...)",
  },
  {
    pattern: "plm:(ssh|rsh): Warning: setpgid",
    why: "Open MPI cannot move its ssh into a process group of its own in some containers; the launch goes on",
  },
  { pattern: "^Traceback \\(most recent call last\\)", why: "a python traceback: its last line says what failed" },
  { pattern: '^ *File "', why: "a frame of a python traceback" },
  { pattern: "^    ", why: "source lines of a python traceback (indented four spaces)" },
  { pattern: "^ *[~^]+ *$", why: "python's marks under the failing expression" },
  { pattern: "^Hello, World! I am process ", why: "helloworld's answers: the job counts them" },
  { pattern: "^# ", why: "the header of pingpong's table" },
  { pattern: "^ *[0-9]+ +[0-9.]+ +[|]", why: "a row of pingpong's table" },
  { pattern: "^time for ", why: "ringtest's timing line" },
];

export interface LaunchFailureRule {
  pattern: string;
  /** What the retry note says happened. */
  reason: string;
}

/**
 * Output that shows the runtime itself failed to start or keep its daemons (not the program, not a blocked MPI
 * port): with Open MPI 5 (PRRTE), concurrent jobs on one host can lose a daemon at random (README, "Runtime ports"), and a
 * busy host can miss the daemon's report. Tried once more; a second failure fails.
 */
export const LAUNCH_FAILURES: LaunchFailureRule[] = [
  { pattern: "has lost communication with a remote daemon", reason: "the runtime lost communication with a remote daemon" },
  { pattern: "NO PATH TO TARGET", reason: "the runtime found no path to a daemon (NO PATH TO TARGET)" },
  { pattern: "does not know how to route a message to the specified daemon", reason: "the runtime found no path to a daemon" },
  { pattern: "was unable to reliably start one or more daemons", reason: "a runtime daemon did not start" },
  { pattern: "daemon has unexpectedly failed after launch", reason: "a runtime daemon failed before it reported back" },
];

/** At most this many lines of one mpirun's output go into the report. */
export const MAX_LINES = 8;

/** The rules as the job reads them from its plan: `noise<TAB>PATTERN`, `launch<TAB>REASON<TAB>PATTERN`, `outmax<TAB>N`. */
export function outputRuleLines(): string[] {
  return [
    ["outmax", String(MAX_LINES)].join("\t"),
    ...NOISE.map((r) => ["noise", r.pattern].join("\t")),
    ...LAUNCH_FAILURES.map((r) => ["launch", r.reason, r.pattern].join("\t")),
  ];
}
