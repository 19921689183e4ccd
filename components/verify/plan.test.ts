import { loadClusterOrThrow, readStackFile } from "../config/load";
import { Cluster } from "../config/types";
import { DEFAULTS, pingpongRounds, planLines, planVerification, staticFailures } from "./plan";

const example = () => loadClusterOrThrow(readStackFile("Pulumi.example.yaml")).cluster;
const system = () => loadClusterOrThrow(readStackFile("test/fixtures/Pulumi.linux-system.yaml")).cluster;

describe("planVerification", () => {
  it("gives every host the paths the head will use, the ranks and the ranges", () => {
    const cluster = example();
    const plan = planVerification(cluster);
    expect(plan.from).toBe(cluster.verify.from);
    expect(plan.ranks).toBe(cluster.hosts.reduce((n, h) => n + h.slots, 0));
    expect(plan.hosts.map((h) => [h.name, h.python, h.mpirun, h.prefix])).toEqual(
      cluster.hosts.map((h) => [h.name, `${h.pythonPrefix}/bin/python`, `${h.pythonPrefix}/bin/mpirun`, h.pythonPrefix]),
    );
    expect([plan.btl, plan.oob]).toEqual([cluster.mpi.btlPorts, cluster.mpi.oobPorts]);
  });

  it("probes the runtime on a port the system hands out, inside the window the firewall opens, when oobPorts is ephemeral", () => {
    const lines = planLines(planVerification(example()));
    expect(lines).toContain("range btl 50000 50099 first");
    expect(lines).toContain("range oob 32768 65535 system");
  });

  it("probes a fixed runtime range on its first free port, as Open MPI's daemons pick it", () => {
    const cluster = example();
    cluster.mpi.oobPorts = { first: 50100, last: 50199 };
    cluster.mpi.oobEphemeral = false;
    expect(planLines(planVerification(cluster))).toContain("range oob 50100 50199 first");
  });

  it("runs the pingpong pairs of a round at once with ephemeral runtime ports, one at a time with a fixed range (mpirun takes all of it)", () => {
    const cluster = example();
    const concurrent = planVerification(cluster).pingpongRounds;
    expect(concurrent.some((round) => round.length > 1)).toBe(true);
    cluster.mpi.oobPorts = { first: 50100, last: 50199 };
    cluster.mpi.oobEphemeral = false;
    const sequential = planVerification(cluster).pingpongRounds;
    expect(sequential.every((round) => round.length === 1)).toBe(true);
    expect(sequential.flat()).toEqual(concurrent.flat());
  });

  it("uses the distribution's python and mpirun for system packages, with no prefix", () => {
    const plan = planVerification(system());
    for (const h of plan.hosts) expect(h).toMatchObject({ python: "/usr/bin/python3", mpirun: "/usr/bin/mpirun", prefix: undefined });
  });

  it.each([
    ["the config's tests", {}, ["helloworld", "ringtest"]],
    ["tests given on the command line", { tests: ["pingpong" as const] }, ["pingpong"]],
  ])("runs %s", (_what, options, tests) => {
    expect(planVerification(example(), options).tests).toEqual(tests);
  });

  it.each([
    [10, 5],
    [3, 3],
    [60, 5],
  ])("keeps each preflight connection short (connectTimeoutSeconds %i -> ssh ConnectTimeout %i)", (configured, used) => {
    const cluster = example();
    cluster.ssh.connectTimeoutSeconds = configured;
    const { timeouts } = planVerification(cluster);
    expect(timeouts.sshConnect).toBe(used);
    expect(timeouts.step).toBe(used + 5);
    expect(timeouts.tcpConnect).toBe(DEFAULTS.tcpTimeoutSeconds);
    expect(timeouts.test).toBe(cluster.verify.timeoutSeconds);
  });

  it.each([
    [2, 4, 3],
    [5, 4, 3],
    [6, 4, 4],
    [20, 4, 7],
    [20, 10, 4],
  ])("gives a host's preflight of %i hosts, %i ssh logins at a time, %i steps (one of them a retry round)", (hosts, parallel, steps) => {
    const cluster = example();
    cluster.hosts = Array.from({ length: hosts }, (_, i) => ({
      ...cluster.hosts[i % cluster.hosts.length],
      name: `h${i}`,
      address: `10.0.0.${i + 1}`,
    }));
    const { timeouts } = planVerification(cluster, { sshParallel: parallel });
    expect(timeouts.hostRound).toBe(steps * timeouts.step);
  });

  it("caps pingpong's message size", () => {
    expect(planVerification(example()).pingpongArgs.slice(0, 2)).toEqual(["-n", "1048576"]);
    expect(planVerification(example(), { pingpongMaxBytes: 4096 }).pingpongArgs.slice(0, 2)).toEqual(["-n", "4096"]);
  });
});

describe("staticFailures", () => {
  const withBtl = (first: number, last: number, slots: number[]): Cluster => {
    const c = system();
    c.mpi.btlPorts = { first, last };
    c.hosts = c.hosts.slice(0, slots.length).map((h, i) => ({ ...h, slots: slots[i] }));
    return c;
  };

  it.each([
    ["a range as large as the most slots", 50000, 50007, [8, 4], []],
    ["a range one port short", 50000, 50006, [8, 4], [{ to: "node1", expected: "8", detail: "7" }]],
    [
      "a one-port range under two hosts of 2 slots",
      50000,
      50000,
      [2, 2],
      [
        { to: "node1", expected: "2", detail: "1" },
        { to: "node2", expected: "2", detail: "1" },
      ],
    ],
  ])("%s", (_what, first, last, slots, expected) => {
    const failures = staticFailures(withBtl(first, last, slots));
    expect(failures.map(({ to, expected: e, detail }) => ({ to, expected: e, detail }))).toEqual(expected);
    for (const f of failures) expect(f).toMatchObject({ kind: "btl-too-small", label: "btl" });
  });
});

describe("pingpongRounds", () => {
  it.each([1, 2, 3, 4, 5, 8, 11])("meets every pair of %i hosts exactly once, no host twice in a round", (n) => {
    const names = Array.from({ length: n }, (_, i) => `h${i + 1}`);
    const rounds = pingpongRounds(names);
    const seen = rounds.flat().map(([a, b]) => `${a}-${b}`);
    const expected = names.flatMap((a, i) => names.slice(i + 1).map((b) => `${a}-${b}`));
    expect([...seen].sort()).toEqual([...expected].sort());
    for (const round of rounds) {
      const hosts = round.flat();
      expect(new Set(hosts).size).toBe(hosts.length);
    }
    expect(rounds.length).toBe(n < 2 ? 0 : n % 2 ? n : n - 1);
  });
});

describe("planLines", () => {
  it("is what the scripts read: one host line each, ranges, tests, static failures, the catalogue", () => {
    const cluster = system();
    cluster.mpi.btlPorts = { first: 50000, last: 50000 };
    const lines = planLines(planVerification(cluster));
    expect(lines[0]).toBe(`head ${cluster.verify.from}`);
    expect(lines).toContain(
      `host ${cluster.hosts[0].name} ${cluster.hosts[0].address} ${cluster.hosts[0].port} ${cluster.hosts[0].user} ${cluster.hosts[0].slots} /usr/bin/python3 /usr/bin/mpirun - linux`,
    );
    expect(lines).toContain("range btl 50000 50000 first");
    expect(lines.filter((l) => l.startsWith("fail plan btl-too-small "))).toHaveLength(cluster.hosts.filter((h) => h.slots > 1).length);
    expect(lines.filter((l) => l.startsWith("hint\t")).length).toBeGreaterThan(15);
    // Every record but the catalogue's and mpirun's output rules is space-separated words: no field may hold a tab.
    const tabbed = /^(hint|noise|launch|outmax)\t/;
    for (const l of lines.filter((x) => !tabbed.test(x) && !x.startsWith("fail "))) expect(l).toMatch(/^[^\t]+$/);
    expect(lines.filter((l) => l.startsWith("launch\t")).length).toBeGreaterThan(3);
  });
});

describe("the limits of the MPI tests", () => {
  const fixed = (c: Cluster) => {
    c.mpi.oobPorts = { first: 50100, last: 50199 };
    c.mpi.oobEphemeral = false;
  };
  it.each([
    ["ephemeral runtime ports (pairs of a round at once)", (_c: Cluster) => undefined],
    ["a fixed runtime range (one pair at a time)", fixed],
  ])("hold every try and one retry, and the job holds them all: %s", (_what, mutate) => {
    const cluster = example();
    mutate(cluster);
    const plan = planVerification(cluster, { tests: ["helloworld", "ringtest", "pingpong"] });
    const t = plan.timeouts;
    expect(t.test).toBe(cluster.verify.timeoutSeconds);
    // One try: TERM at the limit, KILL later, then one ssh round that ends what it left.
    expect(t.mpirun).toBe(t.test + t.killAfter + t.step);
    expect(t.stages).toEqual({ helloworld: 2 * t.mpirun, ringtest: 2 * t.mpirun, pingpong: (plan.pingpongRounds.length + 1) * t.mpirun });
    expect(t.job).toBe(t.preflight + t.stages.helloworld! + t.stages.ringtest! + t.stages.pingpong!);
    const lines = planLines(plan);
    expect(lines).toContain(`test pingpong ${t.test} ${t.stages.pingpong}`);
    expect(lines).toContain(`timeout kill ${t.killAfter}`);
    expect(lines).toContain(`timeout mpirun ${t.mpirun}`);
  });
});
