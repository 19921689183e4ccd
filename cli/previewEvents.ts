/**
 * A preview's engine events (the Automation API's `onEvent`) read into what `pulumi preview --json` prints, so that
 * `npm run drift` reads the same steps and diagnostics it read from that JSON before (cli/drift.ts), and into the
 * reasons the events cannot be trusted: an engine error, a summary that says failed or canceled or never came,
 * events lost on the way. A preview whose events are incomplete must never read as "no drift".
 *
 * The digest follows the engine's own (pulumi v3.248.0, pkg/backend/display/json.go ShowPreviewDigest): diagnostics
 * that are neither ephemeral nor debug, as prefix + message; stdout events as info diagnostics; one step per
 * ResourcePreEvent, leaving out `same` steps (but the stack's) and replacement steps that are not logical
 * (display.go shouldShow without --show-sames and --show-replacement-steps); the summary's resource changes. The JSON
 * digest also swaps a refresh step for its ResOutputsEvent when that event's op is update or delete; in v3.248 a
 * refresh step's op is always `refresh` (deploy/step.go RefreshStep.Op), so that never happens and is left out.
 * Secrets differ in form only: `[secret]` in the JSON, a blinded ciphertext object in events; neither is compared.
 */
import type { DiagnosticEvent, EngineEvent, StepEventMetadata, StepEventStateMetadata, SummaryEvent } from "@pulumi/pulumi/automation";

export interface ResourceState {
  urn: string;
  type: string;
  inputs?: Record<string, any>;
  outputs?: Record<string, any>;
}

export interface PreviewStep {
  op: string;
  urn: string;
  oldState?: ResourceState;
  newState?: ResourceState;
}

export interface PreviewDiagnostic {
  urn?: string;
  message: string;
  severity: string;
}

/** What `pulumi preview --json` prints (the parts drift uses), as digestPreviewEvents reads it from the engine's events. */
export interface PreviewJson {
  steps?: PreviewStep[];
  diagnostics?: PreviewDiagnostic[];
  changeSummary?: Record<string, number>;
}

/**
 * An engine event as v3.248.0 sends it: the SDK's type lacks the summary's `result` and the `errorEvent` (an internal
 * engine error) that sdk/go/common/apitype/events.go defines.
 */
export type PreviewEvent = EngineEvent & {
  summaryEvent?: SummaryEvent & { result?: "succeeded" | "failed" | "canceled" | string };
  errorEvent?: { error: string };
};

export interface PreviewDigest {
  /** The digest; its changeSummary only when the engine's summary came and says the preview succeeded. */
  preview: PreviewJson;
  /** Events that show the stream is not whole or the engine broke (events lost, an internal engine error), one line each. */
  problems: string[];
  /** Why the preview did not finish well, when it did not: a summary that says failed or canceled, or none at all. */
  unfinished?: string;
}

const REPLACEMENT_OPS = new Set([
  "replace",
  "create-replacement",
  "delete-replaced",
  "read-replacement",
  "discard-replaced",
  "remove-pending-replace",
  "import-replacement",
]);

const ROOT_STACK_TYPE = "pulumi:pulumi:Stack";

/**
 * Steps the engine marks internal (pkg/engine/update.go isInternalStep: a default provider's, remove-pending-replace)
 * reach the event stream but not the display nor the JSON digest (display.go ShowEvents filters them after the event
 * logger). The events carry no such flag; the rule is the engine's (sdk/go/common/providers IsDefaultProvider).
 */
function isInternal(m: StepEventMetadata): boolean {
  const name = m.urn.split("::").pop() ?? "";
  return m.op === "remove-pending-replace" || (m.type.startsWith("pulumi:providers:") && name.startsWith("default"));
}

/** Whether `pulumi preview --json` lists the step (display.go shouldShow, with the preview's default options). */
function shownInJson(m: StepEventMetadata): boolean {
  if (isInternal(m)) return false;
  if (m.type === ROOT_STACK_TYPE) return true;
  if (m.op === "same") return Boolean(m.old?.protect) !== Boolean(m.new?.protect);
  return !(REPLACEMENT_OPS.has(m.op) && !m.logical);
}

function stateOf(s: StepEventStateMetadata | undefined): PreviewStep["oldState"] {
  return s ? { urn: s.urn, type: s.type, inputs: s.inputs, outputs: s.outputs } : undefined;
}

function diagnosticOf(d: DiagnosticEvent): PreviewDiagnostic | undefined {
  if (d.ephemeral || (d.severity as string) === "debug") return undefined;
  return { ...(d.urn ? { urn: d.urn } : {}), message: `${d.prefix ?? ""}${d.message}`, severity: d.severity };
}

/** Sequence numbers the engine stamped but that did not arrive (display.go stampEvents numbers every event from 0). */
function missingSequences(events: PreviewEvent[]): string | undefined {
  const seen = new Set(events.map((e) => e.sequence));
  const last = Math.max(-1, ...seen);
  const missing = [];
  for (let i = 0; i <= last; i++) if (!seen.has(i)) missing.push(i);
  if (!missing.length) return undefined;
  const shown = missing.length > 5 ? `${missing.slice(0, 5).join(", ")}, ...` : missing.join(", ");
  return `${missing.length} of the engine's ${last + 1} events did not arrive (numbers ${shown}): the event stream broke off`;
}

/** Reads a preview's events, in the order they came, into the `--json` digest and the reasons not to trust it; pure. */
export function digestPreviewEvents(events: PreviewEvent[]): PreviewDigest {
  const preview: PreviewJson = { steps: [], diagnostics: [] };
  const problems: string[] = [];
  let summary: PreviewEvent["summaryEvent"];
  for (const e of events) {
    // The end of the stream, whether the preview succeeded or was cancelled (the engine sends it last, deferred in
    // pkg/engine/update.go; a cancellation shows in the summary's result): the JSON digest stops there too.
    if (e.cancelEvent) break;
    if (e.errorEvent) problems.push(`the engine reported an internal error: ${e.errorEvent.error}`);
    if (e.diagnosticEvent) {
      const d = diagnosticOf(e.diagnosticEvent);
      if (d) preview.diagnostics!.push(d);
    }
    if (e.stdoutEvent) preview.diagnostics!.push({ message: e.stdoutEvent.message, severity: "info" });
    const m = e.resourcePreEvent?.metadata;
    if (m && shownInJson(m)) preview.steps!.push({ op: m.op, urn: m.urn, oldState: stateOf(m.old), newState: stateOf(m.new) });
    if (e.summaryEvent) summary = e.summaryEvent;
  }
  const lost = missingSequences(events);
  if (lost) problems.push(lost);
  let unfinished: string | undefined;
  if (!summary) unfinished = "the engine sent no summary of the preview (it stopped before the end, or its events were lost)";
  else if (summary.result !== undefined && summary.result !== "succeeded")
    unfinished = `the engine's summary says the preview ${summary.result}`;
  else preview.changeSummary = summary.resourceChanges as Record<string, number>;
  return { preview, problems, ...(unfinished ? { unfinished } : {}) };
}
