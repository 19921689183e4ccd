/**
 * Concurrent MPI jobs on hosts configured by mpi-hosts, firewall on: the settings we write must let several
 * mpiruns run at once from one host and from two hosts (a parameter sweep; all as one user here), on Open MPI 5 (PRRTE,
 * trixie) and 4.1 (ORTE, bookworm). Before oobPorts defaulted to ephemeral, 12 of 24 such jobs failed on each
 * ("NO PATH TO TARGET", or a hang; bench/results/concurrent-jobs-f38d0a2.txt): mpirun listened on every port of
 * the fixed runtime range.
 * bench/concurrent-jobs.ts measures both settings side by side.
 */
import { Cluster } from "../../components/config/types";
import { closeAll } from "../../components/provider/remote";
import { runVerification } from "../../components/verify/run";
import type { Release } from "../../lab/image";
import { Lab, stopLab } from "../../lab/lab";
import { rootOk, sshExec } from "../../lab/harness/labHelpers";
import { startVerifyLab } from "../../lab/harness/verifyLab";

jest.setTimeout(900000);

const ROUNDS = 50;
const LIMIT_S = 60;

/** The jobs of one round, started together: three from host1, one from host2, each a ring over three hosts (BTL traffic). */
const JOBS = [
  { from: "host1", hosts: "host2:1,host3:1,host4:1" },
  { from: "host1", hosts: "host1:1,host3:1,host4:1" },
  { from: "host1", hosts: "host2:1,host4:1,host1:1" },
  { from: "host2", hosts: "host3:1,host1:1,host2:1" },
];

interface JobResult {
  from: string;
  ok: boolean;
  detail: string;
}

/** One ringtest; its output goes through a file, so a daemon that outlives mpirun cannot hold the session open. */
async function ringtest(lab: Lab, from: string, hosts: string): Promise<JobResult> {
  const command =
    `o=$(mktemp); timeout -k 5 ${LIMIT_S} mpirun -n 3 --host ${hosts} python3 -m mpi4py.bench ringtest >"$o" 2>&1; ` +
    `rc=$?; cat "$o"; rm -f "$o"; exit $rc`;
  const r = await sshExec(lab, from, command, { timeoutMs: (LIMIT_S + 30) * 1000 });
  const ok = r.code === 0 && /^time for \d+ loops = /m.test(r.stdout);
  const meaningful = r.stdout.split("\n").find((l) => /lost communication|NO PATH|unable|failed|ERROR/i.test(l) && !/setpgid/.test(l));
  return { from, ok, detail: ok ? "" : `exit ${r.code}: ${meaningful ?? r.stdout.trim().split("\n").pop()}` };
}

describe.each<Release>(["trixie", "bookworm"])("concurrent jobs on %s hosts configured by mpi-hosts (firewall on)", (release) => {
  const LAB = `conc-${release}`;
  let lab: Lab;
  let cluster: Cluster;

  beforeAll(async () => {
    await stopLab(LAB);
    ({ lab, cluster } = await startVerifyLab({ name: LAB, hosts: 4, release }));
  });

  afterAll(async () => {
    await closeAll();
    await stopLab(LAB);
  });

  test("the hosts drop what the firewall does not open, and the MCA files fix no runtime port range", async () => {
    for (const h of ["host1", "host2", "host3", "host4"]) {
      expect(await rootOk(lab, h, "iptables -S INPUT")).toContain("-P INPUT DROP");
      expect(await rootOk(lab, h, "iptables -S MPI-HOSTS")).toContain(`-s ${lab.network} -p tcp -m tcp --dport 32768:65535 -j ACCEPT`);
      const files = await rootOk(lab, h, "cat /home/mpi/.openmpi/mca-params.conf /home/mpi/.prte/mca-params.conf");
      expect(files).not.toContain("oob_tcp_dynamic_ipv4_ports");
    }
  });

  test(`${ROUNDS} rounds of four mpirun ringtests at once, three from one host and one from another: none fails`, async () => {
    const failures: string[] = [];
    const started = Date.now();
    for (let round = 1; round <= ROUNDS; round++) {
      const results = await Promise.all(JOBS.map((j) => ringtest(lab, j.from, j.hosts)));
      for (const r of results) if (!r.ok) failures.push(`round ${round}, from ${r.from}: ${r.detail}`);
    }
    const seconds = (Date.now() - started) / 1000;
    console.log(`${release}: ${ROUNDS * JOBS.length} concurrent jobs, ${failures.length} failed, ${seconds.toFixed(1)} s`);
    expect(failures).toEqual([]);
  });

  test("the verification job passes with pingpong, whose pairs of a round run as concurrent mpiruns from the head", async () => {
    const run = await runVerification(
      cluster,
      { keyFile: lab.privateKeyPath },
      {
        tests: ["helloworld", "ringtest", "pingpong"],
      },
    );
    expect({ code: run.code, failures: run.report?.failures.map((f) => f.message) }).toEqual({ code: 0, failures: [] });
    if (release === "trixie") expect(run.report?.pairs.every((p) => (p.latencyUs ?? 0) > 0)).toBe(true);
  });

  test("the verification job names a host whose ephemeral ports lie outside the window the firewall opens", async () => {
    // The runtime would listen where the firewall drops: a check that passed here would lie.
    await rootOk(lab, "host3", "sysctl -q -w net.ipv4.ip_local_port_range='20000 29999'");
    try {
      const run = await runVerification(cluster, { keyFile: lab.privateKeyPath }, { tests: ["helloworld"] });
      expect(run.code).toBe(1);
      expect(run.report?.failedStage).toBe("tcp");
      expect(run.report?.failures.map((f) => f.message)).toContainEqual(
        expect.stringMatching(
          /^host3: hands out ports 20000-29999 \(port 2\d{4} this time\), where the runtime listens, not all inside oob 32768-65535 that the firewall opens$/,
        ),
      );
    } finally {
      await rootOk(lab, "host3", "sysctl -q -w net.ipv4.ip_local_port_range='32768 60999'");
    }
  });
});
