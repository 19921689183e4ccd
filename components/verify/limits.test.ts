/**
 * Every limit of the verification job holds, on this machine, with the job's own shell and python code:
 * with_timeout ends a command that ignores TERM (prterun waiting for a lost daemon does), with GNU timeout and with
 * the perl fallback macOS uses; reap.py ends the processes of one mpirun (by the token in their command line or
 * environment, and what they started, stopped ones too) and nothing else.
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadClusterOrThrow, readStackFile } from "../config/load";
import { templates } from "../templates/templates";
import { planLines, planVerification } from "./plan";
import { verifyProgram } from "./script";

const plan = planVerification(loadClusterOrThrow(readStackFile("Pulumi.example.yaml")).cluster);
const common = templates().render("verify/_common.sh", {});
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "verify-limits-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A PATH without GNU timeout: the tools with_timeout and the test need, linked one by one. */
function pathWithoutTimeout(): string {
  const bin = path.join(dir, "no-timeout-bin");
  if (!fs.existsSync(bin)) {
    fs.mkdirSync(bin);
    for (const tool of ["sh", "perl", "awk", "sleep", "printf", "date", "kill"]) {
      const found = spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
      if (found.startsWith("/")) fs.symlinkSync(found, path.join(bin, tool));
    }
  }
  return bin;
}

/** Runs with_timeout LIMIT COMMAND... under sh; the plan gives the seconds from TERM to KILL. */
function withTimeout(limit: number, command: string, env: NodeJS.ProcessEnv): { code: number; seconds: number } {
  const started = Date.now();
  const script = `plan=$1\n${common}\nwith_timeout "$2" sh -c "$3"`;
  const r = spawnSync("sh", ["-c", script, "sh", "timeout kill 1", String(limit), command], { env, encoding: "utf8" });
  return { code: r.status ?? -1, seconds: (Date.now() - started) / 1000 };
}

const paths: Array<[string, () => NodeJS.ProcessEnv]> = [
  ["GNU timeout", () => process.env],
  ["the perl fallback (macOS)", () => ({ ...process.env, PATH: pathWithoutTimeout() })],
];

describe.each(paths)("with_timeout, with %s", (_what, env) => {
  test("passes a command's own exit status through", () => {
    expect(withTimeout(5, "exit 3", env()).code).toBe(3);
    expect(withTimeout(5, "true", env()).code).toBe(0);
  });

  test("ends a command at its limit with TERM: exit 124", () => {
    const r = withTimeout(1, "sleep 30", env());
    expect(r.code).toBe(124);
    expect(r.seconds).toBeLessThan(5);
  });

  test("ends a command that ignores TERM with KILL, the plan's seconds later: exit 137", () => {
    const r = withTimeout(1, "trap '' TERM; sleep 30; sleep 30", env());
    expect(r.code).toBe(137);
    expect(r.seconds).toBeGreaterThanOrEqual(1.9);
    expect(r.seconds).toBeLessThan(6);
  });

  test("counts 124 and 137 as out of time", () => {
    const r = spawnSync("sh", ["-c", `${common}\nfor c in 124 137 1 0; do if mh_timed_out $c; then echo $c; fi; done`], {
      env: env(),
      encoding: "utf8",
    });
    expect(r.stdout).toBe("124\n137\n");
  });
});

test("the job's scripts read the seconds from TERM to KILL from the plan", () => {
  expect(planLines(plan)).toContain(`timeout kill ${plan.timeouts.killAfter}`);
  expect(common).toContain(`awk '$1 == "timeout" && $2 == "kill" { print $3 }'`);
});

describe("reap.py", () => {
  const reaper = verifyProgram("reap.py");
  const token = `mpihosts-test-${process.pid}-${Date.now()}`;
  const started: ChildProcess[] = [];
  afterAll(() => {
    for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  });

  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      return !/^\d+ \(.*\) Z /.test(stat);
    } catch {
      return false;
    }
  };
  const start = (args: string[], env: NodeJS.ProcessEnv = process.env): number => {
    const p = spawn(args[0], args.slice(1), { env, stdio: "ignore", detached: true });
    started.push(p);
    return p.pid!;
  };

  test("ends the processes marked with its token, what they started, stopped ones too, and nothing else", async () => {
    const daemon = start(["python3", "-c", "import time; time.sleep(300)", "--prtemca", "mpihosts_verify_job", token]);
    // A daemon that started a rank, which carries the token only through its parent.
    const parent = start(["sh", "-c", `: ${token}; sleep 301 & wait`]);
    const rank = start(["sleep", "302"], { ...process.env, OMPI_MCA_mpihosts_verify_job: token });
    const stopped = start(["sh", "-c", `: ${token}; sleep 303`]);
    // Another job's daemon and an unrelated process: a token of their own, or none.
    const other = start(["sh", "-c", `: ${token}-other-run; sleep 304`]);
    const bystander = start(["sleep", "305"]);
    await new Promise((r) => setTimeout(r, 300));
    process.kill(stopped, "SIGSTOP");
    const child = Number(
      execFileSync("sh", ["-c", `cat /proc/*/stat 2>/dev/null | awk '$4 == ${parent} { print $1 }'`], { encoding: "utf8" }).trim(),
    );
    expect(child).toBeGreaterThan(0);

    const state = (pid: number) => (alive(pid) ? "alive" : "ended");
    const all = { daemon, parent, child, rank, stopped, other, bystander };
    expect(Object.values(all).map(state)).toEqual(Object.values(all).map(() => "alive"));
    expect(fs.readFileSync(`/proc/${stopped}/stat`, "utf8")).toMatch(/^\d+ \(sh\) T /);

    const out = execFileSync("python3", ["-"], { input: `token = "${token}"\nhost = "here"\ngrace = 1\n${reaper}`, encoding: "utf8" });
    expect(out).toMatch(/^reaped here [56] python3,sh,sleep all\n$/);
    await new Promise((r) => setTimeout(r, 300));
    expect({
      daemon: state(daemon),
      parent: state(parent),
      child: state(child),
      rank: state(rank),
      stopped: state(stopped),
      other: state(other),
      bystander: state(bystander),
    }).toEqual({ daemon: "ended", parent: "ended", child: "ended", rank: "ended", stopped: "ended", other: "alive", bystander: "alive" });
  });
});
