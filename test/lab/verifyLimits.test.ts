/**
 * The verification job never hangs and explains itself, against real lab hosts brought to the state `pulumi up`
 * leaves: an mpirun whose remote daemon is stopped ends at its limit (TERM, then KILL), the report names the stage
 * and the pair, and nothing of the job stays on any host (checked as root with ps and ss, not with the job's own
 * tools) while another MPI job of the same user keeps running; a runtime launch failure is tried once more and the
 * report says so; a second failure fails with mpirun's own words (not its banners). Trixie (Open MPI 5, PRRTE) and
 * bookworm (Open MPI 4, ORTE).
 *   npx jest --selectProjects lab --runInBand test/lab/verifyLimits.test.ts
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { run as verifyCli } from "../../cli/verify";
import { Cluster } from "../../components/config/types";
import { closeAll } from "../../components/provider/remote";
import { planVerification } from "../../components/verify/plan";
import { VerifyReport } from "../../components/verify/report";
import { runVerification, VerifyRun } from "../../components/verify/run";
import { Lab, renderLabStack, rootExec, stopLab } from "../../lab/lab";
import { rootOk, sshExec } from "../../lab/harness/labHelpers";
import { startVerifyLab } from "../../lab/harness/verifyLab";

jest.setTimeout(900000);

const TRIXIE = "vlim-prrte";
const BOOKWORM = "vlim-orte";
/** verify.timeoutSeconds in these tests: the limit of one mpirun. */
const LIMIT = 15;
const LOST = "the runtime lost communication with a remote daemon";
const NOT_STARTED = "a runtime daemon did not start";
const figures: string[] = [];

interface Started {
  lab: Lab;
  cluster: Cluster;
  key: string;
}
const labs: Record<string, Started> = {};

async function verify(s: Started, tests: Array<"helloworld" | "ringtest" | "pingpong">): Promise<VerifyRun & { report: VerifyReport }> {
  const result = await runVerification(s.cluster, { privateKey: s.key }, { tests });
  if (!result.report) throw new Error(`no report: ${result.problem}\n${result.stderr}`);
  return result as VerifyRun & { report: VerifyReport };
}

/** The CLI in this process, on the lab's stack file with these tests. */
async function cli(s: Started, tests: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "verify-limits-cli-"));
  const stack = path.join(dir, "Pulumi.vlim.yaml");
  fs.writeFileSync(stack, renderLabStack(s.lab).replace("timeoutSeconds: 60", `timeoutSeconds: ${LIMIT}`));
  let stdout = "";
  let stderr = "";
  const out = jest.spyOn(process.stdout, "write").mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = jest.spyOn(process.stderr, "write").mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    return { code: await verifyCli([stack, "--tests", tests]), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const MPI_NAMES = ["prterun", "prted", "orterun", "orted", "mpirun", "python3", "ssh", "timeout", "sh"];

/** User mpi's MPI-related processes on a host, as root sees them: "PID STATE NAME ARGS". */
async function mpiProcesses(lab: Lab, host: string): Promise<string[]> {
  const out = await rootOk(lab, host, "ps -u mpi -o pid=,stat=,comm=,args= || true");
  return out
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && MPI_NAMES.includes(l.split(/\s+/)[2]))
    .filter((l) => !/\bps -u mpi\b/.test(l));
}

/** TCP listeners of user mpi's processes on a host (ss as root): "PORT NAME PID". */
async function mpiListeners(lab: Lab, host: string): Promise<string[]> {
  const out = await rootOk(lab, host, "ss -Htlnp || true");
  return out
    .split("\n")
    .flatMap((l) => [...l.matchAll(/\("([^"]+)",pid=(\d+),fd=\d+\)/g)].map((m) => `${l.split(/\s+/)[3]} ${m[1]} ${m[2]}`))
    .filter((l) => MPI_NAMES.includes(l.split(" ")[1]));
}

const pidOf = (line: string) => line.split(/\s+/)[0];

/** Puts a wrapper in front of a runtime daemon on a host: fail the first time, fail always, or stop itself at start. */
async function wrapDaemon(lab: Lab, host: string, daemon: "prted" | "orted", mode: "once" | "always" | "stop"): Promise<void> {
  const body =
    mode === "stop"
      ? 'kill -STOP $$\nexec /usr/local/lib/vlim/DAEMON "$@"'
      : `if [ ${mode} = always ] || [ ! -e /tmp/vlim-DAEMON-failed ]; then : >/tmp/vlim-DAEMON-failed; echo 'DAEMON: failing on purpose (test wrapper)' >&2; exit 1; fi\nexec /usr/local/lib/vlim/DAEMON "$@"`;
  await rootOk(
    lab,
    host,
    [
      "set -e",
      "mkdir -p /usr/local/lib/vlim",
      "[ -e /usr/local/lib/vlim/DAEMON ] || mv /usr/bin/DAEMON /usr/local/lib/vlim/DAEMON",
      "rm -f /tmp/vlim-DAEMON-failed",
      `printf '%s\\n' '#!/bin/sh' '# test wrapper (verifyLimits.test.ts)' ${body
        .split("\n")
        .map((l) => `'${l.replace(/'/g, "'\\''")}'`)
        .join(" ")} >/usr/bin/DAEMON`,
      "chmod 755 /usr/bin/DAEMON",
    ]
      .join("\n")
      .replace(/DAEMON/g, daemon),
  );
}

async function unwrapDaemon(lab: Lab, host: string, daemon: "prted" | "orted"): Promise<void> {
  await rootOk(
    lab,
    host,
    `if [ -e /usr/local/lib/vlim/${daemon} ]; then mv -f /usr/local/lib/vlim/${daemon} /usr/bin/${daemon}; fi; rm -f /tmp/vlim-${daemon}-failed`,
  );
}

/** Polls until the check returns something (or the deadline passes, then undefined). */
async function until<T>(check: () => Promise<T | undefined>, ms: number, every = 200): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const found = await check();
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, every));
  }
  return undefined;
}

async function start(name: string, release: "trixie" | "bookworm"): Promise<Started> {
  const started = Date.now();
  const { lab, cluster } = await startVerifyLab(
    { name, hosts: 3, release },
    { verify: { from: "host1", tests: ["helloworld", "ringtest"], timeoutSeconds: LIMIT } },
  );
  figures.push(`start a 3-host ${release} lab and apply every facet: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { lab, cluster, key: fs.readFileSync(lab.privateKeyPath, "utf8") };
}

afterAll(async () => {
  await closeAll();
  for (const name of [TRIXIE, BOOKWORM]) await stopLab(name);
  console.log(`verifyLimits.test.ts figures\n  ${figures.join("\n  ")}`);
});

describe("trixie (Open MPI 5, PRRTE)", () => {
  beforeAll(async () => {
    labs.trixie = await start(TRIXIE, "trixie");
  });

  test("a pingpong whose remote daemon is stopped ends at its limit, names the stage and the pair, and leaves nothing of the job on any host; another job of the user keeps running", async () => {
    const { lab } = labs.trixie;
    const plan = planVerification(labs.trixie.cluster, { tests: ["pingpong"] });
    try {
      // Another MPI job of the same user, on host2 and host3, started by hand: it must outlive the job's clean-up.
      await sshExec(
        lab,
        "host2",
        `nohup mpirun -n 2 --host host2:1,host3:1 python3 -c 'import time; time.sleep(900)' bystander >/dev/null 2>&1 </dev/null &`,
      );
      const bystander: Record<string, string[]> = {};
      await until(async () => {
        for (const h of ["host2", "host3"]) bystander[h] = await mpiProcesses(lab, h);
        return bystander.host2.some((l) => / prterun /.test(l)) && bystander.host3.some((l) => / python3 /.test(l)) ? true : undefined;
      }, 30000);
      expect(bystander.host3.filter((l) => / prted /.test(l)).length).toBeGreaterThan(0);

      // While the job runs: stop (SIGSTOP), as root, every prted on host3 that is not the other job's.
      const others = bystander.host3.map(pidOf).join(" ");
      const stopping = until(
        async () => {
          const r = await rootExec(
            lab,
            "host3",
            `stopped=; for p in $(pgrep -u mpi -x prted); do case " ${others} " in *" $p "*) ;; *) kill -STOP $p; stopped="$stopped $p" ;; esac; done; [ -n "$stopped" ] && echo $stopped`,
          );
          return r.code === 0 ? r.stdout.trim() : undefined;
        },
        120000,
        100,
      );
      const result = await verify(labs.trixie, ["pingpong"]);
      expect(await stopping).toMatch(/^\d+( \d+)*$/);
      // The pair in which host3 took part when its daemon stopped.
      const failed = result.report.failures.find((f) => f.to === "host3" || f.from === "host3");
      expect(failed).toBeDefined();
      const [from, to] = [failed!.from, failed!.to];

      const stage = result.report.stages.find((s) => s.name === "pingpong")!;
      figures.push(
        `stopped prted (${from} <-> ${to}, limit ${LIMIT} s, KILL ${plan.timeouts.killAfter} s later): the job ended after ${result.seconds.toFixed(1)} s, pingpong stage ${stage.seconds} s (${stage.detail})`,
      );
      expect(result.code).toBe(1);
      expect(result.report.failedStage).toBe("pingpong");
      expect(result.report.failures.map((f) => [f.kind, f.from, f.to])).toEqual([["pair-timeout", from, to]]);
      const failure = result.report.failures[0];
      expect(failure.message).toMatch(new RegExp(`^pingpong: ${from} <-> ${to}: no result within ${LIMIT} s`));
      // What the stopped pair left was ended, by name, on the hosts where it was.
      expect(failure.message).toMatch(/ended the processes it left: .*on host3 \([a-z0-9,]*prted/);
      expect(failure.hint).toContain("a rank or daemon stopped or starved");
      // Within its limits: the pair's try (limit, KILL, one ssh round) and the rounds before it; the whole job.
      const roundsRun = Number(/stopped after round (\d+)/.exec(stage.detail ?? "")?.[1] ?? plan.pingpongRounds.length);
      expect(stage.seconds).toBeLessThan(roundsRun * plan.timeouts.mpirun + 5);
      expect(result.seconds).toBeLessThan(plan.timeouts.job + 10);

      // Independent of the job: ps and ss as root. Nothing of the job is left on any host; the other job runs on.
      const before = new Set(Object.values(bystander).flat().map(pidOf));
      for (const host of lab.hosts.map((h) => h.name)) {
        const left = (await mpiProcesses(lab, host)).filter((l) => !before.has(pidOf(l)));
        expect({ host, left }).toEqual({ host, left: [] });
        const listening = (await mpiListeners(lab, host)).filter((l) => !before.has(l.split(" ")[2]));
        expect({ host, listening }).toEqual({ host, listening: [] });
      }
      for (const host of ["host2", "host3"]) {
        const now = await mpiProcesses(lab, host);
        for (const line of bystander[host]) {
          const alive = now.find((l) => pidOf(l) === pidOf(line));
          expect({ host, line, alive: alive?.split(/\s+/)[1]?.[0] }).toEqual({ host, line, alive: "S" });
        }
      }
    } finally {
      await rootOk(lab, "host2", "pkill -u mpi -f bystander || true");
    }
  });

  describe("a runtime daemon that fails", () => {
    afterEach(async () => {
      await unwrapDaemon(labs.trixie.lab, "host3", "prted");
    });

    test("once: the pair is tried once more, passes, and the report says it was retried and why", async () => {
      await wrapDaemon(labs.trixie.lab, "host3", "prted", "once");
      const result = await verify(labs.trixie, ["pingpong"]);
      expect({ code: result.code, failures: result.report.failures }).toEqual({ code: 0, failures: [] });
      expect(result.report.retries).toHaveLength(1);
      const retry = result.report.retries![0];
      expect(retry).toMatchObject({ stage: "pingpong", reason: LOST, result: "pass" });
      expect([retry.from, retry.to]).toContain("host3");
      const note = `retried once: ${retry.from} <-> ${retry.to} (${LOST}), passed`;
      expect(result.report.summary).toContain(`pingpong ok (${note})`);
      expect(result.report.stages.find((s) => s.name === "pingpong")!.detail).toContain(note);
      expect(result.stderr).toContain(`mpi-hosts: verify: pingpong ${retry.from} <-> ${retry.to}: trying once more: ${LOST}`);
      figures.push(`prted failing once on host3: retried 1 pair, passed; job ${result.seconds.toFixed(1)} s`);
    });

    test("always: the second failure fails, with mpirun's own lines, naming the pair and the host; npm run verify prints them", async () => {
      await wrapDaemon(labs.trixie.lab, "host3", "prted", "always");
      const result = await verify(labs.trixie, ["pingpong"]);
      expect(result.code).toBe(1);
      expect(result.report.failedStage).toBe("pingpong");
      const pairsWithHost3 = result.report.failures.map((f) => `${f.from}<->${f.to}`).sort();
      expect(pairsWithHost3).toEqual(["host1<->host3", "host2<->host3"]);
      for (const f of result.report.failures) {
        expect(f.kind).toBe("pair-launch");
        expect(f.message).toMatch(
          new RegExp(
            `^pingpong: ${f.from} <-> host3: mpirun exited \\d+: prted: failing on purpose \\(test wrapper\\); .*tried twice, the first try failed too: ${LOST}$`,
          ),
        );
        expect(f.output).toEqual(
          expect.arrayContaining([
            "prted: failing on purpose (test wrapper)",
            "PRTE has lost communication with a remote daemon.",
            expect.stringMatching(/^Remote daemon: \[prterun-host1-\d+@0,\d\] on node host3$/),
          ]),
        );
        for (const line of f.output!) expect(line).not.toMatch(/^-+$|^\s*$/);
        expect(f.retried).toBe(LOST);
      }
      expect(result.report.retries!.map((r) => r.result)).toEqual(["fail", "fail"]);
      // The pair without host3 was measured.
      expect(result.report.pairs.find((p) => p.from === "host1" && p.to === "host2")!.bandwidthMBs).toBeGreaterThan(0);

      const out = await cli(labs.trixie, "pingpong");
      expect(out.code).toBe(1);
      const lines = out.stdout.split("\n");
      expect(lines).toContainEqual(
        expect.stringMatching(/^ {2}\d\. \[pingpong\] pingpong: host\d <-> host3: mpirun exited \d+: prted: failing on purpose/),
      );
      expect(lines).toContain("     | PRTE has lost communication with a remote daemon.");
      expect(lines).toContainEqual(expect.stringMatching(/^ {5}\| Remote daemon: .* on node host3$/));
      expect(lines).toContain(`  pingpong host1 <-> host3 retried once (${LOST}): failed again`);
      expect(lines.filter((l) => /-----/.test(l))).toEqual([]);
      for (const host of labs.trixie.lab.hosts.map((h) => h.name))
        expect({ host, left: await mpiProcesses(labs.trixie.lab, host) }).toEqual({ host, left: [] });
    });
  });
});

describe("bookworm (Open MPI 4, ORTE)", () => {
  beforeAll(async () => {
    await stopLab(TRIXIE);
    labs.bookworm = await start(BOOKWORM, "bookworm");
  });
  afterEach(async () => {
    await unwrapDaemon(labs.bookworm.lab, "host3", "orted");
  });

  test("helloworld whose orted on host3 stops at its start ends at its limit and leaves nothing of the job on any host", async () => {
    const { lab } = labs.bookworm;
    const plan = planVerification(labs.bookworm.cluster, { tests: ["helloworld"] });
    await wrapDaemon(lab, "host3", "orted", "stop");
    const result = await verify(labs.bookworm, ["helloworld"]);
    const stage = result.report.stages.find((s) => s.name === "helloworld")!;
    figures.push(
      `orted stopped at its start on host3 (limit ${LIMIT} s): the job ended after ${result.seconds.toFixed(1)} s, helloworld stage ${stage.seconds} s`,
    );
    expect(result.report.failures.map((f) => [f.stage, f.kind, f.from, f.to])).toEqual([["helloworld", "test-timeout", "host1", null]]);
    expect(result.report.failures[0].message).toMatch(
      new RegExp(`^helloworld: no result within ${LIMIT} s.*; ended the processes it left: .*on host3 \\(`),
    );
    expect(stage.seconds).toBeLessThan(plan.timeouts.mpirun + 5);
    for (const host of lab.hosts.map((h) => h.name)) {
      expect({ host, left: await mpiProcesses(lab, host) }).toEqual({ host, left: [] });
      expect({ host, listening: await mpiListeners(lab, host) }).toEqual({ host, listening: [] });
    }
  });

  test("an orted that fails once is tried once more; one that always fails fails with ORTE's own words", async () => {
    const { lab } = labs.bookworm;
    await wrapDaemon(lab, "host3", "orted", "once");
    const once = await verify(labs.bookworm, ["helloworld", "ringtest"]);
    expect({ code: once.code, failures: once.report.failures }).toEqual({ code: 0, failures: [] });
    expect(once.report.retries).toEqual([{ stage: "helloworld", from: "host1", to: null, reason: NOT_STARTED, result: "pass" }]);
    expect(once.report.summary).toContain(`helloworld ok (retried once: mpirun (${NOT_STARTED}), passed)`);

    await wrapDaemon(lab, "host3", "orted", "always");
    const always = await verify(labs.bookworm, ["helloworld", "ringtest"]);
    expect(always.report.failures.map((f) => [f.stage, f.kind])).toEqual([["helloworld", "test-launch"]]);
    const f = always.report.failures[0];
    expect(f.message).toMatch(
      new RegExp(
        `^helloworld: mpirun exited \\d+: orted: failing on purpose \\(test wrapper\\); tried twice, the first try failed too: ${NOT_STARTED}$`,
      ),
    );
    expect(f.output).toContain("ORTE was unable to reliably start one or more daemons.");
    expect(always.report.stages.find((s) => s.name === "ringtest")!.status).toBe("notrun");
    figures.push(
      `orted failing on host3: once -> retried, passed (${once.seconds.toFixed(1)} s); always -> failed after the retry (${always.seconds.toFixed(1)} s)`,
    );
  });
});
