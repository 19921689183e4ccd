import { driftOutcome, FACET_TYPE, formatFailures, formatReport, analysePreview } from "./drift";
import { digestPreviewEvents, PreviewEvent } from "./previewEvents";
import type { Backend } from "./backend";

/**
 * Engine events shaped as pulumi v3.248.0 streams them to the Automation API (sdk/go/common/apitype/events.go: every
 * event numbered from 0; step states with type, urn, inputs and outputs; diagnostics with prefix and message apart).
 * test/e2e/previewEvents.test.ts checks the digest against the real engine's own `--json` digest.
 */
const STACK_URN = "urn:pulumi:lab::mpi-hosts::pulumi:pulumi:Stack::mpi-hosts-lab";
const urn = (name: string, type = FACET_TYPE) =>
  `urn:pulumi:lab::mpi-hosts::mpi-hosts:index:MpiCluster$mpi-hosts:index:MpiHost$${type}::${name}`;

const MCA = "btl_tcp_port_min_v4 = 50000\nbtl_tcp_port_range_v4 = 100\n";
const MCA_EDITED = "btl_tcp_port_min_v4 = 50000\nbtl_tcp_port_range_v4 = 50\n";
const BLINDED = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: "[secret]" };

function facetState(host: string, facet: string, declared: Record<string, unknown>, found?: Record<string, unknown>) {
  return {
    urn: urn(`${host}-${facet}`),
    type: FACET_TYPE,
    id: `${host}-${facet}`,
    parent: "",
    provider: "",
    inputs: { host, facet, connection: BLINDED, state: declared },
    outputs: found ? { host, facet, connection: BLINDED, state: found } : {},
  };
}

type Body = Omit<PreviewEvent, "sequence" | "timestamp">;

/** Numbers the events from 0, as the engine stamps them (display.go stampEvents). */
function numbered(bodies: Body[]): PreviewEvent[] {
  return bodies.map((b, i) => ({ sequence: i, timestamp: 1764650000, ...b }) as PreviewEvent);
}

function step(op: string, old?: ReturnType<typeof facetState>, next?: ReturnType<typeof facetState>, logical = false): Body {
  const s = (old ?? next)!;
  return { resourcePreEvent: { metadata: { op: op as never, urn: s.urn, type: s.type, old, new: next, provider: "", logical } } };
}

const stackState = { urn: STACK_URN, type: "pulumi:pulumi:Stack", id: "", parent: "", provider: "", inputs: {}, outputs: {} };
const prelude: Body = { preludeEvent: { config: {} } };
const stackSame: Body = {
  resourcePreEvent: { metadata: { op: "same", urn: STACK_URN, type: stackState.type, old: stackState, new: stackState, provider: "" } },
};
const summary = (changes: Record<string, number>, result = "succeeded"): Body => ({
  summaryEvent: { maybeCorrupt: false, durationSeconds: 3, resourceChanges: changes, policyPacks: {}, result } as never,
});

/** host4's MCA file edited by hand: its refresh (the state of the last up), then the update the preview plans. */
const recorded = facetState("host4", "mcaParams", { openmpi: MCA }, { openmpi: MCA });
const refreshed = facetState("host4", "mcaParams", { openmpi: MCA }, { openmpi: MCA_EDITED });
const planned = facetState("host4", "mcaParams", { openmpi: MCA });
const untouched = facetState("host1", "mcaParams", { openmpi: MCA }, { openmpi: MCA });
const driftEvents: Body[] = [
  prelude,
  stackSame,
  step("refresh", recorded, recorded),
  step("refresh", untouched, untouched),
  step("update", refreshed, planned),
  step("same", untouched, untouched),
];

const nowhere = (): Backend => {
  throw new Error("the backend is asked for only when the stack is missing");
};
const ok = { code: 0, stdout: "", stderr: "" };
const DRIFT_TEXT = [
  "lab: 1 facet(s) on 1 host(s) differ from the declared state (1 changed on the host)",
  "  (- what the host has, + what the config declares)",
  "",
  "host4:",
  "  mcaParams: changed on the host since the last `pulumi up`",
  "    openmpi:",
  "      - btl_tcp_port_range_v4 = 50",
  "      + btl_tcp_port_range_v4 = 100",
  "",
  "repair: pulumi up --refresh --stack lab   (npm run render -- --stack lab shows the declared files)",
  "",
].join("\n");

describe("a refresh preview's engine events, read as pulumi preview --json digests them", () => {
  it("keeps the steps the JSON lists (the stack's, refreshes, changes) and leaves out same steps", () => {
    const end: Body = { cancelEvent: {} }; // every stream ends so, a successful one too
    const { preview, problems, unfinished } = digestPreviewEvents(numbered([...driftEvents, summary({ same: 3, update: 1 }), end]));
    expect(problems).toEqual([]);
    expect(unfinished).toBeUndefined();
    expect(preview.changeSummary).toEqual({ same: 3, update: 1 });
    expect(preview.steps!.map((s) => [s.op, s.urn.split("::").pop()])).toEqual([
      ["same", "mpi-hosts-lab"],
      ["refresh", "host4-mcaParams"],
      ["refresh", "host1-mcaParams"],
      ["update", "host4-mcaParams"],
    ]);
    expect(preview.steps![3].oldState).toEqual({
      urn: refreshed.urn,
      type: FACET_TYPE,
      inputs: refreshed.inputs,
      outputs: refreshed.outputs,
    });
  });

  it("leaves out the default providers' steps, which the engine marks internal (the real stream has them)", () => {
    const provider = {
      ...stackState,
      urn: "urn:pulumi:lab::mpi-hosts::pulumi:providers:mpi-hosts::default_0_1_0",
      type: "pulumi:providers:mpi-hosts",
    };
    const bodies: Body[] = [
      {
        resourcePreEvent: {
          metadata: { op: "refresh", urn: provider.urn, type: provider.type, old: provider, new: provider, provider: "" },
        },
      },
    ];
    const { preview } = digestPreviewEvents(numbered([...bodies, step("refresh", untouched, untouched), summary({ same: 1 })]));
    expect(preview.steps!.map((s) => s.urn)).toEqual([untouched.urn]);
  });

  it("lists a logical replace but not the create-replacement and delete-replaced steps under it", () => {
    const job = { ...facetState("host1", "verify", {}), urn: urn("lab-verify", "command:remote:Command"), type: "command:remote:Command" };
    const { preview } = digestPreviewEvents(
      numbered([
        step("replace", job, job, true),
        step("create-replacement", job, job),
        step("delete-replaced", job, job),
        summary({ replace: 1 }),
      ]),
    );
    expect(preview.steps!.map((s) => s.op)).toEqual(["replace"]);
  });

  it("joins each diagnostic's prefix and message, skips ephemeral and debug ones, and keeps program output as info", () => {
    const { preview } = digestPreviewEvents(
      numbered([
        {
          diagnosticEvent: {
            urn: refreshed.urn,
            prefix: "error: ",
            message: "Preview failed: host4: sudo: a password is required\n",
            color: "never",
            severity: "error",
          },
        },
        { diagnosticEvent: { message: "resolving...", color: "never", severity: "info", ephemeral: true } },
        { diagnosticEvent: { message: "engine internals", color: "never", severity: "debug" as never } },
        { stdoutEvent: { message: "hello from the program", color: "never" } },
        summary({}),
      ]),
    );
    expect(preview.diagnostics).toEqual([
      { urn: refreshed.urn, message: "error: Preview failed: host4: sudo: a password is required\n", severity: "error" },
      { message: "hello from the program", severity: "info" },
    ]);
  });

  it.each<[string, Body[], string]>([
    ["a missing summary", driftEvents, "the engine sent no summary of the preview (it stopped before the end, or its events were lost)"],
    [
      "a summary that says the preview failed",
      [...driftEvents, summary({ update: 1 }, "failed")],
      "the engine's summary says the preview failed",
    ],
    [
      "a cancellation (the summary says so)",
      [...driftEvents, summary({ update: 1 }, "canceled"), { cancelEvent: {} }],
      "the engine's summary says the preview canceled",
    ],
    [
      "a summary after the end of the stream (cancelEvent)",
      [...driftEvents, { cancelEvent: {} }, summary({ update: 1 })],
      "the engine sent no summary of the preview (it stopped before the end, or its events were lost)",
    ],
  ])("has no change summary after %s, and says why", (_what, bodies, why) => {
    const { preview, unfinished } = digestPreviewEvents(numbered(bodies));
    expect(preview.changeSummary).toBeUndefined();
    expect(unfinished).toBe(why);
  });

  it("names events that did not arrive (the numbers the engine gave them), even when the summary did", () => {
    const events = numbered([...driftEvents, summary({ update: 1 })]).filter((e) => e.sequence !== 4);
    expect(digestPreviewEvents(events).problems).toEqual([
      "1 of the engine's 7 events did not arrive (numbers 4): the event stream broke off",
    ]);
  });

  it("names an internal engine error (an errorEvent, which the SDK's types do not list)", () => {
    const events = numbered([...driftEvents, { errorEvent: { error: "snapshot integrity failure" } } as Body, summary({ update: 1 })]);
    expect(digestPreviewEvents(events).problems).toEqual(["the engine reported an internal error: snapshot integrity failure"]);
  });
});

describe("npm run drift's answer from the events of its refresh preview", () => {
  it("reports drift, exit 2, in the words of the --json path (the same analysis)", () => {
    const events = numbered([...driftEvents, summary({ same: 3, update: 1 }), { cancelEvent: {} }]);
    const outcome = driftOutcome("lab", "text", ok, events, nowhere);
    expect(outcome).toEqual({ code: 2, stdout: DRIFT_TEXT, stderr: "" });
    expect(outcome.stdout).toBe(formatReport(analysePreview(digestPreviewEvents(events).preview), "lab"));
  });

  it("says no drift, exit 0, only after a whole, successful preview with nothing to do", () => {
    const events = numbered([
      prelude,
      stackSame,
      step("refresh", untouched, untouched),
      step("same", untouched, untouched),
      summary({ same: 2 }),
    ]);
    expect(driftOutcome("lab", "text", ok, events, nowhere)).toEqual({
      code: 0,
      stdout: "lab: every host is as declared (no drift)\n",
      stderr: "",
    });
  });

  it.each<[string, Body[], string]>([
    [
      "the summary never came (the stream broke off; pulumi still exited 0)",
      [prelude, stackSame, step("refresh", untouched, untouched)],
      "the engine sent no summary of the preview (it stopped before the end, or its events were lost)",
    ],
    [
      "an internal engine error",
      [prelude, { errorEvent: { error: "snapshot integrity failure" } } as Body, summary({ same: 1 })],
      "the engine reported an internal error: snapshot integrity failure",
    ],
    ["a summary that says failed", [prelude, stackSame, summary({ same: 1 }, "failed")], "the engine's summary says the preview failed"],
  ])("is no report, exit 1, when %s, even with no change seen", (_what, bodies, why) => {
    expect(driftOutcome("lab", "text", ok, numbered(bodies), nowhere)).toEqual({
      code: 1,
      stdout: "",
      stderr: `lab: the refresh preview failed; no drift report (nothing was changed)\n  ${why}\n`,
    });
  });

  it("is no report, exit 1, when a diagnostic of severity error came with a successful summary", () => {
    const bodies: Body[] = [
      prelude,
      stackSame,
      step("refresh", untouched, untouched),
      {
        diagnosticEvent: {
          urn: untouched.urn,
          prefix: "error: ",
          message: "host1: probe printed no JSON\n",
          color: "never",
          severity: "error",
        },
      },
      summary({ same: 2 }),
    ];
    expect(driftOutcome("lab", "text", ok, numbered(bodies), nowhere)).toEqual({
      code: 1,
      stdout: "",
      stderr: "lab: could not check host1; no drift report (nothing was changed)\n  host1: host1: probe printed no JSON\n",
    });
  });

  it("names a host that is down, once, as before (pulumi exit 255; its failed summary adds nothing)", () => {
    const down = facetState("host3", "firewall", {}, {});
    const message = "host3 (mpi@10.0.0.13:2400): no SSH answer within 10s (is the host up, and the address and port right?)";
    const bodies: Body[] = [
      prelude,
      step("refresh", down, down),
      { diagnosticEvent: { message: `RemoteError: ${message}\n`, color: "never", severity: "info#err" } },
      { diagnosticEvent: { urn: down.urn, prefix: "error: ", message: `Preview failed: ${message}\n`, color: "never", severity: "error" } },
      { diagnosticEvent: { urn: STACK_URN, prefix: "error: ", message: "preview failed\n", color: "never", severity: "error" } },
      summary({}, "failed"),
    ];
    const outcome = driftOutcome("lab", "text", { code: 255, stdout: "", stderr: "" }, numbered(bodies), nowhere);
    expect(outcome).toEqual({ code: 1, stdout: "", stderr: formatFailures("lab", [{ host: "host3", message }]) });
  });

  it("names the backend when the stack is not there", () => {
    const missing = { code: 255, stdout: "", stderr: "error: no stack named 'lab' found\n" };
    const where = () => ({ url: "file:///srv/state", source: "PULUMI_BACKEND_URL" });
    expect(driftOutcome("lab", "text", missing, [], where).stderr).toBe(
      "drift: no stack 'lab' in file:///srv/state (the backend from PULUMI_BACKEND_URL). " +
        "`pulumi stack ls` lists the stacks there; if the stack is elsewhere, `pulumi login <url>` or set PULUMI_BACKEND_URL\n",
    );
  });

  it("gives pulumi's own words when it failed with no event to explain it (a locked stack)", () => {
    const locked = { code: 255, stdout: "", stderr: "error: the stack is currently locked by 1 lock(s)\n" };
    expect(driftOutcome("lab", "json", locked, [], nowhere)).toEqual({
      code: 1,
      stdout: "",
      stderr: "drift: pulumi preview --refresh failed (exit 255):\nerror: the stack is currently locked by 1 lock(s)\n",
    });
  });
});
