/**
 * Issue 15, item 6, without a host: the shell text the provider sends (components/provider/remote.ts) run here with
 * /bin/sh, as a host would. The watchdog ends a script that outlives its limit together with everything in its process
 * group (a child that ignores TERM included); the host lock keeps two frames apart, flock(1) and the mkdir lock (macOS)
 * alike, says who holds it when the wait runs out, and takes over a mkdir lock whose holder is gone.
 * Real hosts, as the user and through sudo: test/security/hostLock.lab.test.ts.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { decodeParts, guardedScript, KILL_GRACE_SECONDS, partsScript } from "../../components/provider/remote";

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

let home: string;
beforeEach(() => (home = fs.mkdtempSync(path.join(os.tmpdir(), "mh-lock-"))));
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

function sh(input: string): Promise<Ran> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn("/bin/sh", ["-s"], { env: { PATH: "/usr/bin:/bin", HOME: home } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
    child.stdin.end(input);
  });
}

/** Running (a zombie waiting for its reaper counts as ended). */
const running = (pid: number) => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = spawnSync("ps", ["-o", "stat=", "-p", String(pid)], { encoding: "utf8" }).stdout.trim();
  return stat !== "" && !stat.startsWith("Z");
};

describe("the watchdog around a script with a limit", () => {
  test("ends the script and its whole process group, a child that ignores TERM too, and says so", async () => {
    const pids = path.join(home, "pids");
    // A child that ignores TERM (only KILL ends it) and a plain one, both recording their pids.
    const script =
      `(trap '' TERM; exec sh -c 'echo $$ >>${pids}; exec sleep 300') & ` + `sh -c 'echo $$ >>${pids}; exec sleep 300' & wait\n`;
    const ran = await sh(`mh_limit=1\n${guardedScript(script)}`);
    expect(ran.code).toBe(124);
    expect(ran.stderr).toBe("@@mpi-hosts-timeout\n");
    // TERM at 1 s, KILL for the one that ignores it KILL_GRACE_SECONDS later, then the watchdog returns.
    expect(ran.ms).toBeGreaterThanOrEqual((1 + KILL_GRACE_SECONDS) * 1000 - 500);
    expect(ran.ms).toBeLessThan((1 + KILL_GRACE_SECONDS) * 1000 + 2500);
    const left = fs.readFileSync(pids, "utf8").trim().split("\n").map(Number);
    expect(left).toHaveLength(2);
    expect(left.filter(running)).toEqual([]);
  });

  test("leaves a script that ends in time alone: its exit code, stdout, stderr and stdin as before", async () => {
    const ran = await sh(`mh_limit=30\n${guardedScript("echo out; echo err >&2; exit 3\n")}`);
    expect(ran).toMatchObject({ code: 3, stdout: "out\n", stderr: "err\n" });
    expect(ran.ms).toBeLessThan(3000);
  });

  test("does not start a script whose time is used up already", async () => {
    const ran = await sh(`mh_limit=0\n${guardedScript(`touch ${home}/ran\n`)}`);
    expect(ran).toMatchObject({ code: 124, stderr: "@@mpi-hosts-timeout\n" });
    expect(fs.existsSync(`${home}/ran`)).toBe(false);
  });
});

describe.each([
  ["flock(1)", "/usr/bin/flock"],
  ["the mkdir lock (no flock, as on macOS)", "/nonexistent/flock"],
])("the host lock with %s", (_what, flock) => {
  /** A frame whose one part records when it starts and ends, and holds the lock `seconds` long. */
  const frame = (tag: string, seconds: number, waitSeconds: number) =>
    partsScript(
      [
        {
          script: `echo "${tag} start $(date +%s%N)" >>"$HOME/log"; sleep ${seconds}; echo "${tag} end $(date +%s%N)" >>"$HOME/log"\n`,
          step: `${tag} apply`,
        },
      ],
      { timeoutSeconds: 60, lock: { waitSeconds }, flock },
    );

  test("two frames at once take turns: the second starts after the first ends", async () => {
    const runs = await Promise.all([sh(frame("a", 1.5, 30)), sh(frame("b", 1.5, 30))]);
    expect(runs.map((r) => decodeParts(r.stdout, 1)[0]?.code)).toEqual([0, 0]);
    const log = fs
      .readFileSync(`${home}/log`, "utf8")
      .trim()
      .split("\n")
      .map((l) => l.split(" "));
    expect(log.map(([, what]) => what)).toEqual(["start", "end", "start", "end"]);
    expect(log[0][0]).toBe(log[1][0]);
    expect(Number(log[2][2])).toBeGreaterThanOrEqual(Number(log[1][2]));
  });

  test("a frame that waited its bound fails saying who holds the lock (pid, since when, which step)", async () => {
    const holder = sh(frame("holder", 4, 30));
    await new Promise((r) => setTimeout(r, 1000));
    const waiter = await sh(frame("waiter", 0, 1));
    expect(waiter.code).toBe(75);
    expect(waiter.stderr).toMatch(/^@@mpi-hosts-lock-busy \d+ \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ holder apply\n$/);
    expect(waiter.stdout).toBe("");
    expect((await holder).code).toBe(0);
    expect(fs.readFileSync(`${home}/log`, "utf8")).not.toMatch(/waiter/);
  });

  test("a holder that died leaves no lock behind", async () => {
    fs.mkdirSync(`${home}/.mpi-hosts`, { mode: 0o700 });
    if (flock.startsWith("/nonexistent")) {
      // What a frame killed with KILL leaves: the directory and a holder line whose pid no longer runs.
      fs.mkdirSync(`${home}/.mpi-hosts/lock.d`);
      fs.writeFileSync(`${home}/.mpi-hosts/lock.d/holder`, "999999 2025-01-01T00:00:00Z dead apply\n");
    }
    const ran = await sh(frame("next", 0, 2));
    expect(decodeParts(ran.stdout, 1)[0]?.code).toBe(0);
    expect(fs.existsSync(`${home}/.mpi-hosts/lock.d`)).toBe(false);
    // Nothing of the lock stays in the home: pulumi destroy must give it back as it was.
    expect(fs.existsSync(`${home}/.mpi-hosts`)).toBe(false);
  });
});
