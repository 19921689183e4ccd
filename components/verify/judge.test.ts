/**
 * The job's judge (templates/verify/judge.awk) as data: given the plan and these records from the hosts, expect
 * this verdict, these failures and this report, whose fields are those of the report's type (reportShape.ts).
 * Runs under every awk on the machine (mawk is Debian's, the BWK awk is macOS's, gawk is common), since the head
 * host may have any of them.
 */
import { execFileSync } from "child_process";
import { Cluster } from "../config/types";
import { verifyProgram } from "./script";
import { FAILURE_KINDS, fillTemplate } from "./failures";
import { planLines, planVerification, VerifyPlan } from "./plan";
import { VerifyReport } from "./report";
import { reportShapeProblems } from "./reportShape";

const AWKS = ["mawk", "gawk", "original-awk", "busybox awk"].filter((awk) => {
  try {
    execFileSync("sh", ["-c", `command -v ${awk.split(" ")[0]}`]);
    return true;
  } catch {
    return false;
  }
});

function cluster(hosts = 3, mutate: (c: Cluster) => void = () => undefined): Cluster {
  const c: Cluster = {
    ssh: { privateKeyPath: "/k", knownHostsPath: "/kh", connectTimeoutSeconds: 10, clusterKeyRotation: "1" },
    hosts: Array.from({ length: hosts }, (_, i) => ({
      name: `h${i + 1}`,
      address: `10.0.0.${i + 11}`,
      os: "linux" as const,
      port: 2400,
      user: "mpi",
      slots: 2,
      hostKeys: ["ssh-ed25519 AAAA"],
      hostKeySource: "config" as const,
      revokedKeys: [],
      pythonPrefix: "/opt/conda",
      firewallBackend: "auto" as const,
      firewallPersist: true,
    })),
    python: { kind: "system", prefix: "/opt/conda", channel: "conda-forge", mpi4py: "4.0.*", openmpi: "5.0.*", prefixLink: "auto" },
    mpi: {
      network: "10.0.0.0/24",
      btlPorts: { first: 50000, last: 50099 },
      oobPorts: { first: 50100, last: 50199 },
      oobEphemeral: false,
      extraMca: {},
    },
    firewall: { allowFrom: ["10.0.0.0/24"] },
    verify: { enabled: true, from: "h1", tests: ["helloworld", "ringtest", "pingpong"], timeoutSeconds: 60 },
  };
  mutate(c);
  return c;
}

/** What a healthy cluster's hosts report: every check passes. */
function healthy(plan: VerifyPlan): string[] {
  const names = plan.hosts.map((h) => h.name);
  const lines: string[] = [];
  for (const h of plan.hosts) {
    lines.push(`reach ${h.name} ok - -`);
    lines.push(
      `seen ${h.name} hostname ${h.name}`,
      `seen ${h.name} pathmpirun ${h.mpirun}`,
      `seen ${h.name} python yes`,
      `seen ${h.name} mpi4py 4.0.3`,
    );
    lines.push(`seen ${h.name} mpirun yes`, `seen ${h.name} openmpi 5.0.7`, `seen ${h.name} hostfile yes`);
    if (plan.kind === "conda") lines.push(`seen ${h.name} headprefix yes`);
    for (const p of plan.hosts) lines.push(`resolve ${h.name} ${p.name} ${p.address} ${p.address}`);
    for (const p of plan.hosts.filter((x) => x.name !== h.name)) {
      lines.push(`sshcfg ${h.name} ${p.name} ${p.address} ${p.port} ${p.user}`, `ssh ${h.name} ${p.name} ok 0.150 -`);
    }
  }
  lines.push("stage ssh 0.8", "stage software 0.8", "stage names 0.8");
  for (const b of names) lines.push(`listen ${b} btl 50000`, `listen ${b} oob 50100`);
  for (const a of names)
    for (const b of names.filter((x) => x !== a)) lines.push(`tcp ${a} ${b} btl 50000 ok 0.002 -`, `tcp ${a} ${b} oob 50100 ok 0.002 -`);
  lines.push("stage tcp 0.6");
  return lines;
}

const TESTS_PASSED = [
  "ran helloworld pass 1.2 6 ranks answered from 3 hosts",
  "ran ringtest pass 1.0 time for 1 loops = 0.01 seconds (6 processes, 1 bytes)",
  "pingpong h1 h2 4.2e-03 83.07",
  "pingpong h1 h3 3.5e-05 950.5",
  "pingpong h2 h3 4.0e-03 88.1",
  "ran pingpong pass 7.0 3 pairs measured",
  "total 11.5",
];

/** Pingpong: h1-h2 measured, then h1-h3 ran out of time (nothing printed) and the job ended what it left. */
const PAIR_TIMED_OUT = [
  "try pingpong h1 h2 1 pass 2.1 0",
  "pingpong h1 h2 4.2e-03 83.07",
  "try pingpong h1 h3 1 timeout 25.0 137",
  "reaped pingpong h1 h3 1 h1 1 ssh all",
  "reaped pingpong h1 h3 1 h3 3 prted,python3 all",
  "ran pingpong timeout 27.5 1 pair measured, 1 failed; stopped after round 2 of 3, when a pair ran out of time",
];

/** Pingpong: h2-h3 lost its remote daemon, was tried once more, and lost it again. */
const LOST_TWICE = [
  "try pingpong h1 h2 1 pass 2.1 0",
  "pingpong h1 h2 4.2e-03 83.07",
  "try pingpong h2 h3 1 fail 0.3 1",
  "out pingpong h2 h3 1 PRTE has lost communication with a remote daemon.",
  "out pingpong h2 h3 1 Remote daemon: [prterun-h1-301@0,2] on node h3",
  "launch pingpong h2 h3 1 the runtime lost communication with a remote daemon",
  "reaped pingpong h2 h3 1 h1 0 - all",
  "retry pingpong h2 h3 the runtime lost communication with a remote daemon",
  "try pingpong h2 h3 2 fail 0.3 1",
  "out pingpong h2 h3 2 PRTE has lost communication with a remote daemon.",
  "out pingpong h2 h3 2 HNP daemon : [prterun-h1-322@0,0] on node h1",
  "out pingpong h2 h3 2 Remote daemon: [prterun-h1-322@0,2] on node h3",
  "launch pingpong h2 h3 2 the runtime lost communication with a remote daemon",
  "reaped pingpong h2 h3 2 h3 ? - failed",
  "try pingpong h1 h3 1 pass 2.0 0",
  "pingpong h1 h3 3.5e-05 950.5",
  "ran pingpong fail 7.0 2 pairs measured, 1 failed",
];

function judge(awk: string, plan: VerifyPlan, records: string[], mode: string): string {
  const input = [...planLines(plan), ...records].join("\n") + "\n";
  const [cmd, ...pre] = awk.split(" ");
  return execFileSync(cmd, [...pre, "-v", `mode=${mode}`, verifyProgram("judge.awk")], { input, encoding: "utf8" });
}

/** The judge's report, which must have the fields of report.ts's type, no more and no fewer. */
function report(awk: string, plan: VerifyPlan, records: string[]): VerifyReport {
  const parsed: unknown = JSON.parse(judge(awk, plan, records, "json"));
  expect(reportShapeProblems(parsed)).toEqual([]);
  return parsed as VerifyReport;
}

const without = (lines: string[], prefix: string) => lines.filter((l) => !l.startsWith(prefix));
const replace = (lines: string[], prefix: string, line: string) => lines.map((l) => (l.startsWith(prefix) ? line : l));

interface Case {
  name: string;
  cluster?: Cluster;
  records: (plan: VerifyPlan) => string[];
  stage: string;
  kinds: string[];
  messages: RegExp[];
}

const cases: Case[] = [
  {
    name: "a BTL pair dropped by a firewall",
    records: (p) => replace([...healthy(p), "total 3.1"], "tcp h1 h3 btl", "tcp h1 h3 btl 50000 timeout 2.003 no answer within 2s"),
    stage: "tcp",
    kinds: ["tcp-blocked"],
    messages: [/^h1 -> h3:50000 \(btl 50000-50099\) blocked \(no answer within 2s\)$/],
  },
  {
    name: "a Mac whose Application Firewall drops the listener's python although pf is open (issue 18 item 8)",
    cluster: cluster(3, (c) => {
      c.hosts[2].os = "macos";
    }),
    records: (p) => replace([...healthy(p), "total 3.1"], "tcp h1 h3 btl", "tcp h1 h3 btl 50000 timeout 2.003 no answer within 2s"),
    stage: "tcp",
    kinds: ["tcp-blocked-alf"],
    messages: [
      /^h1 -> h3:50000 \(btl 50000-50099\) blocked \(no answer within 2s\); h3 is a Mac whose pf rules the firewall facet read back in place, so the Application Firewall still drops connections to \/usr\/bin\/python3$/,
    ],
  },
  {
    name: "a host-key prompt pending",
    records: (p) =>
      replace(
        healthy(p),
        "ssh h2 h3",
        "ssh h2 h3 fail 0.1 No ED25519 host key is known for [h3]:2400 and you have requested strict checking. Host key verification failed.",
      ),
    stage: "ssh",
    kinds: ["ssh-hostkey"],
    messages: [/^h2 -> h3: ssh would stop at a host-key prompt \(No ED25519 host key is known/],
  },
  {
    name: "a changed host key",
    records: (p) =>
      replace(healthy(p), "ssh h1 h2", "ssh h1 h2 fail 0.1 WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! Host key verification failed."),
    stage: "ssh",
    kinds: ["ssh-hostkey-changed"],
    messages: [/^h1 -> h2: h2 presents a host key other than the pinned one/],
  },
  {
    name: "a refused key",
    records: (p) => replace(healthy(p), "ssh h3 h1", "ssh h3 h1 fail 0.1 mpi@10.0.0.11: Permission denied (publickey)."),
    stage: "ssh",
    kinds: ["ssh-auth"],
    messages: [/^h3 -> h1: the cluster key was refused/],
  },
  {
    name: "hosts on different cluster keys that the head could read: each refused pair says who holds and who accepts which, and the hosts on each key",
    records: (p) => {
      const keys = ["h1", "h2", "h3"].flatMap((h) => {
        const fp = h === "h2" ? "SHA256:OLDold" : "SHA256:NEWnew";
        return [`seen ${h} clusterkey ${fp}`, `seen ${h} clusterauth ${fp}`];
      });
      const refused = (a: string, b: string) => `ssh ${a} ${b} fail 0.1 mpi@${b}: Permission denied (publickey).`;
      let lines = [...healthy(p), ...keys];
      for (const [a, b] of [
        ["h1", "h2"],
        ["h2", "h1"],
        ["h2", "h3"],
        ["h3", "h2"],
      ])
        lines = replace(lines, `ssh ${a} ${b} `, refused(a, b));
      return lines;
    },
    stage: "ssh",
    kinds: ["ssh-auth-key-differs", "ssh-auth-key-differs", "ssh-auth-key-differs", "ssh-auth-key-differs", "cluster-key-differs"],
    messages: [
      /^h1 -> h2: the cluster key was refused: h1 holds SHA256:NEWnew, the authorized_keys of h2 accepts SHA256:OLDold$/,
      /^h2 -> h1: the cluster key was refused: h2 holds SHA256:OLDold, the authorized_keys of h1 accepts SHA256:NEWnew/,
      /^h2 -> h3: /,
      /^h3 -> h2: /,
      /^the hosts hold different cluster keys: SHA256:NEWnew on h1, h3; SHA256:OLDold on h2$/,
    ],
  },
  {
    name: "a cluster key rotation that missed h2, as the head sees it: h2 refuses the key that h1 and h3 hold, and h2 cannot be read",
    records: (p) => {
      const refused = (b: string) => `mpi@${b}: Permission denied (publickey).`;
      const lines = healthy(p).filter((l) => !/^(reach|seen|resolve|sshcfg|ssh) h2 /.test(l));
      return [
        ...replace(
          replace(lines, "ssh h1 h2 ", `ssh h1 h2 fail 0.1 ${refused("h2")}`),
          "ssh h3 h2 ",
          `ssh h3 h2 fail 0.1 ${refused("h2")}`,
        ),
        `reach h2 fail - ${refused("h2")}`,
        ...["h1", "h3"].flatMap((h) => [`seen ${h} clusterkey SHA256:NEWnew`, `seen ${h} clusterauth SHA256:NEWnew`]),
      ];
    },
    stage: "ssh",
    kinds: ["ssh-auth-key-refused", "ssh-auth-key-refused"],
    messages: [
      /^h1 -> h2: h2 refuses the cluster key that h1 holds \(SHA256:NEWnew\); the head could not log in to h2 with it either, to read which key h2 accepts$/,
      /^h3 -> h2: h2 refuses the cluster key that h3 holds \(SHA256:NEWnew\)/,
    ],
  },
  {
    name: "a refused key where both hold and accept the same cluster key: no rotation to blame",
    records: (p) => [
      ...replace(healthy(p), "ssh h3 h1", "ssh h3 h1 fail 0.1 mpi@10.0.0.11: Permission denied (publickey)."),
      ...["h1", "h2", "h3"].flatMap((h) => [`seen ${h} clusterkey SHA256:NEWnew`, `seen ${h} clusterauth SHA256:NEWnew`]),
    ],
    stage: "ssh",
    kinds: ["ssh-auth"],
    messages: [/^h3 -> h1: the cluster key was refused/],
  },
  {
    name: "a host missing from another's ssh config",
    records: (p) =>
      replace(
        replace(healthy(p), "sshcfg h3 h1", "sshcfg h3 h1 h1 22 mpi"),
        "ssh h3 h1",
        "ssh h3 h1 fail 5.0 ssh: connect to host h1 port 22: Connection timed out",
      ),
    stage: "ssh",
    kinds: ["ssh-config"],
    messages: [/^h3 -> h1: the ssh config of h3 does not lead to h1 \(ssh -G h1 gives h1:22 as mpi, expected 10\.0\.0\.11:2400 as mpi\)$/],
  },
  {
    name: "a host the head cannot reach",
    records: (p) =>
      replace(
        without(without(without(without(healthy(p), "seen h2 "), "resolve h2 "), "ssh h2 "), "sshcfg h2 "),
        "reach h2",
        "reach h2 fail - no answer within 10s",
      ).concat(),
    stage: "ssh",
    kinds: ["ssh-run"],
    messages: [/^h1 could not run the preflight on h2 \(no answer within 10s\)$/],
  },
  {
    name: "mpi4py and Open MPI differing on one host",
    records: (p) => replace(replace(healthy(p), "seen h3 mpi4py", "seen h3 mpi4py 3.1.4"), "seen h3 openmpi", "seen h3 openmpi 4.1.4"),
    stage: "software",
    kinds: ["openmpi-differs", "mpi4py-differs"],
    messages: [
      /^Open MPI versions differ: 5\.0\.7 on h1, h2; 4\.1\.4 on h3$/,
      /^mpi4py versions differ: 4\.0\.3 on h1, h2; 3\.1\.4 on h3$/,
    ],
  },
  {
    name: "mpirun not on the non-interactive PATH",
    records: (p) => replace(healthy(p), "seen h2 pathmpirun", "seen h2 pathmpirun -"),
    stage: "software",
    kinds: ["mpirun-path"],
    messages: [/^h2: a non-interactive ssh shell finds mpirun at nothing, not \/usr\/bin\/mpirun$/],
  },
  {
    name: "no python, no mpi4py, no mpirun, no hostfile",
    records: (p) =>
      replace(
        replace(
          replace(replace(healthy(p), "seen h2 python", "seen h2 python no"), "seen h3 mpi4py", "seen h3 mpi4py -"),
          "seen h3 mpirun ",
          "seen h3 mpirun no",
        ),
        "seen h1 hostfile",
        "seen h1 hostfile no",
      ),
    stage: "software",
    kinds: ["python-missing", "mpi4py-missing", "mpirun-missing", "hostfile-missing"],
    messages: [
      /^h2: no python at \/usr\/bin\/python3$/,
      /^h3: \/usr\/bin\/python3 cannot import mpi4py$/,
      /^h3: no mpirun at \/usr\/bin\/mpirun$/,
      /^h1: no hostfile/,
    ],
  },
  {
    name: "a conda env missing at the head's path",
    cluster: cluster(3, (c) => {
      c.python.kind = "conda";
      c.hosts[2].pythonPrefix = "/Applications/anaconda";
    }),
    records: (p) => replace(healthy(p), "seen h3 headprefix", "seen h3 headprefix no"),
    stage: "software",
    kinds: ["prefix-differs"],
    messages: [/^h3: no conda env at \/opt\/conda, the path of the env on h1 \(the one of h3 is at \/Applications\/anaconda\)$/],
  },
  {
    name: "a name resolving to loopback, and one not at all",
    records: (p) =>
      replace(replace(healthy(p), "resolve h2 h2", "resolve h2 h2 127.0.1.1 10.0.0.12"), "resolve h3 h1", "resolve h3 h1 - 10.0.0.11"),
    stage: "names",
    kinds: ["name-mismatch", "name-unresolved"],
    messages: [
      /^on h2, the name h2 resolves to 127\.0\.1\.1, not its cluster address 10\.0\.0\.12$/,
      /^on h3, the name h1 does not resolve \(expected 10\.0\.0\.11\)$/,
    ],
  },
  {
    name: "a BTL range smaller than the slots",
    cluster: cluster(3, (c) => {
      c.mpi.btlPorts = { first: 50000, last: 50003 };
      c.hosts[1].slots = 8;
    }),
    records: (p) => healthy(p),
    stage: "plan",
    kinds: ["btl-too-small"],
    messages: [/^h2 runs 8 ranks, but the btl range 50000-50003 holds only 4 \(one listening port per rank\)$/],
  },
  {
    name: "no free port in a range",
    records: (p) =>
      without(replace(healthy(p), "listen h2 oob", "listen h2 oob - Address already in use on port 50199"), "tcp h1 h2 oob").filter(
        (l) => !l.startsWith("tcp h3 h2 oob"),
      ),
    stage: "tcp",
    kinds: ["tcp-no-port"],
    messages: [/^h2: no free port in oob 50100-50199 to listen on \(Address already in use on port 50199\)$/],
  },
  {
    name: "a host whose system ports lie outside the runtime window the firewall opens",
    cluster: cluster(3, (c) => {
      c.mpi.oobPorts = { first: 32768, last: 65535 };
      c.mpi.oobEphemeral = true;
    }),
    records: (p) =>
      without(replace(healthy(p), "listen h2 oob", "listen h2 oob - outside 20417 20000-29999"), "tcp h1 h2 oob").filter(
        (l) => !l.startsWith("tcp h3 h2 oob"),
      ),
    stage: "tcp",
    kinds: ["tcp-port-outside"],
    messages: [
      /^h2: hands out ports 20000-29999 \(port 20417 this time\), where the runtime listens, not all inside oob 32768-65535 that the firewall opens$/,
    ],
  },
  {
    name: "a probe that could not run",
    records: (p) => [...healthy(p).filter((l) => !l.startsWith("tcp h3 ")), "probefail h3 connect python3: command not found"],
    stage: "tcp",
    kinds: ["tcp-probe-failed"],
    messages: [/^h3: could not run connects for the TCP matrix \(python3: command not found\)$/],
  },
  {
    name: "ringtest timing out after preflight passed",
    records: (p) => [...healthy(p), "ran helloworld pass 1.2 ok", "ran ringtest timeout 60.0 mpirun stopped after 60s", "total 63"],
    stage: "ringtest",
    kinds: ["test-timeout"],
    messages: [/^ringtest: no result within 60 s$/],
  },
  {
    name: "a pingpong pair that ran out of time, with what it left behind ended",
    records: (p) => [...healthy(p), ...TESTS_PASSED.slice(0, 2), ...PAIR_TIMED_OUT, "total 40"],
    stage: "pingpong",
    kinds: ["pair-timeout"],
    messages: [
      /^pingpong: h1 <-> h3: no result within 60 s, and mpirun printed nothing; ended the processes it left: 1 on h1 \(ssh\), 3 on h3 \(prted,python3\)$/,
    ],
  },
  {
    name: "a pair whose runtime lost a daemon on both tries",
    records: (p) => [...healthy(p), ...TESTS_PASSED.slice(0, 2), ...LOST_TWICE, "total 12"],
    stage: "pingpong",
    kinds: ["pair-launch"],
    messages: [
      /^pingpong: h2 <-> h3: mpirun exited 1: PRTE has lost communication with a remote daemon\.; could not look for what it left on h3; tried twice, the first try failed too: the runtime lost communication with a remote daemon$/,
    ],
  },
  {
    name: "a runtime launch failure the test's limit left no room to try again",
    records: (p) => [
      ...healthy(p),
      "try helloworld h1 - 1 fail 0.4 1",
      "out helloworld h1 - 1 ORTE was unable to reliably start one or more daemons.",
      "launch helloworld h1 - 1 a runtime daemon did not start",
      "noretry helloworld h1 - the limit of helloworld left no room for another try",
      "ran helloworld fail 0.9 -",
      "total 3",
    ],
    stage: "helloworld",
    kinds: ["test-launch"],
    messages: [
      /^helloworld: mpirun exited 1: ORTE was unable to reliably start one or more daemons\.; not tried again \(a runtime daemon did not start\): the limit of helloworld left no room for another try$/,
    ],
  },
  {
    name: "helloworld exiting 0 with ranks missing",
    records: (p) => [
      ...healthy(p),
      "try helloworld h1 - 1 fail 1.2 0",
      "why helloworld h1 - 1 4 of 6 ranks answered",
      "ran helloworld fail 1.3 -",
      "total 3",
    ],
    stage: "helloworld",
    kinds: ["test-failed"],
    messages: [/^helloworld: mpirun exited 0, but 4 of 6 ranks answered$/],
  },
  {
    name: "helloworld failing",
    records: (p) => [...healthy(p), "ran helloworld fail 1.2 mpirun exited 1: prted: command not found", "total 3"],
    stage: "helloworld",
    kinds: ["test-failed"],
    messages: [/^helloworld: mpirun exited 1: prted: command not found$/],
  },
];

describe.each(AWKS)("the judge under %s", (awk) => {
  test("passes a healthy cluster and lists every pair", () => {
    const plan = planVerification(cluster());
    const records = [...healthy(plan), ...TESTS_PASSED];
    const r = report(awk, plan, records);
    expect(r).toMatchObject({ version: 1, ok: true, failedStage: null, from: "h1", seconds: 11.5, failures: [] });
    expect(r.pairs.map((p) => `${p.from}>${p.to}`)).toEqual(["h1>h2", "h1>h3", "h2>h1", "h2>h3", "h3>h1", "h3>h2"]);
    for (const p of r.pairs)
      expect(p).toMatchObject({ ssh: "ok", tcp: { btl: { status: "ok", port: 50000 }, oob: { status: "ok", port: 50100 } } });
    expect(r.pairs.find((p) => p.from === "h3" && p.to === "h1")).toMatchObject({ latencyUs: 35, bandwidthMBs: 950.5 });
    expect(r.stages.map((s) => [s.name, s.status])).toEqual([
      ["plan", "pass"],
      ["ssh", "pass"],
      ["software", "pass"],
      ["names", "pass"],
      ["tcp", "pass"],
      ["helloworld", "pass"],
      ["ringtest", "pass"],
      ["pingpong", "pass"],
    ]);
    expect(r.hosts[2]).toEqual({
      name: "h3",
      address: "10.0.0.13",
      slots: 2,
      reached: true,
      hostname: "h3",
      openmpi: "5.0.7",
      mpi4py: "4.0.3",
      python: "/usr/bin/python3",
      mpirun: "/usr/bin/mpirun",
      mpirunOnPath: "/usr/bin/mpirun",
    });
    expect(judge(awk, plan, records, "summary")).toBe(
      "mpi-hosts verify: ok in 11.5 s from h1: 3 hosts, 6 ranks; ssh 6/6 pairs, tcp 12/12 ports, names 9/9; helloworld ok, ringtest ok, pingpong ok\n",
    );
    expect(judge(awk, plan, records, "stage")).toBe("");
    expect(judge(awk, plan, records, "text")).toBe("");
  });

  test("says when the job ran, so that a report kept from an earlier run shows its age", () => {
    const plan = planVerification(cluster());
    expect(report(awk, plan, [...healthy(plan), "at 2026-12-01T16:00:00Z", "total 4"]).at).toBe("2026-12-01T16:00:00Z");
    expect(report(awk, plan, [...healthy(plan), "total 4"]).at).toBeNull();
  });

  test("calls pingpong skipped, not failed, on mpi4py 3", () => {
    const plan = planVerification(cluster());
    const r = report(awk, plan, [
      ...healthy(plan),
      ...TESTS_PASSED.slice(0, 2),
      "ran pingpong skip 0 mpi4py.bench pingpong needs mpi4py 4.0 or later, found 3.1.4",
      "total 4",
    ]);
    expect(r.ok).toBe(true);
    expect(r.stages.at(-1)).toEqual({
      name: "pingpong",
      status: "skip",
      seconds: 0,
      detail: "mpi4py.bench pingpong needs mpi4py 4.0 or later, found 3.1.4",
    });
  });

  test("is no pass when the run stopped before the tests", () => {
    const plan = planVerification(cluster());
    const r = report(awk, plan, [...healthy(plan), "total 2"]);
    expect(r.ok).toBe(false);
    expect(r.stages.slice(5).map((s) => s.status)).toEqual(["notrun", "notrun", "notrun"]);
  });

  test.each(cases.map((c) => [c.name, c] as const))("names %s", (_name, c) => {
    const plan = planVerification(c.cluster ?? cluster());
    const records = c.records(plan);
    const r = report(awk, plan, records);
    expect(r.ok).toBe(false);
    expect(r.failedStage).toBe(c.stage);
    expect(r.failures.map((f) => f.kind)).toEqual(c.kinds);
    r.failures.forEach((f, i) => expect(f.message).toMatch(c.messages[i]));
    // The job fills the catalogue's templates itself: the same text as filling them here with the same fields.
    for (const f of r.failures) {
      const kind = FAILURE_KINDS[f.kind as keyof typeof FAILURE_KINDS];
      const fields = { ...f, ports: f.range?.split(" ")[1], from: f.from ?? undefined, to: f.to ?? undefined, port: f.port ?? undefined };
      const filled = (t: string) => fillTemplate(t, Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== null)));
      expect(f.message).toBe(filled(kind.message));
      expect(f.hint).toBe(filled(kind.hint));
      expect(f.hint).not.toMatch(/\{\w+\}/);
    }
    expect(judge(awk, plan, records, "stage")).toBe(`${c.stage}\n`);
    expect(judge(awk, plan, records, "summary")).toMatch(
      new RegExp(`^mpi-hosts verify: FAILED at stage ${c.stage} after [\\d.-]+ s from h1: `),
    );
    const text = judge(awk, plan, records, "text").split("\n");
    expect(text.filter((l) => l.startsWith(`mpi-hosts: [${r.failures[0].stage}] `))[0]).toBe(
      `mpi-hosts: [${r.failures[0].stage}] ${r.failures[0].message}`,
    );
    expect(text).toContain(`mpi-hosts:     fix: ${r.failures[0].hint}`);
  });

  test("passes a test whose retry passed, and says it was retried and why, in the report, its stage and the summary", () => {
    const plan = planVerification(cluster());
    const records = [
      ...healthy(plan),
      ...TESTS_PASSED.slice(0, 2),
      "try pingpong h1 h2 1 pass 2.1 0",
      "pingpong h1 h2 4.2e-03 83.07",
      "try pingpong h2 h3 1 fail 0.3 0",
      "why pingpong h2 h3 1 it printed no figures",
      "out pingpong h2 h3 1 [host1:00591] UNSUPPORTED DAEMON ERROR STATE: NO PATH TO TARGET",
      "launch pingpong h2 h3 1 the runtime found no path to a daemon (NO PATH TO TARGET)",
      "retry pingpong h2 h3 the runtime found no path to a daemon (NO PATH TO TARGET)",
      "try pingpong h2 h3 2 pass 2.2 0",
      "pingpong h2 h3 4.0e-03 88.1",
      "try pingpong h1 h3 1 pass 2.0 0",
      "pingpong h1 h3 3.5e-05 950.5",
      "ran pingpong pass 7.0 3 pairs measured",
      "total 11",
    ];
    const r = report(awk, plan, records);
    expect(r).toMatchObject({ ok: true, failures: [] });
    const note = "retried once: h2 <-> h3 (the runtime found no path to a daemon (NO PATH TO TARGET)), passed";
    expect(r.retries).toEqual([
      { stage: "pingpong", from: "h2", to: "h3", reason: "the runtime found no path to a daemon (NO PATH TO TARGET)", result: "pass" },
    ]);
    expect(r.stages.at(-1)).toMatchObject({ name: "pingpong", status: "pass", detail: `3 pairs measured; ${note}` });
    expect(judge(awk, plan, records, "summary").endsWith(`, pingpong ok (${note})\n`)).toBe(true);
    expect(judge(awk, plan, records, "text")).toBe(`mpi-hosts: [pingpong] ${note}\n`);
  });

  test("carries the lines of mpirun's last try into the failure, and shows them under it in the text", () => {
    const plan = planVerification(cluster());
    const records = [...healthy(plan), ...TESTS_PASSED.slice(0, 2), ...LOST_TWICE, "total 12"];
    const r = report(awk, plan, records);
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0]).toMatchObject({
      from: "h2",
      to: "h3",
      expected: "60",
      output: [
        "PRTE has lost communication with a remote daemon.",
        "HNP daemon : [prterun-h1-322@0,0] on node h1",
        "Remote daemon: [prterun-h1-322@0,2] on node h3",
      ],
      retried: "the runtime lost communication with a remote daemon",
    });
    expect(r.retries).toEqual([
      { stage: "pingpong", from: "h2", to: "h3", reason: "the runtime lost communication with a remote daemon", result: "fail" },
    ]);
    // The measured pairs keep their figures.
    expect(r.pairs.find((x) => x.from === "h1" && x.to === "h3")).toMatchObject({ bandwidthMBs: 950.5 });
    const text = judge(awk, plan, records, "text").split("\n");
    expect(text.slice(0, 3)).toEqual([
      `mpi-hosts: [pingpong] ${r.failures[0].message}`,
      "mpi-hosts:     | HNP daemon : [prterun-h1-322@0,0] on node h1",
      "mpi-hosts:     | Remote daemon: [prterun-h1-322@0,2] on node h3",
    ]);
    expect(text[3]).toMatch(/^mpi-hosts: {5}fix: the Open MPI runtime could not start or keep its daemons on h2 and h3, on the retry too/);
    // Other failures carry no output and no retry.
    const tcp = report(awk, plan, replace(healthy(plan), "tcp h1 h3 btl", "tcp h1 h3 btl 50000 timeout 2.003 no answer within 2s"));
    expect(tcp.failures[0]).toMatchObject({ output: [], retried: null });
    expect(tcp.retries).toEqual([]);
  });

  test("marks the pairs it could not check, rather than calling them fine", () => {
    const plan = planVerification(cluster());
    const records = healthy(plan).filter((l) => !l.startsWith("tcp h2 "));
    const r = report(awk, plan, [...records, ...TESTS_PASSED]);
    expect(r.pairs.find((p) => p.from === "h2" && p.to === "h3")!.tcp.btl).toEqual({
      status: "unchecked",
      port: null,
      seconds: null,
      detail: null,
    });
  });

  test("keeps quotes and backslashes in free text from breaking the JSON", () => {
    const plan = planVerification(cluster());
    const records = replace(healthy(plan), "ssh h1 h2", 'ssh h1 h2 fail 0.1 weird "quoted" \\back\\slash\tTab');
    const r = report(awk, plan, records);
    expect(r.failures[0].message).toBe("h1 -> h2: ssh cannot connect (weird quoted backslash Tab)");
  });
});

test("at least one awk ran the judge", () => {
  expect(AWKS.length).toBeGreaterThan(0);
});
