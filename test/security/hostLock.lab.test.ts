/**
 * Issue 15, item 6 on a real host (a 1-host trixie lab named "lock"), checked as root from inside the host (rootExec,
 * `ps`), not with mpi-hosts' own tools:
 *   - a step that outlives its limit is ended on the host with everything it started (a child that ignores TERM
 *     included), as the login user and as root through sudo, alone (runScript) and in a batch (runParts);
 *   - applies of facets on one host (root and user facets, as two `pulumi up`s would run them) take turns, and a run
 *     that waited its bound for the lock fails naming the host, the holder's pid, step and since when.
 *   npx jest --selectProjects lab --runInBand test/security/hostLock.lab.test.ts
 */
import { closeAll, Connection, KILL_GRACE_SECONDS, runParts, runScript } from "../../components/provider/remote";
import { Lab, startLab, stopLab } from "../../lab/lab";
import { connectionFor } from "../../lab/harness/facetRunner";
import { rootOk } from "../../lab/harness/labHelpers";

jest.setTimeout(600000);

const LAB = "lock";
const HOST = "host1";

let lab: Lab;
let conn: Connection;

beforeAll(async () => {
  lab = await startLab({ name: LAB, hosts: 1, release: "trixie", firewall: "none" });
  conn = connectionFor(lab, HOST);
});

afterAll(async () => {
  await closeAll();
  await stopLab(LAB);
});

/** The processes on the host whose command line has `marker`, as root sees them (zombies excluded), one per line. */
async function left(marker: string): Promise<string> {
  const ps = await rootOk(lab, HOST, `ps -eo stat=,user=,pid=,args= | grep -F -- '${marker}' | grep -v -e grep -e '^Z' || true`);
  return ps.trim();
}

/** A script that would run 300 s: a child that ignores TERM, and a plain one; `tag` names them in `ps`. */
const stubborn = (tag: string) => `(trap '' TERM; exec sh -c 'exec sleep 300${tag}') &\nsh -c 'exec sleep 300${tag}' &\nwait\n`;

describe("a step that outlives its limit", () => {
  test.each([
    ["as the login user", false, "1"],
    ["as root through sudo", true, "2"],
  ])("is ended on the host with what it started, %s (runScript)", async (_who, sudo, tag) => {
    const started = Date.now();
    const failed = await runScript(conn, stubborn(tag), { sudo, step: "lock stubborn apply", timeoutSeconds: 2 }).catch((e: Error) => e);
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `runScript ${sudo ? "root" : "user"}: rejected after ${seconds.toFixed(1)} s (limit 2 s, KILL grace ${KILL_GRACE_SECONDS} s)`,
    );
    expect(await left(`sleep 300${tag}`)).toBe("");
    expect(failed).toBeInstanceOf(Error);
    expect((failed as Error).message).toMatch(/^host1: lock stubborn apply did not finish within 2s; ended it on host1 \(TERM/);
  });

  test("is ended on the host with what it started, in a batch of a user and a root part (runParts)", async () => {
    const run = runParts(
      conn,
      [
        { script: "echo quick", step: "lock quick probe" },
        { script: stubborn("3"), sudo: true, step: "lock stubborn probe" },
      ],
      2,
    );
    const failed = await run.catch((e: Error) => e);
    expect(await left("sleep 3003")).toBe("");
    expect((failed as Error).message).toMatch(/^host1: lock stubborn probe did not finish within 2s; ended it on host1/);
  });
});

describe("the host lock", () => {
  /**
   * An apply that records when it starts and ends (in a file of its own: root's and the user's), run as the facet
   * operations run an apply: through runParts, holding the host lock (facetOperations' hostLock; that apply and remove
   * ask for it is checked without a host in test/security/stateScripts.unit.test.ts). The facet operations themselves
   * render only mpi-hosts' own scripts (issue 15, item 3), so these timing scripts run one level below them.
   */
  const apply = (name: string, sudo: boolean) => {
    const log = `/tmp/lock-${name}.log`;
    const script = `echo "start $(date +%s%3N)" >>${log}; sleep 2; echo "end $(date +%s%3N)" >>${log}\n`;
    return runParts(conn, [{ script, sudo, step: `${name} apply` }], 60, { lock: { waitSeconds: 60 + KILL_GRACE_SECONDS + 10 } });
  };

  test("keeps applies on one host apart: root and user facets, as two pulumi ups would run them", async () => {
    await rootOk(lab, HOST, "rm -f /tmp/lock-*.log");
    const started = Date.now();
    await Promise.all([apply("locka", false), apply("lockb", true), apply("lockc", false), apply("lockd", true)]);
    const seconds = (Date.now() - started) / 1000;
    const logs = await rootOk(lab, HOST, "for f in /tmp/lock-*.log; do tr '\\n' ' ' <$f; echo; done");
    const spans = logs
      .trim()
      .split("\n")
      .map((l) => l.trim().split(" "))
      .map(([, start, , end]) => [Number(start), Number(end)])
      .sort((a, b) => a[0] - b[0]);
    console.log(`4 applies of 2 s on one host: ${seconds.toFixed(1)} s in all`);
    expect(spans).toHaveLength(4);
    for (let i = 1; i < spans.length; i++) expect(spans[i][0]).toBeGreaterThanOrEqual(spans[i - 1][1]);
  });

  test("a run that waited its bound fails naming the host, and the holder's pid, step and since when", async () => {
    const holder = runScript(conn, "sleep 6", { step: "lock holder apply", timeoutSeconds: 30, lock: { waitSeconds: 30 } });
    await new Promise((r) => setTimeout(r, 1500));
    const started = Date.now();
    const waiter = runScript(conn, "touch /tmp/lock-waiter-ran", {
      sudo: true,
      step: "lock waiter apply",
      timeoutSeconds: 30,
      lock: { waitSeconds: 2 },
    });
    await expect(waiter).rejects.toThrow(
      /^host1: lock waiter apply waited 2s for the host lock \(of mpi's home on host1\), held by another mpi-hosts run: pid \d+ on host1 \(lock holder apply\) holds it since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\. /,
    );
    console.log(`waiter gave up after ${((Date.now() - started) / 1000).toFixed(1)} s (wait bound 2 s)`);
    expect((await holder).code).toBe(0);
    expect(await rootOk(lab, HOST, "ls /tmp/lock-waiter-ran 2>&1 || true")).toMatch(/No such file/);
    // The lock is a flock on the login user's home, taken by that user only (root steps run inside the user's frame),
    // and leaves nothing there once the runs end: destroy must give the home back as it was.
    expect(await rootOk(lab, HOST, "ls -A ~mpi/.mpi-hosts 2>&1 || true")).toMatch(/No such file/);
  });
});
