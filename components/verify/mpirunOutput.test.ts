/**
 * What the job takes from mpirun's output, as data: for output captured on lab hosts (test/fixtures/mpirun-output:
 * Debian trixie, Open MPI 5.0.7 with PRRTE; bookworm, Open MPI 4.1.4 with ORTE), the lines the report shows and
 * whether the job tries once more. Runs the job's own program (templates/verify/mpirun.awk) with the plan's rules,
 * under every awk on the machine, since the head host may have any of them.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadClusterOrThrow, readStackFile } from "../config/load";
import { renderPlannedScript, verifyProgram } from "./script";
import { LAUNCH_FAILURES, MAX_LINES, NOISE } from "./mpirunOutput";
import { planLines, planVerification } from "./plan";

const exampleCluster = () => loadClusterOrThrow(readStackFile("Pulumi.example.yaml")).cluster;

const AWKS = ["mawk", "gawk", "original-awk", "busybox awk"].filter((awk) => {
  try {
    execFileSync("sh", ["-c", `command -v ${awk.split(" ")[0]}`]);
    return true;
  } catch {
    return false;
  }
});

const FIXTURES = path.resolve(__dirname, "../../test/fixtures/mpirun-output");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "mpirun-output-"));
fs.writeFileSync(path.join(work, "mpirun.awk"), verifyProgram("mpirun.awk"));
fs.writeFileSync(path.join(work, "plan"), `${planLines(planVerification(exampleCluster())).join("\n")}\n`);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** The job's own functions, mpi_lines and mpi_launch, as the rendered script defines them. */
const script = renderPlannedScript(planVerification(exampleCluster()));
const functions = ["mpi_lines", "mpi_launch"].map((name) => {
  const found = script.match(new RegExp(`^${name}\\(\\) \\{\\n[\\s\\S]*?^\\}$`, "m"));
  if (!found) throw new Error(`the rendered job defines no ${name}`);
  return found[0];
});

/** Runs mpi_lines or mpi_launch on a file, with `awk` being the given one. */
function judge(awk: string, mode: "lines" | "launch", file: string): string[] {
  const bin = path.join(work, `bin-${awk.replace(/ /g, "-")}`);
  if (!fs.existsSync(bin)) {
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, "awk"), `#!/bin/sh\nexec ${awk} "$@"\n`, { mode: 0o755 });
  }
  const out = execFileSync("sh", ["-c", `${functions.join("\n")}\nmpi_${mode} "$1"`, "sh", file], {
    encoding: "utf8",
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, work },
  });
  return out.split("\n").filter((l) => l !== "");
}

const LOST = "the runtime lost communication with a remote daemon";
const NOT_STARTED = "a runtime daemon did not start";

/** Sample, how it was provoked on the lab, the lines the report shows, and the retry's reason (none: not retried). */
const SAMPLES: Array<[string, string, string[], string | undefined]> = [
  [
    "prte-prted-killed.txt",
    "pingpong host1-host3, prted on host3 killed (SIGKILL) while it ran; mpirun exited 0",
    [
      "PRTE has lost communication with a remote daemon.",
      "HNP daemon : [prterun-host1-841@0,0] on node host1",
      "Remote daemon: [prterun-host1-841@0,1] on node host3",
    ],
    LOST,
  ],
  [
    "prte-prted-missing.txt",
    "helloworld with --prtemca prte_launch_agent /nonexistent/prted",
    [
      "bash: line 1: /nonexistent/prted: No such file or directory",
      "PRTE has lost communication with a remote daemon.",
      "HNP daemon : [prterun-host1-699@0,0] on node host1",
      "Remote daemon: [prterun-host1-699@0,1] on node host3",
    ],
    LOST,
  ],
  [
    "prte-no-path-to-target-timeout.txt",
    "four pingpongs at once with a fixed runtime range (oob_tcp_dynamic_ipv4_ports), ended at the limit",
    ["[host1:00591] UNSUPPORTED DAEMON ERROR STATE: NO PATH TO TARGET"],
    "the runtime found no path to a daemon (NO PATH TO TARGET)",
  ],
  ["prte-concurrent-timeout.txt", "the same, another of the four: only prterun's answer to TERM, and the setpgid warning", [], undefined],
  ["prte-prted-stopped-timeout.txt", "prted on host3 stopped (SIGSTOP) while it ran, ended at the limit", [], undefined],
  [
    "prte-python-missing.txt",
    "mpirun ... /nonexistent/python3",
    [
      "prterun was unable to launch the specified application as it lacked permissions to execute an executable:",
      "Executable: /nonexistent/python3",
      "Node: host1",
    ],
    undefined,
  ],
  [
    "prte-rank-traceback.txt",
    "both ranks import a module that does not exist",
    [
      "ModuleNotFoundError: No module named 'nosuchmodule'",
      "prterun detected that one or more processes exited with non-zero status, thus causing the job to be terminated.",
      "Process name: [prterun-host1-731@1,0]",
      "Exit code: 1",
    ],
    undefined,
  ],
  [
    "prte-btl-blocked-timeout.txt",
    "pingpong with the BTL range dropped from host3 on host1, ended at a 200 s limit: the first row, then the ranks' end",
    [
      "An MPI communication peer process has unexpectedly disconnected.",
      "Local host: host3",
      "Local PID: 997",
      "Peer host: host1",
      "[host3:00000] *** An error occurred in Socket closed",
      "[host3:00000] *** reported by process [2683895809,1]",
      "[host3:00000] *** on a NULL communicator",
      "[host3:00000] *** Unknown error",
    ],
    undefined,
  ],
  [
    "orte-orted-killed.txt",
    "orted on host3 killed (SIGKILL) while it ran",
    [
      "ORTE has lost communication with a remote daemon.",
      "HNP daemon : [[5112,0],0] on node host1",
      "Remote daemon: [[5112,0],1] on node host3",
    ],
    LOST,
  ],
  [
    "orte-orted-missing.txt",
    "helloworld with --mca orte_launch_agent /nonexistent/orted",
    ["bash: line 1: /nonexistent/orted: No such file or directory", "ORTE was unable to reliably start one or more daemons."],
    NOT_STARTED,
  ],
  [
    "orte-orted-fails.txt",
    "helloworld on 3 hosts, orted on host3 a wrapper that exits 1",
    [
      "orted: failing on purpose (test wrapper)",
      "ORTE was unable to reliably start one or more daemons.",
      "ORTE does not know how to route a message to the specified daemon located on the indicated node:",
      "my node: host1",
      "target node: host2",
    ],
    NOT_STARTED,
  ],
  ["orte-orted-stopped-timeout.txt", "orted on host3 stopped (SIGSTOP) while it ran, ended at the limit: no output", [], undefined],
  [
    "orte-python-missing.txt",
    "mpirun ... /nonexistent/python3",
    [
      "mpirun was unable to launch the specified application as it could not access or execute an executable:",
      "Executable: /nonexistent/python3",
      "Node: host1",
      "2 total processes failed to start",
    ],
    undefined,
  ],
  [
    "orte-rank-exit-code.txt",
    "rank 1 exits 3",
    [
      "Primary job terminated normally, but 1 process returned a non-zero exit code.",
      "mpirun detected that one or more processes exited with non-zero status, thus causing the job to be terminated.",
      "Process name: [[5053,1],1]",
      "Exit code: 3",
    ],
    undefined,
  ],
  [
    "orte-mpi4py3-no-pingpong.txt",
    "python -m mpi4py.bench pingpong under mpi4py 3.1.4",
    [
      "usage: __main__ [options] <command> [args]",
      "__main__: error: unknown command 'pingpong'",
      "Primary job terminated normally, but 1 process returned a non-zero exit code.",
      "mpirun detected that one or more processes exited with non-zero status, thus causing the job to be terminated.",
      "Process name: [[4210,1],1]",
      "Exit code: 2",
    ],
    undefined,
  ],
  [
    "orte-btl-blocked-timeout.txt",
    "a bcast with the BTL range dropped from host3 on host1, ended at a 200 s limit",
    [
      "WARNING: Open MPI failed to TCP connect to a peer MPI process.",
      "Local host: host3",
      "PID: 574",
      "Message: connect() to 10.213.3.11:50000 failed",
      "Error: Operation now in progress (115)",
    ],
    undefined,
  ],
];

describe.each(AWKS)("mpirun's output under %s", (awk) => {
  test.each(SAMPLES)("%s (%s)", (file, _how, lines, reason) => {
    const shown = judge(awk, "lines", path.join(FIXTURES, file));
    expect(shown).toEqual(lines);
    expect(shown.length).toBeLessThanOrEqual(MAX_LINES);
    // No banner, blank line or NUL (PRRTE ends its help messages with one) gets through.
    for (const l of shown) expect(l).toMatch(/^[^-\s\0][ -~]*[^\s]$|^[^-\s\0]$/);
    expect(judge(awk, "launch", path.join(FIXTURES, file))).toEqual(reason === undefined ? [] : [reason]);
  });

  test("keeps at most MAX_LINES lines, each once", () => {
    const file = path.join(work, "chatty.txt");
    const rank = Array.from({ length: 20 }, (_, i) => `[host2:0042${i % 10}] *** line ${i}`);
    fs.writeFileSync(file, [...rank, ...rank].join("\n") + "\n");
    expect(judge(awk, "lines", file)).toEqual(rank.slice(0, MAX_LINES));
  });
});

test("every sample in the fixtures folder is in the table", () => {
  expect(fs.readdirSync(FIXTURES).sort()).toEqual(SAMPLES.map(([f]) => f).sort());
});

test("at least one awk ran the samples", () => {
  expect(AWKS.length).toBeGreaterThan(0);
});

describe("the rules", () => {
  /** A line each noise rule must drop, as it appears in real output. */
  const EXAMPLES: Record<string, string> = {
    "^Abort is in progress": "Abort is in progress...hit ctrl-c again to forcibly terminate",
    "^(.*line [0-9]+: +[0-9]+ )?Killed( |$)": "sh: line 12:  4567 Killed                  timeout -k 5 20 mpirun -n 2",
    "plm:(ssh|rsh): Warning: setpgid": "[host1:00581] plm:ssh: Warning: setpgid(585,585) failed in parent with errno=Permission denied(13)",
    "^Traceback \\(most recent call last\\)": "Traceback (most recent call last):",
    '^ *File "': '  File "<string>", line 1, in <module>',
    "^    ": "    import mpi4py.MPI as M; import nosuchmodule",
    "^ *[~^]+ *$": "                            ^^^^^^^^^^^^^^^^^^^",
    "^Hello, World! I am process ": "Hello, World! I am process 0 of 2 on host1.",
    "^# ": "# Size [B]  Bandwidth [MB/s] | Time Mean [s] ± StdDev [s]  Samples",
    "^ *[0-9]+ +[0-9.]+ +[|]": "         1              0.00 | 9.2834432e-03 ± 4.1785e-03    10000",
    "^time for ": "time for 1 loops = 0.0102 seconds (6 processes, 1 bytes)",
  };

  test.each(NOISE.map((r) => [r.pattern, r]))("noise %s drops its example, in JavaScript and in every awk", (pattern, rule) => {
    const example = EXAMPLES[pattern];
    expect(example).toBeDefined();
    expect(rule.why.length).toBeGreaterThan(20);
    expect(new RegExp(pattern).test(example)).toBe(true);
    const file = path.join(work, "noise.txt");
    fs.writeFileSync(file, `${example}\nthe line that stays\n`);
    for (const awk of AWKS) expect(judge(awk, "lines", file)).toEqual(["the line that stays"]);
  });

  test.each(LAUNCH_FAILURES.map((r) => [r.pattern, r]))("launch %s is plain text the plan can carry", (pattern, rule) => {
    expect(pattern).not.toMatch(/[\t\n]/);
    expect(rule.reason).not.toMatch(/[\t\n"'\\]/);
  });

  test.each([...NOISE, ...LAUNCH_FAILURES].map((r) => [r.pattern]))(
    "%s means the same in POSIX awk and JavaScript (no \\d, \\s, \\b, lookaround, interval or tab)",
    (pattern) => {
      expect(pattern).not.toMatch(/\\[dDsSbBwW]|\(\?|\{[0-9,]+\}|\t/);
      expect(() => new RegExp(pattern)).not.toThrow();
    },
  );
});
