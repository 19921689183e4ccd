import {
  analysePreview,
  FACET_TYPE,
  formatFailures,
  formatMarkdown,
  formatReport,
  run,
  PreviewJson,
  PreviewStep,
  previewFailures,
} from "./drift";

/** Steps shaped like `pulumi preview --refresh --json` prints them (v3.248, facet provider). */
const urn = (name: string, type = FACET_TYPE) =>
  `urn:pulumi:lab::mpi-hosts::mpi-hosts:index:MpiCluster$mpi-hosts:index:MpiHost$${type}::${name}`;

function facetState(host: string, facet: string, declared: Record<string, unknown>, found: Record<string, unknown>) {
  return {
    urn: urn(`${host}-${facet}`),
    type: FACET_TYPE,
    inputs: { host, facet, connection: "[secret]", state: declared },
    outputs: { host, facet, connection: "[secret]", secretEnv: "[secret]", state: found },
  };
}

const MCA = "# BEGIN mpi-hosts managed block\nbtl_tcp_port_min_v4 = 50000\nbtl_tcp_port_range_v4 = 100\n# END mpi-hosts managed block\n";
const MCA_EDITED = MCA.replace("range_v4 = 100", "range_v4 = 50");
const MCA_NEW_RANGE = MCA.replace("min_v4 = 50000", "min_v4 = 50200");
const RULES = "allow tcp 50000-50099 from 10.0.0.0/24\nallow tcp 50100-50199 from 10.0.0.0/24\n";
const RULES_ONE_GONE = "allow tcp 50000-50099 from 10.0.0.0/24\n";

/** A refresh step (the state before the refresh) and, when the facet needs work, the step that follows it. */
function facetSteps(opts: {
  host: string;
  facet: string;
  declaredBefore: Record<string, unknown>;
  foundBefore: Record<string, unknown>;
  foundNow: Record<string, unknown>;
  declaredNow: Record<string, unknown>;
  op?: string;
}): PreviewStep[] {
  const before = facetState(opts.host, opts.facet, opts.declaredBefore, opts.foundBefore);
  const steps: PreviewStep[] = [{ op: "refresh", urn: before.urn, oldState: before, newState: before }];
  const op = opts.op ?? (JSON.stringify(opts.foundNow) === JSON.stringify(opts.declaredNow) ? "same" : "update");
  const now = facetState(opts.host, opts.facet, opts.declaredBefore, opts.foundNow);
  const next = { ...facetState(opts.host, opts.facet, opts.declaredNow, {}), outputs: undefined };
  steps.push({ op, urn: before.urn, oldState: now, newState: next });
  return steps;
}

describe("analysePreview", () => {
  it("finds nothing when every facet is the same", () => {
    const preview: PreviewJson = {
      changeSummary: { same: 2 },
      steps: facetSteps({
        host: "host1",
        facet: "mcaParams",
        declaredBefore: { openmpi: MCA },
        foundBefore: { openmpi: MCA },
        foundNow: { openmpi: MCA },
        declaredNow: { openmpi: MCA },
      }),
    };
    expect(analysePreview(preview)).toEqual({ facets: [], others: [] });
  });

  it.each([
    [
      "an edit by hand is drift",
      { declaredBefore: { openmpi: MCA }, foundBefore: { openmpi: MCA }, foundNow: { openmpi: MCA_EDITED }, declaredNow: { openmpi: MCA } },
      "drift",
      false,
    ],
    [
      "a new config value is pending, not drift",
      {
        declaredBefore: { openmpi: MCA },
        foundBefore: { openmpi: MCA },
        foundNow: { openmpi: MCA },
        declaredNow: { openmpi: MCA_NEW_RANGE },
      },
      "pending",
      true,
    ],
    [
      "an edit by hand and a new config value: drift, and the config changed too",
      {
        declaredBefore: { openmpi: MCA },
        foundBefore: { openmpi: MCA },
        foundNow: { openmpi: MCA_EDITED },
        declaredNow: { openmpi: MCA_NEW_RANGE },
      },
      "drift",
      true,
    ],
  ])("%s", (_what, states, cause, configChanged) => {
    const report = analysePreview({ changeSummary: { update: 1 }, steps: facetSteps({ host: "host4", facet: "mcaParams", ...states }) });
    expect(report.facets).toHaveLength(1);
    expect(report.facets[0]).toMatchObject({ host: "host4", facet: "mcaParams", cause, configChanged });
    expect(report.facets[0].differences.map((d) => d.key)).toEqual(["openmpi"]);
  });

  it("ignores facts the probe reports but the config does not declare (versions, backends)", () => {
    const declared = { rules: RULES };
    const steps = facetSteps({
      host: "host2",
      facet: "firewall",
      declaredBefore: declared,
      foundBefore: { ...declared, iptables_version: "1.8.9" },
      foundNow: { ...declared, iptables_version: "1.8.11" },
      declaredNow: declared,
      op: "update", // say the engine asked for an update for another reason (the connection changed)
    });
    const report = analysePreview({ changeSummary: { update: 1 }, steps });
    expect(report.facets[0]).toMatchObject({ cause: "rerun", differences: [] });
  });

  it("tells a host that is as declared but whose facet scripts changed (a new mpi-hosts version) from drift", () => {
    const steps = facetSteps({
      host: "host1",
      facet: "firewall",
      declaredBefore: { rules: RULES },
      foundBefore: { rules: RULES },
      foundNow: { rules: RULES },
      declaredNow: { rules: RULES },
      op: "update",
    });
    steps[1].oldState!.inputs!.scriptsDigest = `sha256:${"0".repeat(64)}`;
    steps[1].newState!.inputs!.scriptsDigest = `sha256:${"1".repeat(64)}`;
    const report = analysePreview({ changeSummary: { update: 1 }, steps });
    expect(report.facets[0]).toMatchObject({ cause: "rerun", differences: [], inputs: ["scriptsDigest"] });
    expect(formatReport(report, "lab")).toBe(
      [
        "lab: every host is as declared (no drift), but `pulumi up` has work to do",
        "",
        "host1:",
        "  firewall: as declared, but pulumi up will apply it again: mpi-hosts' scripts changed since the last `pulumi up` (a new mpi-hosts version?)",
        "",
        "repair: pulumi up --refresh --stack lab   (npm run render -- --stack lab shows the declared files)",
        "",
      ].join("\n"),
    );
  });

  it("names new and removed facets, and other resources' changes, but not the stack", () => {
    const added = facetState("host6", "hostfile", { hostfile: "host6 slots=2\n" }, {});
    const removed = facetState("host5", "hostfile", { hostfile: "host5 slots=2\n" }, { hostfile: "host5 slots=2\n" });
    const verify = {
      urn: urn("lab-verify", "mpi-hosts:index:VerificationJob"),
      type: "mpi-hosts:index:VerificationJob",
      inputs: { fingerprint: "a", appliedAt: { "host1/firewall": "2026-12-02T04:00:00.000Z" } },
      outputs: {},
    };
    const verifyNext = { ...verify, inputs: { ...verify.inputs, appliedAt: { "host1/firewall": "2026-12-02T04:05:00.000Z" } } };
    const stack = { urn: "urn:pulumi:lab::mpi-hosts::pulumi:pulumi:Stack::mpi-hosts-lab", type: "pulumi:pulumi:Stack" };
    const report = analysePreview({
      changeSummary: { create: 1, delete: 1, replace: 1 },
      steps: [
        { op: "same", urn: stack.urn, oldState: stack, newState: stack },
        { op: "create", urn: added.urn, newState: { ...added, outputs: undefined } },
        { op: "delete", urn: removed.urn, oldState: removed },
        { op: "replace", urn: verify.urn, oldState: verify, newState: verifyNext },
      ],
    });
    expect(report.facets.map((f) => [f.host, f.facet, f.cause])).toEqual([
      ["host5", "hostfile", "removed"],
      ["host6", "hostfile", "new"],
    ]);
    expect(report.others).toEqual([{ name: "lab-verify", type: "mpi-hosts:index:VerificationJob", op: "replace", inputs: ["appliedAt"] }]);
    expect(formatReport(report, "lab")).toContain(
      "other changes:\n  lab-verify (mpi-hosts:index:VerificationJob): replace (appliedAt changed)\n",
    );
  });

  it("orders findings by host number, then facet", () => {
    const steps = ["host10", "host2", "host1"].flatMap((host) =>
      facetSteps({
        host,
        facet: "firewall",
        declaredBefore: { rules: RULES },
        foundBefore: { rules: RULES },
        foundNow: { rules: RULES_ONE_GONE },
        declaredNow: { rules: RULES },
      }),
    );
    expect(analysePreview({ changeSummary: { update: 3 }, steps }).facets.map((f) => f.host)).toEqual(["host1", "host2", "host10"]);
  });
});

describe("formatReport", () => {
  it("says so when in sync", () => {
    expect(formatReport({ facets: [], others: [] }, "lab")).toBe("lab: every host is as declared (no drift)\n");
  });

  it("prints per host and facet the changed lines, - on the host and + declared, and how to repair", () => {
    const steps = [
      ...facetSteps({
        host: "host2",
        facet: "firewall",
        declaredBefore: { rules: RULES },
        foundBefore: { rules: RULES },
        foundNow: { rules: RULES_ONE_GONE },
        declaredNow: { rules: RULES },
      }),
      ...facetSteps({
        host: "host4",
        facet: "mcaParams",
        declaredBefore: { openmpi: MCA },
        foundBefore: { openmpi: MCA },
        foundNow: { openmpi: MCA_EDITED },
        declaredNow: { openmpi: MCA },
      }),
    ];
    expect(formatReport(analysePreview({ changeSummary: { update: 2 }, steps }), "lab")).toBe(
      [
        "lab: 2 facet(s) on 2 host(s) differ from the declared state (2 changed on the host)",
        "  (- what the host has, + what the config declares)",
        "",
        "host2:",
        "  firewall: changed on the host since the last `pulumi up`",
        "    rules:",
        "      + allow tcp 50100-50199 from 10.0.0.0/24",
        "",
        "host4:",
        "  mcaParams: changed on the host since the last `pulumi up`",
        "    openmpi:",
        "      - btl_tcp_port_range_v4 = 50",
        "      + btl_tcp_port_range_v4 = 100",
        "",
        "repair: pulumi up --refresh --stack lab   (npm run render -- --stack lab shows the declared files)",
        "",
      ].join("\n"),
    );
  });
});

describe("formatMarkdown", () => {
  it("says so when in sync", () => {
    expect(formatMarkdown({ facets: [], others: [] }, "lab")).toBe("### mpi-hosts drift: `lab`\n\nEvery host is as declared (no drift).\n");
  });

  it("gives a table per host and facet, then each facet's lines as a diff block (- on the host, + declared)", () => {
    const steps = facetSteps({
      host: "host4",
      facet: "mcaParams",
      declaredBefore: { openmpi: MCA },
      foundBefore: { openmpi: MCA },
      foundNow: { openmpi: MCA_EDITED },
      declaredNow: { openmpi: MCA },
    });
    expect(formatMarkdown(analysePreview({ changeSummary: { update: 1 }, steps }), "lab")).toBe(
      [
        "### mpi-hosts drift: `lab`",
        "",
        "1 facet(s) on 1 host(s) differ from the declared state.",
        "",
        "| host | facet | why |",
        "| --- | --- | --- |",
        "| host4 | mcaParams | changed on the host since the last `pulumi up` |",
        "",
        "**host4** `mcaParams` (- on the host, + declared)",
        "",
        "```diff",
        "  openmpi:",
        "- btl_tcp_port_range_v4 = 50",
        "+ btl_tcp_port_range_v4 = 100",
        "```",
        "",
        "Repair: `pulumi up --refresh --stack lab`",
        "",
      ].join("\n"),
    );
  });

  it("keeps a host's line with backticks or pipes from breaking the fence or the table", () => {
    const fenceInFile = "echo ```` | cat";
    const steps = facetSteps({
      host: "host1",
      facet: "sshConfig",
      declaredBefore: { config: "a\nb" },
      foundBefore: { config: "a\nb" },
      foundNow: { config: `a\n${fenceInFile}` },
      declaredNow: { config: "a\nb" },
    });
    const md = formatMarkdown(analysePreview({ changeSummary: { update: 1 }, steps }), "lab");
    expect(md).toContain("`````diff\n  config:\n- echo ```` | cat\n+ b\n`````");
  });
});

describe("the drift command line", () => {
  it("refuses a format it does not know, before running pulumi, naming the ones it knows", async () => {
    const written: string[] = [];
    const spy = jest.spyOn(process.stderr, "write").mockImplementation((chunk) => (written.push(String(chunk)), true));
    try {
      expect(await run(["--stack", "lab", "--format", "yaml"])).toBe(1);
    } finally {
      spy.mockRestore();
    }
    expect(written.join("")).toMatch(/^drift: --format yaml: not one of text, json, markdown\n/);
  });
});

describe("previewFailures", () => {
  const down = facetState("host3", "firewall", {}, {});
  const message = "host3 (mpi@10.0.0.13:2400): no SSH answer within 10s (is the host up, and the address and port right?)";
  const preview: PreviewJson = {
    steps: [{ op: "refresh", urn: down.urn, oldState: down, newState: down }],
    diagnostics: [
      { message: `RemoteError: ${message}: RemoteError: ${message}\n`, severity: "info#err" },
      { urn: down.urn, message: `error: Preview failed: ${message}\n`, severity: "error" },
      { urn: down.urn, message: `error: Preview failed: ${message}\n`, severity: "error" },
      { urn: "urn:pulumi:lab::mpi-hosts::pulumi:pulumi:Stack::mpi-hosts-lab", message: "error: preview failed\n", severity: "error" },
    ],
  };

  it("names the unreachable host once, with the provider's message", () => {
    expect(previewFailures(preview)).toEqual([{ host: "host3", message }]);
    expect(formatFailures("lab", previewFailures(preview))).toBe(
      `lab: could not check host3; no drift report (nothing was changed)\n  host3: ${message}\n`,
    );
  });

  it("falls back to the engine's own errors when no facet failed (a program or config error)", () => {
    const failures = previewFailures({
      diagnostics: [{ message: "error: mpi-hosts:hosts[0].port: 70000 is not a TCP port\n", severity: "error" }],
    });
    expect(failures).toEqual([{ message: "mpi-hosts:hosts[0].port: 70000 is not a TCP port" }]);
  });
});
