/**
 * The motivating story, for real, on a 3-host lab of each image: behind the hosts' default-drop firewalls a plain
 * `mpirun ... ringtest` across the hosts hangs; after every facet is applied through the facet provider (as
 * `pulumi up` would: hosts in parallel, facets in order), the verification job passes.
 *   npx jest --selectProjects lab --runTestsByPath test/lab/story.test.ts --runInBand
 */
import { FacetOutputs, facetProvider } from "../../components/provider/facetProvider";
import { closeAll, runScript } from "../../components/provider/remote";
import { renderVerifyScript } from "../../components/verify/script";
import { Lab, startLab, stopLab } from "../../lab/lab";
import { connectionFor } from "../../lab/harness/facetRunner";
import { giveMpiUserClusterSsh, rootOk, sshExec } from "../../lab/harness/labHelpers";
import { facetInputs, facetsOf, labCluster, newClusterKey } from "../../lab/harness/labCluster";
import { Timings } from "./support/timings";

jest.setTimeout(300000);

const HOSTS = ["host1", "host2", "host3"];
/** How long the hand-made run gets before it counts as hung (it passes in about 1.5 s once the ports are open). */
const HANG_SECONDS = 30;

/**
 * Runs mpirun on host1 as user mpi over SSH under `timeout`; output goes through a file because the ssh clients
 * mpirun starts sit in process groups of their own and, after a kill, would keep the SSH channel open.
 * A run still going after `diagnoseAfterSeconds` has every host's MPI processes and half-open TCP connections
 * recorded in `stuck` (while it hangs), for the failure message.
 */
async function mpirunFromHost1(
  lab: Lab,
  args: string,
  timeoutSeconds: number,
  diagnoseAfterSeconds = timeoutSeconds + 1,
): Promise<{ exit: number; output: string; seconds: number; stuck: string }> {
  const started = Date.now();
  let stuck = "";
  const timer = setTimeout(() => {
    void Promise.all(
      HOSTS.map((h) => rootOk(lab, h, "ps -u mpi -o pid,etimes,args; ss -tnp state syn-sent").then((out) => `${h}:\n${out}`)),
    ).then(
      (all) => (stuck = all.join("")),
      (e) => (stuck = String(e)),
    );
  }, diagnoseAfterSeconds * 1000);
  try {
    const r = await sshExec(
      lab,
      "host1",
      `timeout -k 5 ${timeoutSeconds} mpirun ${args} </dev/null >/tmp/mpirun.out 2>&1; echo "exit=$?"; cat /tmp/mpirun.out`,
      { timeoutMs: (timeoutSeconds + 30) * 1000 },
    );
    const [first, ...rest] = r.stdout.split("\n");
    return { exit: Number(first.replace("exit=", "")), output: rest.join("\n"), seconds: (Date.now() - started) / 1000, stuck };
  } finally {
    clearTimeout(timer);
  }
}

const timings = new Timings("story.test.ts timings");
afterAll(() => timings.print());

describe.each(["trixie", "bookworm"] as const)("the story on 3 %s hosts behind default-drop firewalls", (release) => {
  const LAB = `story-${release}`;
  let lab: Lab;

  beforeAll(async () => {
    const started = Date.now();
    lab = await startLab({ name: LAB, hosts: 3, release });
    timings.note(`${release}: lab of 3 hosts up in ${Date.now() - started} ms`);
  });

  afterAll(async () => {
    await closeAll();
    await stopLab(LAB);
  });

  test("by hand: ssh works between the hosts, yet mpirun ringtest across them does not finish", async () => {
    expect(await rootOk(lab, "host2", "iptables -S INPUT | head -n 1")).toBe("-P INPUT DROP\n");
    // A hand-written ssh config (port 2400, the lab key, pinned host keys) and hostfile: launch itself works...
    await giveMpiUserClusterSsh(lab);
    await sshExec(lab, "host1", "printf 'host1 slots=2\\nhost2 slots=2\\nhost3 slots=2\\n' > /tmp/hand-hostfile");
    for (const h of HOSTS) expect((await sshExec(lab, "host1", `ssh ${h} hostname </dev/null`)).stdout).toBe(`${h}\n`);

    // ...but the ranks and daemons cannot reach each other's dynamic ports.
    const ring = await mpirunFromHost1(lab, "--hostfile /tmp/hand-hostfile -n 6 python3 -m mpi4py.bench ringtest", HANG_SECONDS);
    timings.note(`${release}: hand-made ringtest killed after ${ring.seconds.toFixed(1)} s (exit ${ring.exit})`);
    // 124: timeout's TERM ended it; 137: mpirun was still "aborting" 5 s later and got KILL.
    expect([124, 137]).toContain(ring.exit);
    expect(ring.output).not.toMatch(/time for/);
    expect(ring.seconds).toBeGreaterThanOrEqual(HANG_SECONDS);

    // Undo the hand-made setup, so that what follows works through the facets alone.
    await Promise.all(
      HOSTS.map((h) =>
        rootOk(
          lab,
          h,
          `rm -f /home/mpi/.ssh/config /home/mpi/.ssh/known_hosts /home/mpi/.ssh/id_ed25519 /tmp/hand-hostfile
# the killed run's leftovers, if any, by process id
for pid in $(pgrep -u mpi -x 'prted|orted|python3|mpirun|ssh' || true); do kill -9 "$pid" 2>/dev/null || true; done
sleep 0.2; ps -u mpi -o comm= | grep -E '^(prted|orted|python3|mpirun|ssh)$' && exit 1 || true`,
        ),
      ),
    );
  });

  test("through the provider: every facet of every host converges, then the verification job passes", async () => {
    const cluster = labCluster(lab);
    const key = newClusterKey();
    const started = Date.now();
    const notes: string[] = [];
    await Promise.all(
      HOSTS.map(async (h) => {
        for (const f of facetsOf(cluster, h, key)) {
          const t = Date.now();
          const { outs } = (await facetProvider.create(facetInputs(lab, f, key))) as { outs: FacetOutputs };
          notes.push(`${h} ${f.facet} (${Date.now() - t} ms): ${outs.lastApply}`);
        }
      }),
    );
    const applyMs = Date.now() - started;
    timings.note(`${release}: create of ${notes.length} facets on 3 hosts: ${applyMs} ms`);
    console.log(`${release}: what the facets did\n  ${notes.sort().join("\n  ")}`);
    expect(notes.map((n) => n.split(" ").slice(0, 2).join(" ")).sort()).toEqual(
      HOSTS.flatMap((h) => ["python", "sshConfig", "clusterTrust", "mcaParams", "firewall", "hostfile"].map((f) => `${h} ${f}`)).sort(),
    );

    const verifyStarted = Date.now();
    const verified = await runScript(connectionFor(lab, cluster.verify.from), renderVerifyScript(cluster), {
      step: "verify",
      timeoutSeconds: 4 * cluster.verify.timeoutSeconds,
    });
    timings.note(`${release}: verification job (helloworld + ringtest, 6 ranks): ${Date.now() - verifyStarted} ms`);
    console.log(`${release}: verification output\n${verified.stdout}${verified.stderr}`);
    expect(verified.code).toBe(0);
    // The job exits non-zero on any failure; its summary names each test that passed.
    expect(verified.stdout).toMatch(/helloworld:? ok/);
    expect(verified.stdout).toMatch(/ringtest:? ok/);

    // When a run after the facets hangs, `stuck` shows where: a SYN-SENT to 127.0.0.1 on a port inside the MPI
    // ranges means a runtime daemon's loopback listener drew an ephemeral port there and the firewall facet's chain
    // (jumped before INPUT's loopback accept) dropped it (seen about once in 30 runs; reported, not fixed here).
    // The very run that hung before, now from the hostfile the facet wrote (the timeout is generous: the machine
    // may be busy; it takes about 2 s).
    const ring = await mpirunFromHost1(lab, "--hostfile ~/.mpi-hosts/hostfile -n 6 python3 -m mpi4py.bench ringtest", 90, 20);
    timings.note(`${release}: the same ringtest, by hand, after the facets: ${ring.seconds.toFixed(1)} s`);
    expect({ exit: ring.exit, output: ring.output, ...(ring.exit !== 0 && { stuck: ring.stuck }) }).toEqual({
      exit: 0,
      output: expect.stringMatching(/time for/),
    });
    expect(ring.output).toMatch(/^time for 1 loops = [\d.e-]+ seconds \(6 processes, 1 bytes\)$/m);

    // Every rank by name, as a user would run it.
    const hello = await mpirunFromHost1(lab, "--hostfile ~/.mpi-hosts/hostfile -n 6 python3 -m mpi4py.bench helloworld", 90, 20);
    timings.note(`${release}: helloworld, by hand, after the facets: ${hello.seconds.toFixed(1)} s`);
    expect({ exit: hello.exit, output: hello.output, ...(hello.exit !== 0 && { stuck: hello.stuck }) }).toEqual({
      exit: 0,
      output: expect.stringContaining("Hello"),
    });
    expect(
      hello.output
        .split("\n")
        .filter((l) => l.startsWith("Hello"))
        .sort(),
    ).toEqual([0, 1, 2, 3, 4, 5].map((rank) => `Hello, World! I am process ${rank} of 6 on host${Math.floor(rank / 2) + 1}.`));
    // The firewall still drops everything else: the default policy is unchanged.
    expect(await rootOk(lab, "host2", "iptables -S INPUT | head -n 1")).toBe("-P INPUT DROP\n");
  });
});
