import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadClusterOrThrow, readStackFile } from "../config/load";
import { HOSTFILE_PATH } from "../facets/hostfile";
import { planVerification } from "./plan";
import { reportOfJob } from "./report";
import { reportShapeProblems } from "./reportShape";
import { shellQuote } from "../templates/shellQuote";
import { TEMPLATE_ROOT } from "../templates/templates";
import { renderPlannedScript, renderVerifyScript, VERIFY_PROGRAMS, verifyProgram } from "./script";

describe("the verification scripts", () => {
  const clusters = {
    example: loadClusterOrThrow(readStackFile("Pulumi.example.yaml")).cluster,
    "linux-system": loadClusterOrThrow(readStackFile("test/fixtures/Pulumi.linux-system.yaml")).cluster,
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "verify-scripts-"));
  const files: string[] = [];
  for (const [label, cluster] of Object.entries(clusters)) {
    const head = renderPlannedScript(planVerification(cluster, { tests: ["helloworld", "ringtest", "pingpong"] }));
    // The per-host script travels inside the head's, as one quoted value: take it out with the shell itself.
    const host = execFileSync("sh", ["-c", `${head.split("\nrun_on() {")[0]}\nprintf '%s' "$host_script"`], { encoding: "utf8" });
    for (const [name, text] of [
      [`${label}-verify.sh`, head],
      [`${label}-host.sh`, host],
    ]) {
      fs.writeFileSync(path.join(dir, name), text);
      files.push(name);
    }
  }
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("include the per-host script whole", () => {
    for (const f of files.filter((n) => n.endsWith("-host.sh"))) {
      const text = fs.readFileSync(path.join(dir, f), "utf8");
      expect(text.startsWith("#!/bin/sh\n")).toBe(true);
      expect(text.trimEnd().endsWith('main "$@" </dev/null')).toBe(true);
    }
  });

  it("pass shellcheck as POSIX sh", () => {
    const result = spawnSync("shellcheck", ["-s", "sh", ...files], { cwd: dir, encoding: "utf8" });
    expect(result.error).toBeUndefined();
    expect(result.stdout).toBe("");
    expect(result.status).toBe(0);
  });

  it("carry the programs that have no placeholders as plain files, as they are; only the shell scripts are templates", () => {
    const templateDir = path.join(TEMPLATE_ROOT, "verify");
    const names = fs.readdirSync(templateDir);
    expect(names.filter((n) => !n.endsWith(".hbs")).sort()).toEqual([...VERIFY_PROGRAMS].sort());
    // The templates are the shell scripts and their shared part (_common.sh): those the plan's values are put into.
    expect(names.filter((n) => n.endsWith(".hbs") && !n.endsWith(".sh.hbs"))).toEqual([]);
    for (const [label] of Object.entries(clusters)) {
      const head = fs.readFileSync(path.join(dir, `${label}-verify.sh`), "utf8");
      for (const name of VERIFY_PROGRAMS) expect(head).toContain(shellQuote(verifyProgram(name)));
    }
  });

  it.each(VERIFY_PROGRAMS.filter((n) => n.endsWith(".py")))("carry %s, which python3 compiles", (name) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, verifyProgram(name));
    execFileSync("python3", ["-m", "py_compile", file]);
  });

  it.each(["sh", "dash", "bash", "zsh"])("parse under %s", (shell) => {
    for (const f of files) execFileSync(shell, ["-n", f], { cwd: dir });
  });

  it("run everything from inside main with stdin closed (the script arrives on stdin; mpirun forwards stdin)", () => {
    for (const f of files)
      expect(fs.readFileSync(path.join(dir, f), "utf8").trimEnd().split("\n").at(-1)).toMatch(/^main ("\$@" )?<\/dev\/null$/);
  });
});

describe("the verification job's output", () => {
  const fixture = () => readStackFile("test/fixtures/Pulumi.linux-system.yaml") as any;

  /**
   * The job on one host, where the head runs every step itself (no ssh); with an empty HOME (no hostfile) it stops
   * at stage software.
   */
  function runAlone(options: { reportOnFailure?: boolean } = {}, homeFiles: string[] = []) {
    const raw = fixture();
    raw.hosts = [raw.hosts[0]];
    const script = renderVerifyScript(loadClusterOrThrow(raw).cluster, options);
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "verify-output-"));
    for (const file of homeFiles) {
      fs.mkdirSync(path.dirname(path.join(home, file)), { recursive: true });
      fs.writeFileSync(path.join(home, file), "node1 slots=2\n");
    }
    try {
      return spawnSync("sh", ["-s"], {
        input: script,
        cwd: home,
        env: { ...process.env, HOME: home, TMPDIR: home },
        encoding: "utf8",
        timeout: 60_000,
      });
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  }

  it("is the JSON report alone on stdout; progress and the summary line go to stderr (pulumi up logs only stderr)", () => {
    const run = runAlone();
    expect({ status: run.status, stderr: run.stderr }).toMatchObject({ status: 1 });
    expect(run.stdout.split("\n")).toEqual([expect.stringMatching(/^\{"version":1,"ok":false,/), ""]);
    const { report, problem } = reportOfJob(run.stdout, "node1");
    expect(problem).toBeUndefined();
    expect(reportShapeProblems(report)).toEqual([]);
    expect(report).toMatchObject({ version: 1, ok: false, failedStage: "software", from: "node1" });
    const stderr = run.stderr.split("\n");
    expect(stderr).toContain(report.summary);
    expect(stderr).toContain("mpi-hosts: verify: preflight failed at stage software: no MPI test started");
  });

  it("looks for the hostfile where the hostfile facet writes it (HOSTFILE_PATH), and names that path when it is missing", () => {
    const kinds = (run: ReturnType<typeof runAlone>) => reportOfJob(run.stdout, "node1").report?.failures.map((f) => f.kind);
    const missing = reportOfJob(runAlone().stdout, "node1").report?.failures.find((f) => f.kind === "hostfile-missing");
    expect(missing?.message).toBe(`node1: no hostfile at ~/${HOSTFILE_PATH}`);
    expect(kinds(runAlone({}, [HOSTFILE_PATH]))).not.toContain("hostfile-missing");
  });

  it("under pulumi up, leaves stdout empty when the job fails: the command's error would repeat the report after the lines already shown", () => {
    const run = runAlone({ reportOnFailure: false });
    expect({ status: run.status, stdout: run.stdout }).toEqual({ status: 1, stdout: "" });
    expect(run.stderr).toMatch(/^mpi-hosts verify: FAILED at stage software /m);
    expect(run.stderr).not.toContain('{"version":1');
  });

  const report = {
    version: 1,
    ok: true,
    failedStage: null,
    from: "node1",
    seconds: 1.5,
    summary: "mpi-hosts verify: ok in 1.5 s",
    stages: [],
  };

  it.each([
    ["the report alone", `${JSON.stringify(report)}\n`],
    [
      "a summary line, then the report (the job of an earlier mpi-hosts, still in the state)",
      `${report.summary}\n${JSON.stringify(report)}\n`,
    ],
  ])("is read into the report object from %s", (_what, stdout) => {
    expect(reportOfJob(stdout, "node1")).toEqual({ report });
  });

  it.each([
    ["nothing", "", /^the verification job printed no report \(no output at all\)$/],
    ["no report", "Welcome to node1!\n", /^the verification job printed no report \(its last output: Welcome to node1!\)$/],
    ["a cut report", '{"version":1,"ok":true,"fa\n', /^the verification report is not valid JSON/],
  ])("is a failed report that says why, never an empty or passing one, from %s", (_what, stdout, why) => {
    const { report: failed, problem } = reportOfJob(stdout, "node1");
    expect(problem).toMatch(why);
    expect(failed).toMatchObject({
      version: 1,
      ok: false,
      failedStage: "report",
      from: "node1",
      summary: `mpi-hosts verify: FAILED from node1: ${problem}`,
    });
    expect(failed.failures).toEqual([expect.objectContaining({ stage: "report", kind: "no-report", message: problem })]);
    expect(reportShapeProblems(failed)).toEqual([]);
  });
});
