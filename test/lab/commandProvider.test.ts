/**
 * The command provider stand-in (standins/command-provider/pulumi-resource-command.js) running remote commands on a
 * real lab host, the way the verification job ran under `pulumi up` until issue 15 R4 (the job is now the mpi-hosts
 * plugin's VerificationJob; the stand-in still deletes an old job at the upgrade, test/e2e/jobState.test.ts): a command that ends well, and every way one
 * can end badly. None of them may look like success (issue 14: a session killed mid-run became exit 0 and an
 * empty `verification` output). Each failure must say, like the official provider, how the command ended, and add
 * where it ran and how far its output got.
 *   npx jest --selectProjects lab --runInBand test/lab/commandProvider.test.ts
 * MPI_HOSTS_COMMAND_STANDIN=/path/to/copy.js runs the same cases against another copy of the stand-in (one that
 * exports runRemote when required), e.g. an older one, to see which cases it fails.
 */
import * as fs from "fs";
import * as path from "path";
import { Lab, rootExec, startLab, stopLab } from "../../lab/lab";
import { labHost } from "../../lab/harness/labHelpers";
import { Timings } from "./support/timings";

jest.setTimeout(600000);

interface RemoteResult {
  stdout: string;
  stderr: string;
}
interface StandIn {
  runRemote(
    urn: string,
    props: Record<string, unknown>,
    cmd: string,
    previous?: unknown,
    opts?: Record<string, unknown>,
  ): Promise<RemoteResult>;
}
const standIn: StandIn = require(
  process.env.MPI_HOSTS_COMMAND_STANDIN || path.join(__dirname, "../../standins/command-provider/pulumi-resource-command.js"),
);

const LAB = "cmdprov";
// golang.org/x/crypto/ssh (session.go), the texts the official provider's errors start with.
const EXIT_MISSING = "wait: remote command exited without exit status or exit signal";

let lab: Lab;
let where = "";
const timings = new Timings("commandProvider.test.ts: time from the failure to its report");
const messages: string[] = [];

function connection(host = "host1") {
  const h = labHost(lab, host);
  return { host: h.address, port: h.port, user: h.user, privateKey: fs.readFileSync(lab.privateKeyPath, "utf8"), hostKey: h.hostKey };
}

/** Runs cmd on host1 through the stand-in; the error (or the result) and how long it took. */
async function remote(cmd: string, stdin?: string): Promise<{ result?: RemoteResult; error?: Error; ms: number }> {
  const started = Date.now();
  try {
    const result = await standIn.runRemote("", { connection: connection(), stdin, logging: "none" }, cmd);
    return { result, ms: Date.now() - started };
  } catch (e) {
    messages.push((e as Error).message.split("\n")[0]);
    return { error: e as Error, ms: Date.now() - started };
  }
}

async function root(script: string): Promise<string> {
  const r = await rootExec(lab, "host1", script);
  if (r.code !== 0) throw new Error(`host1 as root: ${script}\nexit ${r.code}: ${r.stderr || r.stdout}`);
  return r.stdout.trim();
}

/** Waits (as root on host1) until the command wrote its shell's PID to `file`; returns that PID. */
async function pidFrom(file: string): Promise<number> {
  const pid = await root(`for i in $(seq 1 500); do [ -s ${file} ] && break; sleep 0.02; done; cat ${file}`);
  expect(pid).toMatch(/^\d+$/);
  return Number(pid);
}

/** A command that prints progress on both streams, records its shell's PID, then waits a long time. */
function longJob(marker: string): string {
  return [
    `echo "progress: ${marker} step 1 of 3"`,
    `echo "progress: ${marker} step 2 of 3" >&2`,
    `echo $$ > /tmp/${marker}.pid`,
    "exec sleep 300",
  ].join("; ");
}

function expectOutputSoFar(message: string, marker: string): void {
  // The output so far ends the message: its last lines say how far the command got.
  expect(message).toContain(`progress: ${marker} step 1 of 3`);
  expect(message.trimEnd().split("\n").pop()).toMatch(/progress: .* step [12] of 3/);
  expect(message).not.toContain("step 3 of 3");
}

beforeAll(async () => {
  const started = Date.now();
  lab = await startLab({ name: LAB, hosts: 1, release: "trixie" });
  const h = labHost(lab, "host1");
  where = `${h.user}@${h.address}:${h.port}`;
  console.log(`commandProvider.test.ts: 1 trixie host up in ${Date.now() - started} ms`);
});

afterAll(async () => {
  timings.print();
  console.log(`commandProvider.test.ts: first lines of the errors\n  ${messages.join("\n  ")}`);
  await stopLab(LAB);
});

describe("command:remote:Command (stand-in) on a real host", () => {
  test("a command that exits 0 succeeds with its stdout and stderr (trailing newline trimmed, stdin passed)", async () => {
    const r = await remote("cat; echo out; echo err >&2", "from stdin\n");
    expect(r.error).toBeUndefined();
    expect(r.result).toEqual({ stdout: "from stdin\nout", stderr: "err" });
  });

  test("a non-zero exit fails with its status, the host and the output so far", async () => {
    const r = await remote(`echo "progress: exit step 1 of 3"; echo "progress: exit step 2 of 3" >&2; exit 3`);
    timings.note(`exit 3: ${r.ms} ms`);
    expect(r.result).toBeUndefined();
    expect(r.error?.message).toMatch(new RegExp(`^Process exited with status 3: running ".*exit 3" on ${where}:\n`));
    expectOutputSoFar(r.error!.message, "exit");
  });

  test("a command killed by a signal fails with the signal (status 128 + n, as Go's ssh reports it)", async () => {
    const run = remote(longJob("cmdprov-signal"));
    const pid = await pidFrom("/tmp/cmdprov-signal.pid");
    await root(`kill -KILL ${pid}`);
    const r = await run;
    timings.note(`remote command killed (SIGKILL): ${r.ms} ms from the start`);
    expect(r.result).toBeUndefined();
    expect(r.error?.message).toMatch(new RegExp(`^Process exited with status 137 from signal KILL: running ".*" on ${where}:\n`));
    expectOutputSoFar(r.error!.message, "cmdprov-signal");
  });

  // customTimeouts become the request's deadline; like the official provider, the stand-in checks it between dial
  // attempts (a running command is not stopped by it). Port 2401 is dropped by the host's firewall: every attempt
  // times out, and with dialErrorLimit -1 only the deadline ends the loop.
  test("customTimeouts end a dial loop that would retry for ever: context deadline exceeded, naming the host", async () => {
    const h = labHost(lab, "host1");
    const conn = { ...connection(), port: 2401, perDialTimeout: 1, dialErrorLimit: -1 };
    const started = Date.now();
    const run = standIn.runRemote("", { connection: conn, logging: "none" }, "true", undefined, { deadline: started + 3000 }).then(
      () => new Error("the command ran"),
      (e: Error) => e,
    );
    const hung = new Promise<Error>((resolve) => setTimeout(() => resolve(new Error("still dialing 30 s later")), 30000).unref());
    const error = await Promise.race([run, hung]);
    const ms = Date.now() - started;
    timings.note(`customTimeouts 3 s while dialing a dropped port: reported after ${ms} ms`);
    messages.push(error.message.split("\n")[0]);
    expect(error.message).toMatch(
      new RegExp(`^context deadline exceeded \\(customTimeouts: dialing ${h.user}@${h.address}:2401, \\d+ attempts failed`),
    );
    expect(ms).toBeGreaterThanOrEqual(3000);
    expect(ms).toBeLessThan(6000);
  });

  // The session's sshd process (the parent of the command's shell) dying is what a reboot or a crash of sshd
  // looks like from the client: no exit status, ever.
  test.each(["KILL", "TERM"])(
    "the session's sshd process killed (SIG%s) mid-run fails naming the host and the output so far",
    async (signal) => {
      const marker = `cmdprov-sshd-${signal.toLowerCase()}`;
      const run = remote(longJob(marker));
      const pid = await pidFrom(`/tmp/${marker}.pid`);
      const sshd = await root(`read -r _ comm _ ppid _ < /proc/${pid}/stat; echo "$ppid $(tr '\\0' ' ' < /proc/$ppid/cmdline)"`);
      // sshd-session (OpenSSH >= 9.8) or sshd: the process serving this session.
      expect(sshd).toMatch(/^\d+ sshd/);
      const killedAt = Date.now();
      await root(`kill -${signal} ${sshd.split(" ")[0]}`);
      const r = await run;
      timings.note(`session's sshd killed (SIG${signal}): reported ${Date.now() - killedAt} ms after the kill`);
      expect(r.result).toBeUndefined();
      expect(r.error?.message).toMatch(new RegExp(`^${EXIT_MISSING}: running ".*" on ${where} \\(.+\\):\n`));
      expectOutputSoFar(r.error!.message, marker);
      expect(Date.now() - killedAt).toBeLessThan(10000);
    },
  );

  // Last: the host's network goes away while the command runs (a cable pulled, a host frozen). TCP never tells the
  // client; the keepalive budget does (the official provider: Go's TCP keepalive, 15 s + 9 x 15 s).
  test("the host's network dropped mid-run fails within the keepalive budget (about 150 s), not never", async () => {
    const run = remote(longJob("cmdprov-net"));
    await pidFrom("/tmp/cmdprov-net.pid");
    const droppedAt = Date.now();
    try {
      await root("ip link set eth0 down");
      // Past 200 s it counts as a hang (the old stand-in waited for ever).
      const hung = new Promise<{ error: Error }>((resolve) =>
        setTimeout(() => resolve({ error: new Error("still waiting 200 s after the drop") }), 200000).unref(),
      );
      const r: { result?: RemoteResult; error?: Error } = await Promise.race([run, hung]);
      const after = Date.now() - droppedAt;
      timings.note(`network dropped: reported ${after} ms after eth0 went down`);
      expect(r.result).toBeUndefined();
      expect(r.error?.message).toMatch(new RegExp(`^${EXIT_MISSING}: running ".*" on ${where} \\(.*stopped answering.*\\):\n`));
      expectOutputSoFar(r.error!.message, "cmdprov-net");
      // The budget counts from the last keepalive answer, at most 15 s before the drop.
      expect(after).toBeGreaterThan(120000);
      expect(after).toBeLessThan(170000);
    } finally {
      await root("ip link set eth0 up");
    }
  });
});
