/**
 * Concurrent mpiruns on hosts configured by mpi-hosts, with the runtime on ephemeral ports (the default) and on a
 * fixed range (oobPorts: 50100-50199, the default before issue 14), on the same lab, firewall on.
 *   npm run bench -- concurrent-jobs [--release trixie|bookworm] [--rounds 12] [--at-once 2]
 * (root: it starts a lab; not part of npm test). Each round starts --at-once `mpirun -n 2 ... mpi4py.bench
 * helloworld` from host1 together, each under `timeout -k 5 40`. Prints, per setting, how many jobs failed and the
 * first meaningful line of each failure; exits 1 only when it could not run.
 */
import { closeAll } from "../components/provider/remote";
import { Release } from "../lab/image";
import { Lab, stopLab } from "../lab/lab";
import { sshExec } from "../lab/harness/labHelpers";
import { labCluster } from "../lab/harness/labCluster";
import { applyAllFacets, startVerifyLab } from "../lab/harness/verifyLab";
import { benchLabName } from "./labName";

const PAIRS = ["host2:1,host3:1", "host3:1,host2:1", "host2:1,host3:1", "host3:1,host2:1"];

async function round(lab: Lab, atOnce: number): Promise<string[]> {
  const runs = await Promise.all(
    PAIRS.slice(0, atOnce).map((hosts) =>
      sshExec(
        lab,
        "host1",
        `o=$(mktemp); timeout -k 5 40 mpirun -n 2 --host ${hosts} python3 -m mpi4py.bench helloworld >"$o" 2>&1; rc=$?; cat "$o"; rm -f "$o"; exit $rc`,
        { timeoutMs: 90000 },
      ),
    ),
  );
  return runs.flatMap((r) => {
    if (r.code === 0 && (r.stdout.match(/^Hello, World!/gm) ?? []).length === 2) return [];
    const line = r.stdout.split("\n").find((l) => /lost communication|NO PATH|unable|failed|ERROR/i.test(l) && !/setpgid/.test(l));
    return [`exit ${r.code}${r.code === 124 || r.code === 137 ? " (killed at 40 s)" : ""}: ${line?.replace(/^\[[^\]]*\] /, "") ?? "-"}`];
  });
}

async function measure(lab: Lab, label: string, rounds: number, atOnce: number): Promise<void> {
  const failures: string[] = [];
  const started = Date.now();
  for (let i = 0; i < rounds; i++) failures.push(...(await round(lab, atOnce)));
  const counts = new Map<string, number>();
  for (const f of failures) counts.set(f, (counts.get(f) ?? 0) + 1);
  console.log(`  ${label}: ${failures.length} of ${rounds * atOnce} failed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  for (const [f, n] of counts) console.log(`      ${n} x ${f}`);
}

export interface ConcurrentJobsOptions {
  release: Release;
  /** Rounds per setting. */
  rounds: number;
  /** mpiruns started together in a round (at most as many as there are host pairs to give them). */
  atOnce: number;
}

export const MAX_AT_ONCE = PAIRS.length;

export async function runConcurrentJobs({ release, rounds, atOnce: wanted }: ConcurrentJobsOptions): Promise<void> {
  const atOnce = Math.min(wanted, MAX_AT_ONCE);
  const name = benchLabName("concbench");
  const stop = () => void stopLab(name).finally(() => process.exit(130));
  process.once("SIGINT", stop);
  try {
    const { lab } = await startVerifyLab({ name, hosts: 3, release });
    console.log(`${release}, 3 lab hosts, firewall on; ${rounds} rounds of ${atOnce} mpiruns at once from host1`);
    await measure(lab, "oobPorts: ephemeral (no runtime port range, 32768-65535 open to the cluster)", rounds, atOnce);
    const fixed = labCluster(lab, { mpi: { network: lab.network, btlPorts: "50000-50099", oobPorts: "50100-50199" } });
    await applyAllFacets(lab, fixed);
    await measure(lab, "oobPorts: 50100-50199 (oob_tcp_dynamic_ipv4_ports in the MCA files)", rounds, atOnce);
  } finally {
    process.removeListener("SIGINT", stop);
    await closeAll();
    await stopLab(name);
  }
}
