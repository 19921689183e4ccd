/** The report's fields as data: what reportShapeProblems finds in a report that departs from the type. */
import { reportShapeProblems } from "./reportShape";

function report(): Record<string, unknown> {
  return {
    version: 1,
    ok: false,
    failedStage: "tcp",
    from: "h1",
    at: null,
    seconds: 3.1,
    summary: "mpi-hosts verify: FAILED at stage tcp",
    stages: [{ name: "tcp", status: "fail", seconds: 2.4, detail: null }],
    ranges: [{ label: "btl", first: 50000, last: 50099 }],
    hosts: [
      {
        name: "h1",
        address: "10.0.0.11",
        slots: 2,
        reached: true,
        hostname: "h1",
        openmpi: "5.0.7",
        mpi4py: "4.0.3",
        python: "/usr/bin/python3",
        mpirun: "/usr/bin/mpirun",
        mpirunOnPath: "/usr/bin/mpirun",
      },
    ],
    pairs: [{ from: "h1", to: "h2", ssh: "ok", tcp: { btl: { status: "blocked", port: 50000, seconds: 2, detail: "no answer" } } }],
    failures: [
      {
        stage: "tcp",
        kind: "tcp-blocked",
        from: "h1",
        to: "h2",
        port: 50000,
        range: "btl 50000-50099",
        expected: null,
        detail: "no answer",
        message: "h1 -> h2:50000 (btl 50000-50099) blocked (no answer)",
        hint: null,
        output: [],
        retried: null,
      },
    ],
    retries: [],
  };
}

describe("reportShapeProblems", () => {
  it("finds nothing in a report with the fields of the type, optional ones left out or not", () => {
    expect(reportShapeProblems(report())).toEqual([]);
    const older = report();
    delete older.retries;
    (older.failures as Array<Record<string, unknown>>).forEach((f) => (delete f.output, delete f.retried));
    expect(reportShapeProblems(older)).toEqual([]);
  });

  it.each<[string, (r: any) => void, string]>([
    ["a missing field", (r) => delete r.summary, "report: no field summary"],
    ["a field the type lacks", (r) => (r.hosts[0].kernel = "6.1"), "hosts[0]: field kernel is not in the type"],
    ["a nested missing field", (r) => delete r.pairs[0].tcp.btl.port, "pairs[0].tcp.btl: no field port"],
    [
      "a stage status the type does not allow",
      (r) => (r.stages[0].status = "timeout"),
      'stages[0].status: "timeout" is none of pass, fail, skip, notrun',
    ],
    [
      "a tcp status the type does not allow",
      (r) => (r.pairs[0].tcp.btl.status = "timeout"),
      'pairs[0].tcp.btl.status: "timeout" is none of ok, blocked, unchecked',
    ],
    ["a list that is no list", (r) => (r.failures = "none"), 'failures: expected an array, found "none"'],
  ])("names %s", (_what, mutate, problem) => {
    const r = report();
    mutate(r);
    expect(reportShapeProblems(r)).toEqual([problem]);
  });
});
