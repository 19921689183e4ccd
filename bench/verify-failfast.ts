/**
 * How fast the verification job says what is wrong, against what a user sees today.
 *   npm run bench -- verify-failfast        (root: it starts a lab; not part of npm test)
 *
 * On a 3-host trixie lab with every facet applied, with the BTL range (50000-50099) dropped from host1 on host3:
 *  - our job: preflight finds the pair and fails (time from here, SSH connection included);
 *  - plain `mpirun --hostfile ~/.mpi-hosts/hostfile -n 6 python3 -m mpi4py.bench ringtest` on host1, which hangs:
 *    killed at 60 s.
 * Also the healthy job's time, before the block. Prints the figures; exits 1 when a figure is not what it claims.
 */
import * as fs from "fs";
import { HOSTFILE_PATH } from "../components/facets/hostfile";
import { closeAll } from "../components/provider/remote";
import { runVerification, VerifyRun } from "../components/verify/run";
import { stopLab } from "../lab/lab";
import { sshExec } from "../lab/harness/labHelpers";
import { blockPorts, startVerifyLab, unblockPorts } from "../lab/harness/verifyLab";
import { benchLabName } from "./labName";

const RUNS = 3;
const PLAIN_LIMIT_S = 60;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const s = (x: number) => `${x.toFixed(1)} s`;

/** Exit status 1 when a figure is not what it claims; throws when it could not run. The lab is stopped either way. */
export async function runVerifyFailfast(): Promise<number> {
  const LAB = benchLabName("verify-bench");
  const log = (line: string) => process.stdout.write(`${line}\n`);
  log(`starting lab '${LAB}' (3 trixie hosts) and applying every facet...`);
  try {
    const { lab, cluster } = await startVerifyLab({ name: LAB, hosts: 3, release: "trixie" });
    const key = fs.readFileSync(lab.privateKeyPath, "utf8");
    const problems: string[] = [];
    const healthy: VerifyRun[] = [];
    for (let i = 0; i < RUNS; i++) healthy.push(await runVerification(cluster, { privateKey: key }, { tests: ["helloworld", "ringtest"] }));
    const withPingpong = await runVerification(cluster, { privateKey: key }, { tests: ["helloworld", "ringtest", "pingpong"] });
    if (healthy.some((r) => r.code !== 0) || withPingpong.code !== 0) problems.push("the healthy job did not pass");

    await blockPorts(lab, "host1", "host3", cluster.mpi.btlPorts.first, cluster.mpi.btlPorts.last);
    const blocked: VerifyRun[] = [];
    for (let i = 0; i < RUNS; i++) blocked.push(await runVerification(cluster, { privateKey: key }));
    const named = blocked[0].report?.failures[0]?.message ?? blocked[0].problem ?? "(no report)";
    if (blocked.some((r) => r.code !== 1 || r.report?.failedStage !== "tcp"))
      problems.push("the job did not fail at the tcp stage on the blocked lab");

    log(`plain mpirun ringtest on the blocked lab (killed at ${PLAIN_LIMIT_S} s)...`);
    const started = Date.now();
    const plain = await sshExec(
      lab,
      "host1",
      `timeout -k 5 ${PLAIN_LIMIT_S} mpirun --hostfile ~/${HOSTFILE_PATH} -n 6 python3 -m mpi4py.bench ringtest`,
      { timeoutMs: (PLAIN_LIMIT_S + 30) * 1000 },
    );
    const plainSeconds = (Date.now() - started) / 1000;
    const plainOutcome = plain.code === 124 || plain.code === 137 ? `no result, killed at ${PLAIN_LIMIT_S} s` : `exited ${plain.code}`;
    await unblockPorts(lab, "host1", "host3", cluster.mpi.btlPorts.first, cluster.mpi.btlPorts.last);

    log("");
    log("verify fail-fast benchmark (3 trixie lab hosts, Open MPI 5.0, 2 slots each; times from the controller, SSH included)");
    log(
      `  healthy job, preflight + helloworld + ringtest:  median ${s(median(healthy.map((r) => r.seconds)))} (${healthy.map((r) => s(r.seconds)).join(", ")})`,
    );
    log(`  healthy job, preflight + helloworld + ringtest + pingpong (3 pairs):  ${s(withPingpong.seconds)}`);
    log(
      `  blocked BTL pair, our job fails:  median ${s(median(blocked.map((r) => r.seconds)))} (${blocked.map((r) => s(r.seconds)).join(", ")})`,
    );
    log(`    it says: ${named}`);
    log(`  blocked BTL pair, plain mpirun ringtest:  ${s(plainSeconds)} (${plainOutcome})`);
    if (plain.code === 0) problems.push("plain mpirun finished on the blocked lab: the block did not hold");
    for (const p of problems) log(`PROBLEM: ${p}`);
    return problems.length ? 1 : 0;
  } finally {
    await closeAll();
    await stopLab(LAB);
  }
}
