/**
 * `npm run drift` reads the refresh preview from the engine's events (the Automation API, cli/previewEvents.ts) where
 * it read `pulumi preview --refresh --json` before: on 3 trixie lab hosts and the real engine, both are taken of the
 * same stack, with drift by hand and with a host down, and must give the same steps, diagnostics and findings; and
 * the drift run leaves the project's current stack (`pulumi stack select`) alone.
 */
import { analysePreview, FACET_TYPE, previewFailures, PreviewJson, PreviewStep } from "../../cli/drift";
import { digestPreviewEvents, PreviewEvent } from "../../cli/previewEvents";
import { previewStack, runPulumi } from "../../cli/pulumiRunner";
import { stopHost } from "../../lab/lab";
import { drift, EngineLab, expectExit, pulumi, root, startEngineLab, stopEngineLab, Timings } from "./support";

const NAME = "xmev";
const OTHER = "xmev-other";
const timings = new Timings("previewEvents.test.ts (3 trixie hosts) wall times");

let e: EngineLab;

beforeAll(async () => {
  e = await timings.time("lab up + stack init", () => startEngineLab(NAME, 3, "trixie"));
  expectExit(await timings.time("pulumi up", () => pulumi(e, ["up", "--yes", "--skip-preview"])), 0);
});

afterAll(async () => {
  process.stdout.write(timings.report());
  if (e) await runPulumi(["stack", "rm", "--yes", "--force", OTHER], { stack: e.stack, env: e.env });
  await stopEngineLab(e, NAME);
});

/** Secrets are `[secret]` in the --json digest and a blinded ciphertext object in events: one form for comparing. */
function unsecret(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(unsecret);
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (o["4dabf18193072939515e22adb298388d"] === "1b47061264138c4ac30d75fd1eb44270") return "[secret]";
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unsecret(x)]));
  }
  return v;
}

/** An empty map is left out of the --json digest and sent as {} in events. */
const orNone = (m: Record<string, unknown> | undefined) => (m && Object.keys(m).length ? m : undefined);

/**
 * What drift reads of a digest: each step's op, URN and states, each diagnostic, the summary. Sorted: the engine
 * runs steps in parallel, so two previews of the same stack list them in different orders.
 */
function readable(p: PreviewJson, withMessages = true) {
  const key = (o: { urn?: string; op?: string; message?: string }) => `${o.urn ?? ""}\u0000${o.op ?? ""}\u0000${o.message ?? ""}`;
  const state = (s: PreviewStep["oldState"]) => s && { type: s.type, inputs: orNone(s.inputs), outputs: orNone(s.outputs) };
  return unsecret({
    steps: (p.steps ?? [])
      .map((s) => ({ op: s.op, urn: s.urn, old: state(s.oldState), new: state(s.newState) }))
      .sort((a, b) => key(a).localeCompare(key(b))),
    diagnostics: (p.diagnostics ?? [])
      .map((d) => ({ urn: d.urn || undefined, message: withMessages ? d.message : undefined, severity: d.severity }))
      .sort((a, b) => key(a).localeCompare(key(b))),
    changeSummary: p.changeSummary,
  });
}

/** The same refresh preview taken twice: pulumi's own --json digest, and the events through the Automation API. */
async function bothWays(): Promise<{ json: PreviewJson; events: ReturnType<typeof digestPreviewEvents> }> {
  const out = await timings.time("pulumi preview --refresh --json", () => pulumi(e, ["preview", "--refresh", "--json"]));
  const json = JSON.parse(out.stdout.slice(out.stdout.indexOf("{"))) as PreviewJson;
  const events: PreviewEvent[] = [];
  await timings.time("previewStack (Automation API)", () =>
    previewStack(e.stack, { refresh: true, onEvent: (x) => events.push(x), env: e.env }),
  );
  return { json, events: digestPreviewEvents(events) };
}

describe("the refresh preview read from engine events equals pulumi's own --json digest", () => {
  it("with an edit by hand on host2: same steps, diagnostics, summary and findings, and the stream is whole", async () => {
    await root(e.lab, "host2", "sed -i 's/^btl_tcp_port_range_v4 = 100$/btl_tcp_port_range_v4 = 64/' /home/mpi/.openmpi/mca-params.conf");
    const { json, events } = await bothWays();
    expect(events.problems).toEqual([]);
    expect(events.unfinished).toBeUndefined();
    expect(readable(events.preview)).toEqual(readable(json));
    const report = analysePreview(events.preview);
    expect(report).toEqual(analysePreview(json));
    expect(report.facets.map((f) => [f.host, f.facet, f.cause])).toEqual([["host2", "mcaParams", "drift"]]);
    expect((events.preview.steps ?? []).filter((s) => s.op === "refresh" && s.oldState?.type === FACET_TYPE).length).toBeGreaterThan(3);
  });

  it("npm run drift leaves the project's current stack as it was (no pulumi stack select)", async () => {
    expectExit(await runPulumi(["stack", "init", OTHER], { stack: e.stack, env: e.env }), 0);
    const found = await timings.time("npm run drift (drift found)", () => drift(e));
    expectExit(found, 2);
    expect(found.stdout).toContain("host2:\n  mcaParams: changed on the host since the last `pulumi up`");
    const current = await runPulumi(["stack", "--show-name"], { stack: e.stack, env: e.env });
    expect(current.stdout.trim()).toBe(OTHER);
  });

  it("with host3 down: the same steps and diagnostics, and the same host named", async () => {
    await stopHost(e.lab, "host3");
    const { json, events } = await bothWays();
    // The words of a connect failure depend on timing (no answer within 10 s, or EHOSTUNREACH once ARP gives up).
    expect(readable(events.preview, false)).toEqual(readable(json, false));
    expect(events.unfinished).toBe("the engine's summary says the preview failed");
    const hosts = (p: PreviewJson) => [...new Set(previewFailures(p).map((f) => f.host))];
    expect(hosts(events.preview)).toEqual(["host3"]);
    expect(hosts(json)).toEqual(["host3"]);
    const down = await timings.time("npm run drift (host3 down)", () => drift(e));
    expectExit(down, 1);
    expect(down.stderr).toMatch(
      /^xmev: could not check host3; no drift report \(nothing was changed\)\n {2}host3: host3 \(mpi@[0-9.]+:2400\): /,
    );
    expect(down.stdout).toBe("");
  });
});
