/** The report for people (text and HTML) and finding the report in the job's output, from hand-made reports. */
import { renderHtml, escapeHtml } from "./html";
import { parseVerifyOutput, ReportError, VerifyReport } from "./report";
import { cellText, formatBandwidth, formatLatency, renderSummary } from "./summary";

function sample(blocked: boolean): VerifyReport {
  const names = ["host1", "host2", "host3"];
  const pairs = names.flatMap((from) =>
    names
      .filter((to) => to !== from)
      .map((to) => {
        const bad = blocked && from === "host1" && to === "host3";
        return {
          from,
          to,
          ssh: "ok" as const,
          tcp: {
            btl: {
              status: bad ? ("blocked" as const) : ("ok" as const),
              port: 50000,
              seconds: bad ? 2.003 : 0.002,
              detail: bad ? "no answer within 2s" : null,
            },
            oob: { status: "ok" as const, port: 50100, seconds: 0.002, detail: null },
          },
          ...(blocked ? {} : { latencyUs: 42.5, bandwidthMBs: 1234.5 }),
        };
      }),
  );
  return {
    version: 1,
    ok: !blocked,
    failedStage: blocked ? "tcp" : null,
    from: "host1",
    at: "2026-12-01T16:00:00Z",
    seconds: 3.1,
    summary: blocked
      ? "mpi-hosts verify: FAILED at stage tcp after 3.1 s from host1: host1 -> host3:50000 (btl 50000-50099) blocked"
      : "mpi-hosts verify: ok",
    stages: [
      { name: "plan", status: "pass", seconds: null, detail: null },
      { name: "tcp", status: blocked ? "fail" : "pass", seconds: 2.4, detail: null },
      { name: "helloworld", status: blocked ? "notrun" : "pass", seconds: blocked ? null : 1.2, detail: null },
      {
        name: "pingpong",
        status: blocked ? "notrun" : "skip",
        seconds: 0,
        detail: blocked ? null : "needs mpi4py 4.0 or later, found 3.1.4",
      },
    ],
    ranges: [
      { label: "btl", first: 50000, last: 50099 },
      { label: "oob", first: 50100, last: 50199 },
    ],
    hosts: names.map((name, i) => ({
      name,
      address: `10.0.0.${11 + i}`,
      slots: 2,
      reached: true,
      hostname: name,
      openmpi: "5.0.7",
      mpi4py: "4.0.3",
      python: "/usr/bin/python3",
      mpirun: "/usr/bin/mpirun",
      mpirunOnPath: "/usr/bin/mpirun",
    })),
    pairs,
    failures: blocked
      ? [
          {
            stage: "tcp",
            kind: "tcp-blocked",
            from: "host1",
            to: "host3",
            port: 50000,
            range: "btl 50000-50099",
            expected: null,
            detail: "no answer within 2s",
            message: "host1 -> host3:50000 (btl 50000-50099) blocked (no answer within 2s)",
            hint: "firewall on host3 drops tcp 50000-50099 from the network of host1: check mpi-hosts:firewall / run pulumi up --refresh",
          },
        ]
      : [],
  };
}

describe("parseVerifyOutput", () => {
  const report = sample(true);
  it.each([
    ["summary line, then the report", `${report.summary}\n${JSON.stringify(report)}\n`],
    ["noise before (a chatty login shell)", `Welcome!\n${report.summary}\n${JSON.stringify(report)}\n`],
  ])("finds the report: %s", (_what, stdout) => {
    const parsed = parseVerifyOutput(stdout);
    expect(parsed.report).toEqual(report);
    expect(parsed.summary).toBe(report.summary);
  });

  it.each([
    ["no output", "", /printed no report \(no output at all\)/],
    ["the old job's output", "helloworld: ok\nringtest: ok\n", /printed no report \(its last output: helloworld: ok \| ringtest: ok\)/],
    ["a cut report", '{"version":1,"ok":tr', /not valid JSON/],
    ["another version", '{"version":2}', /unknown verification report version 2/],
  ])("says why there is none: %s", (_what, stdout, message) => {
    expect(() => parseVerifyOutput(stdout)).toThrow(ReportError);
    expect(() => parseVerifyOutput(stdout)).toThrow(message);
  });
});

describe("renderSummary", () => {
  it("draws the host x host matrix with the blocked pair, versions, and the problem with what to change", () => {
    const text = renderSummary(sample(true));
    const lines = text.split("\n");
    expect(lines[0]).toBe(sample(true).summary);
    expect(lines).toContain("from \\ to  host1  host2  host3");
    expect(lines).toContain("host1      ·      ✓✓✓    ✓✗✓");
    expect(lines).toContain("host3      ✓✓✓    ✓✓✓    ·");
    expect(text).toContain("stages: plan ok, tcp FAILED (2.4 s), helloworld not run, pingpong not run");
    expect(lines).toContain("host2  10.0.0.12  2      host2     5.0.7     4.0.3   /usr/bin/mpirun");
    expect(text).toContain("  1. [tcp] host1 -> host3:50000 (btl 50000-50099) blocked (no answer within 2s)\n");
    expect(text).toContain("     likely cause and what to change: firewall on host3 drops tcp 50000-50099 from the network of host1");
  });

  it("shows pingpong's figures in the matrix and why a test was skipped", () => {
    const text = renderSummary(sample(false));
    expect(text).toContain("host2      ✓✓✓ 43 us 1.23 GB/s  ·");
    expect(text).toContain("  pingpong: needs mpi4py 4.0 or later, found 3.1.4");
    expect(text).not.toContain("problems");
  });

  it("shows the lines of mpirun under a failed test, and every retry", () => {
    const report = sample(true);
    report.failures = [
      {
        stage: "pingpong",
        kind: "pair-launch",
        from: "host2",
        to: "host3",
        port: null,
        range: null,
        expected: "60",
        detail: "mpirun exited 1: PRTE has lost communication with a remote daemon.",
        message: "pingpong: host2 <-> host3: mpirun exited 1: PRTE has lost communication with a remote daemon.",
        hint: "the Open MPI runtime could not start or keep its daemons",
        output: ["PRTE has lost communication with a remote daemon.", "Remote daemon: [prterun-host1-322@0,2] on node host3"],
        retried: "the runtime lost communication with a remote daemon",
      },
    ];
    report.retries = [
      { stage: "pingpong", from: "host2", to: "host3", reason: "the runtime lost communication with a remote daemon", result: "fail" },
      { stage: "helloworld", from: "host1", to: null, reason: "a runtime daemon did not start", result: "pass" },
    ];
    const text = renderSummary(report);
    expect(text).toContain(
      "  1. [pingpong] pingpong: host2 <-> host3: mpirun exited 1: PRTE has lost communication with a remote daemon.\n" +
        "     | Remote daemon: [prterun-host1-322@0,2] on node host3\n" +
        "     likely cause and what to change: the Open MPI runtime",
    );
    expect(text).toContain("  pingpong host2 <-> host3 retried once (the runtime lost communication with a remote daemon): failed again\n");
    expect(text).toContain("  helloworld from host1 retried once (a runtime daemon did not start): passed the second time\n");
    const html = renderHtml(report);
    expect(html).toContain('<pre class="output">Remote daemon: [prterun-host1-322@0,2] on node host3</pre>');
    expect(html).toContain("<li>helloworld from host1 retried once (a runtime daemon did not start): passed the second time</li>");
  });

  it.each([
    [42.5, "43 us"],
    [999, "999 us"],
    [4202.3, "4.2 ms"],
  ])("formatLatency(%f) = %s", (us, text) => expect(formatLatency(us)).toBe(text));

  it.each([
    [83.07, "83.1 MB/s"],
    [552.57, "553 MB/s"],
    [1234.5, "1.23 GB/s"],
  ])("formatBandwidth(%f) = %s", (mbs, text) => expect(formatBandwidth(mbs)).toBe(text));

  it("marks a pair it could not check with ?", () => {
    const report = sample(true);
    const pair = {
      ...report.pairs[0],
      ssh: "unchecked" as const,
      tcp: { btl: { status: "unchecked" as const, port: null, seconds: null, detail: null } },
    };
    expect(cellText(report, pair)).toBe("???");
  });
});

describe("renderHtml", () => {
  it("is one self-contained page: the matrix coloured by what works, the problem, nothing fetched", () => {
    const html = renderHtml(sample(true));
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|<link|src=|href=/);
    const rows = html.split("\n").filter((l) => l.startsWith("<tr><th>host"));
    expect(rows).toHaveLength(3);
    // host1 -> host3 is red, with the btl badge red and its port range in the title; the others green.
    const host1 = rows[0].split("<td").slice(1);
    expect(host1[0]).toMatch(/^ class="self"/);
    expect(host1[1]).toMatch(/^ class="ok"/);
    expect(host1[2]).toMatch(/^ class="bad"/);
    expect(host1[2]).toContain(
      '<span class="badge bad" title="tcp host1 -&gt; host3:50000 (btl 50000-50099): blocked (no answer within 2s)">btl</span>',
    );
    expect(html).toContain("<li><strong>[tcp]</strong> host1 -&gt; host3:50000 (btl 50000-50099) blocked (no answer within 2s)");
    expect(html).toContain('<p class="verdict bad">');
  });

  it("escapes what it shows", () => {
    expect(escapeHtml(`<a href="x">&'`)).toBe("&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    const report = sample(false);
    report.hosts[0].hostname = "<img src=x>";
    expect(renderHtml(report)).not.toContain("<img");
  });
});
