/**
 * What the verification job will check, computed from the config before anything runs: the hosts with the
 * paths each must have, the port ranges to probe, the MPI tests and their limits, and the problems the config
 * alone already shows (a BTL range smaller than a host's slots). The job's
 * scripts read this plan as plain lines (planLines); nothing here touches a host.
 */
import { portCount } from "../config/net";
import { Cluster, Os, PortRange, VerifyTest } from "../config/types";
import { pythonPaths } from "../facets/python";
import { hintLines } from "./failures";
import { outputRuleLines } from "./mpirunOutput";

export interface PlannedHost {
  name: string;
  address: string;
  port: number;
  user: string;
  slots: number;
  python: string;
  mpirun: string;
  /** Conda prefix; undefined for system packages. */
  prefix?: string;
  /** A Mac's Application Firewall may drop what pf lets in: the TCP stage names it there (issue 18). */
  os: Os;
}

/** A problem the config alone shows, in the job's failure-record fields. */
export interface PlannedFailure {
  kind: "btl-too-small";
  /** The port range it is about. */
  label: "btl" | "oob";
  from: string;
  to: string;
  expected: string;
  detail: string;
}

export interface VerifyOptions {
  /** Tests to run instead of the config's verify.tests. */
  tests?: VerifyTest[];
  /** Largest pingpong message (bytes); pingpong walks the powers of two up to it. */
  pingpongMaxBytes?: number;
  /** Connect timeout of one TCP probe, seconds. */
  tcpTimeoutSeconds?: number;
  /** SSH connections one host opens at once (sshd's MaxStartups drops beyond 10 pending by default). */
  sshParallel?: number;
}

export interface VerifyPlan {
  from: string;
  kind: "conda" | "system";
  hosts: PlannedHost[];
  btl: PortRange;
  oob: PortRange;
  /** The runtime listens on a port the system picks (ephemeral), which must lie in `oob`; else the first free port of it. */
  oobEphemeral: boolean;
  tests: VerifyTest[];
  ranks: number;
  timeouts: {
    /** ssh ConnectTimeout of every preflight connection. */
    sshConnect: number;
    /** Limit of one preflight step on one host (one ssh round trip with its work). */
    step: number;
    /** Limit of a host's whole preflight: its ssh checks run sshParallel at a time, each within `step`. */
    hostRound: number;
    tcpConnect: number;
    /** How long a probe listener waits for its connections. */
    listen: number;
    /** Limit of one mpirun (verify.timeoutSeconds): TERM then, and KILL `killAfter` seconds later. */
    test: number;
    /** Seconds from TERM to KILL: prterun does not exit on TERM while it waits for a lost daemon. */
    killAfter: number;
    /**
     * One try of an mpirun, everything included: its limit, the KILL, and ending what is left of it on its hosts
     * (one ssh round, `step`).
     */
    mpirun: number;
    /** Limit of each MPI test: its tries (one per round of pingpong pairs) and room for one more, a retry. */
    stages: Partial<Record<VerifyTest, number>>;
    /** The preflight's rounds: the hosts' round, then the TCP matrix's listeners, connects and clean-up. */
    preflight: number;
    /** The whole job: the preflight and every test's limit. */
    job: number;
  };
  sshParallel: number;
  pingpongArgs: string[];
  /** Disjoint pairs per round (round-robin), so that no host is in two pingpongs at once. */
  pingpongRounds: Array<Array<[string, string]>>;
  staticFailures: PlannedFailure[];
}

export const DEFAULTS = { pingpongMaxBytes: 1 << 20, tcpTimeoutSeconds: 2, sshParallel: 4, sshConnectMax: 5, killAfterSeconds: 5 };

export function planVerification(cluster: Cluster, options: VerifyOptions = {}): VerifyPlan {
  const hosts = cluster.hosts.map((h): PlannedHost => {
    const paths = pythonPaths(cluster.python.kind, h.pythonPrefix);
    return {
      name: h.name,
      address: h.address,
      port: h.port,
      user: h.user,
      slots: h.slots,
      python: paths.python,
      mpirun: paths.mpirun,
      prefix: cluster.python.kind === "conda" ? h.pythonPrefix : undefined,
      os: h.os,
    };
  });
  const sshConnect = Math.min(cluster.ssh.connectTimeoutSeconds, DEFAULTS.sshConnectMax);
  const tcpConnect = options.tcpTimeoutSeconds ?? DEFAULTS.tcpTimeoutSeconds;
  const step = sshConnect + 5;
  const maxBytes = options.pingpongMaxBytes ?? DEFAULTS.pingpongMaxBytes;
  const sshParallel = options.sshParallel ?? DEFAULTS.sshParallel;
  const tests = options.tests ?? cluster.verify.tests;
  // A fixed runtime range admits one mpirun per host at a time (mpirun listens on all of it): one pair per round.
  const rounds = cluster.mpi.oobEphemeral
    ? pingpongRounds(hosts.map((h) => h.name))
    : pingpongRounds(hosts.map((h) => h.name)).flatMap((round) => round.map((pair): Array<[string, string]> => [pair]));
  // The rounds of ssh logins, the host's own checks, and one retry round for logins that timed out under load.
  const hostRound = step * (Math.ceil((hosts.length - 1) / sshParallel) + 2);
  const test = cluster.verify.timeoutSeconds;
  const mpirun = test + DEFAULTS.killAfterSeconds + step;
  const stages = Object.fromEntries(tests.map((t) => [t, mpirun * ((t === "pingpong" ? Math.max(1, rounds.length) : 1) + 1)]));
  const preflight = hostRound + 3 * step + 10;
  return {
    from: cluster.verify.from,
    kind: cluster.python.kind,
    hosts,
    btl: cluster.mpi.btlPorts,
    oob: cluster.mpi.oobPorts,
    oobEphemeral: cluster.mpi.oobEphemeral,
    tests,
    ranks: hosts.reduce((n, h) => n + h.slots, 0),
    timeouts: {
      sshConnect,
      step,
      hostRound,
      tcpConnect,
      listen: step + tcpConnect + 3,
      test,
      killAfter: DEFAULTS.killAfterSeconds,
      mpirun,
      stages,
      preflight,
      job: preflight + Object.values(stages).reduce((sum, seconds) => sum + seconds, 0),
    },
    sshParallel,
    // Few iterations per size: the figures are a sanity check of each link, not a benchmark.
    pingpongArgs: [
      "-n",
      String(maxBytes),
      "-s",
      "1",
      "-l",
      "10",
      "--skip-large",
      "1",
      "--loop-large",
      "3",
      "--skip-huge",
      "1",
      "--loop-huge",
      "3",
    ],
    pingpongRounds: rounds,
    staticFailures: staticFailures(cluster),
  };
}

/** What the config alone shows to be wrong for MPI, before any host is asked. */
export function staticFailures(cluster: Cluster): PlannedFailure[] {
  const failures: PlannedFailure[] = [];
  const btlPorts = portCount(cluster.mpi.btlPorts);
  for (const h of cluster.hosts) {
    if (h.slots > btlPorts) {
      failures.push({
        kind: "btl-too-small",
        label: "btl",
        from: cluster.verify.from,
        to: h.name,
        expected: String(h.slots),
        detail: String(btlPorts),
      });
    }
  }
  return failures;
}

/**
 * The circle method: n-1 rounds (n rounded up to even) in which every pair meets exactly once and no host is in
 * two pairs of one round, so the pairs of a round can run at the same time.
 */
export function pingpongRounds(names: string[]): Array<Array<[string, string]>> {
  if (names.length < 2) return [];
  const ring: Array<string | undefined> = names.length % 2 ? [...names, undefined] : [...names];
  const n = ring.length;
  const rounds: Array<Array<[string, string]>> = [];
  for (let r = 0; r < n - 1; r++) {
    const pairs: Array<[string, string]> = [];
    for (let i = 0; i < n / 2; i++) {
      const a = ring[i];
      const b = ring[n - 1 - i];
      if (a !== undefined && b !== undefined) {
        const [x, y] = names.indexOf(a) < names.indexOf(b) ? [a, b] : [b, a];
        pairs.push([x, y]);
      }
    }
    rounds.push(pairs);
    // Keep the first fixed, rotate the rest by one.
    ring.splice(1, 0, ring.pop());
  }
  return rounds;
}

const dash = (value: string | number | undefined) => (value === undefined || value === "" ? "-" : String(value));

/**
 * The plan as the job's scripts read it: one record per line, space-separated tokens (every value is a
 * schema-checked name, address, number or path without spaces), hints tab-separated.
 */
export function planLines(plan: VerifyPlan): string[] {
  return [
    `head ${plan.from}`,
    `kind ${plan.kind}`,
    ...plan.hosts.map((h) => ["host", h.name, h.address, h.port, h.user, h.slots, h.python, h.mpirun, dash(h.prefix), h.os].join(" ")),
    // range LABEL FIRST LAST HOW: how the probe listener picks its port, as Open MPI will (first free, or the system's).
    `range btl ${plan.btl.first} ${plan.btl.last} first`,
    `range oob ${plan.oob.first} ${plan.oob.last} ${plan.oobEphemeral ? "system" : "first"}`,
    ...plan.tests.map((t) => `test ${t} ${plan.timeouts.test} ${plan.timeouts.stages[t]}`),
    `timeout tcp ${plan.timeouts.tcpConnect}`,
    `timeout kill ${plan.timeouts.killAfter}`,
    `timeout mpirun ${plan.timeouts.mpirun}`,
    `timeout job ${plan.timeouts.job}`,
    ...plan.staticFailures.map((f) => ["fail", "plan", f.kind, f.from, f.to, "-", f.label, f.expected, f.detail].join(" ")),
    ...hintLines(),
    ...outputRuleLines(),
  ];
}
