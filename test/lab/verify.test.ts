/**
 * The verification job against real lab hosts brought to the state `pulumi up` leaves (every facet applied through
 * the facet provider): it passes on a healthy cluster and lists every pair; broken by hand in one place (a
 * firewall rule, a known_hosts line, an ssh config entry, a bookworm host among trixie ones, a BTL range smaller
 * than the slots), it fails within seconds and names exactly that place, before any mpirun.
 *   npx jest --selectProjects lab --runTestsByPath test/lab/verify.test.ts --runInBand
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { run as verifyCli } from "../../cli/verify";
import { Cluster } from "../../components/config/types";
import { closeAll } from "../../components/provider/remote";
import { VerifyReport } from "../../components/verify/report";
import { reportShapeProblems } from "../../components/verify/reportShape";
import { runVerification, VerifyRun } from "../../components/verify/run";
import { Lab, renderLabStack, stopLab } from "../../lab/lab";
import { rootOk, sshExec } from "../../lab/harness/labHelpers";
import { blockPorts, editUserFile, restoreUserFile, startVerifyLab, unblockPorts } from "../../lab/harness/verifyLab";
import { Timings } from "./support/timings";

jest.setTimeout(600000);

const LAB = "verify";
const MIXED = "verify-mixed";
const HOSTS = ["host1", "host2", "host3"];
const ALL_TESTS = ["helloworld", "ringtest", "pingpong"] as const;

let lab: Lab;
let cluster: Cluster;
let key: string;
const timings = new Timings("verify.test.ts timings");

async function verify(
  c: Cluster = cluster,
  tests: readonly (typeof ALL_TESTS)[number][] = ALL_TESTS,
): Promise<VerifyRun & { report: VerifyReport }> {
  const result = await runVerification(c, { privateKey: key }, { tests: [...tests] });
  if (!result.report) throw new Error(`no report: ${result.problem}\n${result.stderr}`);
  return result as VerifyRun & { report: VerifyReport };
}

function stageStatuses(report: VerifyReport): Record<string, string> {
  return Object.fromEntries(report.stages.map((s) => [s.name, s.status]));
}

/** Runs the CLI in this process; returns its exit code and what it printed. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const out = jest.spyOn(process.stdout, "write").mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = jest.spyOn(process.stderr, "write").mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    return { code: await verifyCli(args), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

beforeAll(async () => {
  const started = Date.now();
  ({ lab, cluster } = await startVerifyLab({ name: LAB, hosts: 3, release: "trixie" }));
  key = fs.readFileSync(lab.privateKeyPath, "utf8");
  timings.note(`start a 3-host trixie lab and apply every facet: ${Date.now() - started} ms`);
});

afterAll(async () => {
  await closeAll();
  await stopLab(MIXED);
  await stopLab(LAB);
  timings.print();
});

describe("a healthy 3-host trixie lab", () => {
  test("preflight, helloworld, ringtest and pingpong pass, and the report lists every pair with its figures", async () => {
    const result = await verify();
    timings.note(`healthy job (preflight + helloworld + ringtest + pingpong): ${result.seconds.toFixed(1)} s`);
    expect({ code: result.code, failures: result.report.failures }).toEqual({ code: 0, failures: [] });
    expect(result.report).toMatchObject({ ok: true, failedStage: null, from: "host1" });
    expect(reportShapeProblems(result.report)).toEqual([]);
    expect(stageStatuses(result.report)).toEqual({
      plan: "pass",
      ssh: "pass",
      software: "pass",
      names: "pass",
      tcp: "pass",
      helloworld: "pass",
      ringtest: "pass",
      pingpong: "pass",
    });
    const pairs = result.report.pairs.map((p) => `${p.from}>${p.to}`);
    expect(pairs).toEqual(HOSTS.flatMap((a) => HOSTS.filter((b) => b !== a).map((b) => `${a}>${b}`)));
    for (const p of result.report.pairs) {
      expect(p.ssh).toBe("ok");
      expect(p.tcp.btl).toMatchObject({ status: "ok" });
      expect(p.tcp.oob).toMatchObject({ status: "ok" });
      expect(p.tcp.btl.port).toBeGreaterThanOrEqual(50000);
      expect(p.tcp.btl.port).toBeLessThanOrEqual(50099);
      // The runtime probe listens where Open MPI's runtime will: a port the host hands out (Linux: 32768-60999).
      expect(p.tcp.oob.port).toBeGreaterThanOrEqual(32768);
      expect(p.tcp.oob.port).toBeLessThanOrEqual(60999);
      expect(p.latencyUs).toBeGreaterThan(0);
      expect(p.bandwidthMBs).toBeGreaterThan(0);
    }
    for (const h of result.report.hosts) {
      expect(h).toMatchObject({ reached: true, hostname: h.name, mpirunOnPath: "/usr/bin/mpirun" });
      expect(h.openmpi).toMatch(/^5\.0\.\d+$/);
      expect(h.mpi4py).toMatch(/^4\.\d+\.\d+$/);
    }
    // Independent of the job: the versions it reports are what the hosts' own tools say.
    const own = await sshExec(lab, "host2", "mpirun --version | head -n 1; python3 -c 'import mpi4py; print(mpi4py.__version__)'");
    const host2 = result.report.hosts.find((h) => h.name === "host2")!;
    expect(own.stdout).toBe(`mpirun (Open MPI) ${host2.openmpi}\n${host2.mpi4py}\n`);
    expect(result.summary).toMatch(
      /^mpi-hosts verify: ok in [\d.]+ s from host1: 3 hosts, 6 ranks; ssh 6\/6 pairs, tcp 12\/12 ports, names 9\/9; helloworld ok, ringtest ok, pingpong ok$/,
    );
  });

  test("npm run verify prints the matrix and writes the HTML page; exit 0", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "verify-cli-"));
    try {
      const stack = path.join(dir, "Pulumi.verify.yaml");
      fs.writeFileSync(stack, renderLabStack(lab));
      const html = path.join(dir, "matrix.html");
      const out = await cli([stack, "--html", html, "--tests", "helloworld"]);
      expect({ code: out.code, stderr: out.stderr }).toMatchObject({ code: 0 });
      const lines = out.stdout.split("\n");
      expect(lines[0]).toMatch(/^mpi-hosts verify: ok in /);
      expect(lines).toContain("from \\ to  host1  host2  host3");
      expect(lines).toContain("host1      ·      ✓✓✓    ✓✓✓");
      expect(out.stderr).toContain("mpi-hosts: verify: preflight passed");
      const page = fs.readFileSync(html, "utf8");
      expect(page.split("\n").filter((l) => l.startsWith("<tr><th>host"))).toHaveLength(3);
      expect(page).not.toContain('class="bad"');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("npm run verify refuses what it cannot use, and says what it expected", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "verify-cli-errors-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const stackWith = (edit: (text: string) => string) => {
    const file = path.join(dir, `Pulumi.case${fs.readdirSync(dir).length}.yaml`);
    fs.writeFileSync(file, edit(renderLabStack(lab)));
    return file;
  };

  test.each([
    ["no stack named", () => [], /^verify: name the stack/],
    ["an unknown option", () => ["--colour"], /^verify: unknown option --colour/],
    ["a stack file that is not there", () => [path.join(dir, "Pulumi.none.yaml")], /Pulumi\.none\.yaml: no such file/],
    [
      "an unknown test",
      () => [stackWith((t) => t), "--tests", "helloworld,hello"],
      /--tests takes a comma-separated list of helloworld, ringtest, pingpong; got 'helloworld,hello'/,
    ],
    [
      "an invalid config",
      () => [stackWith((t) => t.replace("slots: 2", "slots: 0"))],
      /is not a valid cluster config[\s\S]*mpi-hosts:hosts\[0\]\.slots/,
    ],
    [
      "a key file that is not there",
      () => [stackWith((t) => t.replace(lab.privateKeyPath, path.join(dir, "no-key")))],
      // It logs in as pulumi would (agent first, then the key file): the refusal names the file and why it was not usable.
      /every way to log in as mpi was refused: .*key file \S*no-key: cannot read it \(ENOENT\)/,
    ],
  ])("%s: exit 1", async (_what, args, message) => {
    const out = await cli(args());
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(message);
    expect(out.stdout).toBe("");
  });

  test("--help: exit 0", async () => {
    const out = await cli(["--help"]);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^usage: npm run verify -- \[--stack NAME \| FILE\]/);
  });

  test("a head host that does not answer: exit 1 within its connect timeout, naming the host", async () => {
    const head = lab.hosts[0];
    const unused = head.address.replace(/\.\d+$/, ".250");
    const started = Date.now();
    const out = await cli([
      stackWith((t) =>
        t
          .replace(`address: ${head.address}`, `address: ${unused}`)
          .replace("mpi-hosts:ssh:\n", "mpi-hosts:ssh:\n    connectTimeoutSeconds: 3\n"),
      ),
      "--quiet",
    ]);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(
      new RegExp(`^verify: could not run the job on host1: host1 \\(mpi@${unused.replace(/\./g, "\\.")}:2400\\): `),
    );
    expect(Date.now() - started).toBeLessThan(15000);
  });
});

describe("one thing broken by hand", () => {
  test("the BTL range blocked from host1 on host3: the job fails in under 10 s naming the pair and the range", async () => {
    await blockPorts(lab, "host1", "host3", 50000, 50099);
    try {
      // The rule is there, as iptables itself shows it.
      expect(await rootOk(lab, "host3", "iptables -S INPUT")).toContain(
        `-A INPUT -s ${lab.hosts[0].address}/32 -p tcp -m tcp --dport 50000:50099 -j DROP`,
      );
      const result = await verify();
      timings.note(`blocked BTL pair: the job failed after ${result.seconds.toFixed(1)} s`);
      expect(result.code).toBe(1);
      expect(result.seconds).toBeLessThan(10);
      expect(result.report).toMatchObject({ ok: false, failedStage: "tcp" });
      expect(reportShapeProblems(result.report)).toEqual([]);
      expect(result.report.failures.map((f) => f.message)).toEqual([
        expect.stringMatching(/^host1 -> host3:500\d\d \(btl 50000-50099\) blocked \(no answer within 2s\)$/),
      ]);
      expect(result.report.failures[0].hint).toBe(
        "firewall on host3 drops tcp 50000-50099 from the network of host1: check mpi-hosts:firewall / run pulumi up --refresh",
      );
      // Only that pair and range; the way back and the runtime range are open.
      const blocked = result.report.pairs.flatMap((p) =>
        Object.entries(p.tcp)
          .filter(([, t]) => t.status !== "ok")
          .map(([l]) => `${p.from}>${p.to} ${l}`),
      );
      expect(blocked).toEqual(["host1>host3 btl"]);
      expect(stageStatuses(result.report)).toMatchObject({
        ssh: "pass",
        tcp: "fail",
        helloworld: "notrun",
        ringtest: "notrun",
        pingpong: "notrun",
      });
      expect(result.stderr).toContain("mpi-hosts: [tcp] host1 -> host3:");
      expect(result.stderr).toContain("mpi-hosts:     fix: firewall on host3 drops tcp 50000-50099");
    } finally {
      await unblockPorts(lab, "host1", "host3", 50000, 50099);
    }
    // Unblocked, the same pair passes again: it was the rule, nothing else.
    const again = await verify(cluster, ["helloworld"]);
    expect({ code: again.code, failures: again.report.failures }).toEqual({ code: 0, failures: [] });
  });

  test("a host-key prompt pending: host2 lost the pinned key of host3", async () => {
    const file = "/home/mpi/.ssh/mpi-hosts_known_hosts";
    await editUserFile(lab, "host2", file, "/^\\[host3\\]/d");
    try {
      // Independent of the job: OpenSSH on host2 itself refuses to go on without asking.
      const plain = await sshExec(lab, "host2", "ssh host3 true");
      expect(plain.code).toBe(255);
      expect(plain.stderr).toMatch(/Host key verification failed/);
      const result = await verify();
      expect(result.code).toBe(1);
      expect(result.report.failedStage).toBe("ssh");
      expect(result.report.failures.map((f) => [f.kind, f.from, f.to])).toEqual([["ssh-hostkey", "host2", "host3"]]);
      expect(result.report.failures[0].message).toMatch(
        /^host2 -> host3: ssh would stop at a host-key prompt \(No ED25519 host key is known for /,
      );
      expect(result.report.failures[0].hint).toContain("missing from ~/.ssh/mpi-hosts_known_hosts on host2");
      expect(result.report.pairs.filter((p) => p.ssh !== "ok").map((p) => `${p.from}>${p.to}`)).toEqual(["host2>host3"]);
      expect(stageStatuses(result.report).helloworld).toBe("notrun");
    } finally {
      await restoreUserFile(lab, "host2", file);
    }
  });

  test("a host missing from the ssh config of another: the block on host3 lost Host host1", async () => {
    const file = "/home/mpi/.ssh/config";
    const before = await editUserFile(lab, "host3", file, "/^Host host1$/,/^  ConnectTimeout/d");
    try {
      expect(before).toContain("Host host1\n");
      const result = await verify();
      expect(result.code).toBe(1);
      expect(result.report.failedStage).toBe("ssh");
      expect(result.report.failures.map((f) => [f.kind, f.from, f.to])).toEqual([["ssh-config", "host3", "host1"]]);
      expect(result.report.failures[0].message).toBe(
        `host3 -> host1: the ssh config of host3 does not lead to host1 (ssh -G host1 gives host1:22 as mpi, expected ${lab.hosts[0].address}:2400 as mpi)`,
      );
      expect(result.report.failures[0].hint).toContain("the sshConfig facet puts Host host1 into ~/.ssh/config on host3");
    } finally {
      await restoreUserFile(lab, "host3", file);
    }
  });

  test("a BTL range smaller than the slots: preflight says so, and no mpirun starts", async () => {
    // The config loader would refuse this range: the test goes around it, as a hand-edited config would.
    const small: Cluster = structuredClone(cluster);
    small.mpi.btlPorts = { first: 50000, last: 50000 };
    const result = await verify(small);
    expect(result.code).toBe(1);
    expect(result.report.failedStage).toBe("plan");
    expect(result.report.failures.filter((f) => f.stage === "plan").map((f) => f.message)).toEqual(
      HOSTS.map((h) => `${h} runs 2 ranks, but the btl range 50000-50000 holds only 1 (one listening port per rank)`),
    );
    // Right after an MPI job its BTL port stays taken (TIME_WAIT) for a minute: a one-port range may then have no
    // port to probe either. That is the only other thing the job may add, and it says so.
    for (const f of result.report.failures.filter((x) => x.stage !== "plan")) {
      expect(f.message).toMatch(/^host\d: no free port in btl 50000-50000 to listen on \(Address already in use on port 50000\)$/);
    }
    expect(result.report.failures[0].hint).toContain("widen mpi-hosts:mpi.btlPorts to at least 2 ports");
    expect(stageStatuses(result.report)).toMatchObject({ plan: "fail", helloworld: "notrun" });
  });
});

describe("a mixed lab: two trixie hosts and a bookworm host", () => {
  test("preflight names the mpi4py and Open MPI of the odd host out", async () => {
    const started = Date.now();
    const mixed = await startVerifyLab({ name: MIXED, releases: ["trixie", "trixie", "bookworm"] });
    timings.note(`start a trixie, trixie, bookworm lab and apply every facet: ${Date.now() - started} ms`);
    const result = await runVerification(mixed.cluster, { keyFile: mixed.lab.privateKeyPath }, { tests: [...ALL_TESTS] });
    expect(result.report).toBeDefined();
    const report = result.report!;
    expect(result.code).toBe(1);
    expect(report.failedStage).toBe("software");
    const byKind = Object.fromEntries(report.failures.map((f) => [f.kind, f.message]));
    expect(Object.keys(byKind).sort()).toEqual(["mpi4py-differs", "openmpi-differs"]);
    expect(byKind["mpi4py-differs"]).toMatch(/^mpi4py versions differ: 4\.\d+\.\d+ on host1, host2; 3\.1\.\d+ on host3$/);
    expect(byKind["openmpi-differs"]).toMatch(/^Open MPI versions differ: 5\.0\.\d+ on host1, host2; 4\.1\.\d+ on host3$/);
    expect(stageStatuses(report)).toMatchObject({ ssh: "pass", names: "pass", tcp: "pass", helloworld: "notrun" });
    await stopLab(MIXED);
  });
});
