/**
 * `npm run drift -- --stack NAME`: which host and which setting differ from the declared state.
 *
 * Runs the engine's refresh preview (`pulumi preview --refresh`) through the Automation API and reads its engine
 * events (cli/previewEvents.ts) into the digest `pulumi preview --json` prints: every facet's probe runs over SSH (the
 * facet provider's read), nothing changes. There, a facet that needs work has a step whose oldState.outputs.state is
 * what the probe found *now* and whose newState.inputs.state is what the config asks for; its earlier `refresh`
 * step still holds the state recorded by the last `pulumi up`, which tells drift (the host changed) from a config
 * change not yet applied. (The refresh steps' own newState is not the refreshed state in this engine's events: do
 * not use it.)
 */
import { describeDifferences, Difference, diffStates } from "../components/facets/compare";
import { UsageError } from "./args";
import { Backend, missingStackMessage, saysNoSuchStack } from "./backend";
import { defineCommand, runnerOf } from "./command";
import { digestPreviewEvents, PreviewEvent, PreviewJson, PreviewStep, ResourceState } from "./previewEvents";
import { backend, previewStack, projectDescription, PulumiRun } from "./pulumiRunner";
import { runsFromClone } from "./clone";
import { FACET_TYPE } from "../components/provider/resourceTypes";
import { commandLine, usageLines } from "./usage";

export { FACET_TYPE };
export type { PreviewDiagnostic, PreviewJson, PreviewStep } from "./previewEvents";

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/**
 * Why a facet differs:
 * - drift: the host changed since the last `pulumi up` (what was recorded is not what is there now);
 * - pending: the config changed and `pulumi up` has not applied it yet;
 * - new: declared, never applied (a new host or facet);
 * - removed: applied once, no longer declared (`pulumi up` runs its remove script);
 * - rerun: the host is as declared, but what applies it changed (its scripts: a new mpi-hosts
 *   version; its connection) and `pulumi up` will run apply again.
 */
export type Cause = "drift" | "pending" | "new" | "removed" | "rerun";

export interface FacetFinding {
  host: string;
  facet: string;
  cause: Cause;
  /** The declared state differs from the one the last `pulumi up` applied (with drift: both changed). */
  configChanged: boolean;
  differences: Difference[];
  /** Inputs other than the state that change (scripts, connection, ...), secret values included by name only. */
  inputs: string[];
}

export interface OtherChange {
  /** The resource's name (last part of its URN). */
  name: string;
  type: string;
  op: string;
  /** Inputs whose value changes (for the verification job: its script, its trigger). */
  inputs: string[];
}

export interface DriftReport {
  facets: FacetFinding[];
  /** Changes to resources that are not facets (the verification job, the cluster key). */
  others: OtherChange[];
}

const UNCHANGED_OPS = new Set(["same", "refresh", "read"]);

function nameOf(urn: string): string {
  return urn.split("::").pop() ?? urn;
}

function stateOf(s: ResourceState | undefined, side: "inputs" | "outputs"): JsonObject | undefined {
  const state = s?.[side]?.state;
  return state && typeof state === "object" && !Array.isArray(state) ? (state as JsonObject) : undefined;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** Reads the preview's steps into findings per host and facet; pure. */
export function analysePreview(preview: PreviewJson): DriftReport {
  const steps = preview.steps ?? [];
  // What the last `pulumi up` declared and found, per facet: the stack as it was before this refresh.
  const recorded = new Map<string, { declared?: JsonObject; found?: JsonObject }>();
  for (const step of steps) {
    if (step.op === "refresh" && step.oldState?.type === FACET_TYPE) {
      recorded.set(step.urn, { declared: stateOf(step.oldState, "inputs"), found: stateOf(step.oldState, "outputs") });
    }
  }
  const facets: FacetFinding[] = [];
  const others: OtherChange[] = [];
  for (const step of steps) {
    if (UNCHANGED_OPS.has(step.op)) continue;
    const type = step.newState?.type ?? step.oldState?.type ?? "";
    if (type !== FACET_TYPE) {
      if (type !== "pulumi:pulumi:Stack") others.push({ name: nameOf(step.urn), type, op: step.op, inputs: changedInputs(step) });
      continue;
    }
    const props = step.newState?.inputs ?? step.oldState?.inputs ?? {};
    const host = String(props.host ?? nameOf(step.urn));
    const facet = String(props.facet ?? "");
    const actual = stateOf(step.oldState, "outputs");
    const desired = stateOf(step.newState, "inputs");
    if (step.op === "create" || !actual) {
      facets.push({ host, facet, cause: "new", configChanged: true, differences: diffStates(desired ?? {}, {}), inputs: [] });
    } else if (step.op === "delete" || !desired) {
      facets.push({ host, facet, cause: "removed", configChanged: true, differences: [], inputs: [] });
    } else {
      const before = recorded.get(step.urn);
      // Compare only what the facet declares: probes also report facts (versions, backends).
      const keys = Object.keys(desired);
      const pick = (s: JsonObject | undefined) => Object.fromEntries(keys.map((k) => [k, s?.[k] ?? null]));
      const changedOnHost = before?.found !== undefined && !sameJson(pick(before.found), pick(actual));
      const configChanged = before?.declared === undefined || !sameJson(before.declared, desired);
      const differences = diffStates(desired, actual);
      const cause: Cause = changedOnHost ? "drift" : differences.length ? "pending" : "rerun";
      facets.push({ host, facet, cause, configChanged, differences, inputs: changedInputs(step).filter((k) => k !== "state") });
    }
  }
  const byHost = (a: FacetFinding, b: FacetFinding) =>
    a.host.localeCompare(b.host, "en", { numeric: true }) || a.facet.localeCompare(b.facet);
  return { facets: facets.sort(byHost), others };
}

function changedInputs(step: PreviewStep): string[] {
  const before = step.oldState?.inputs ?? {};
  const after = step.newState?.inputs ?? {};
  return [...new Set([...Object.keys(before), ...Object.keys(after)])]
    .filter((k) => k !== "__provider" && !sameJson(before[k], after[k]))
    .sort();
}

export function inSync(report: DriftReport): boolean {
  return report.facets.length === 0 && report.others.length === 0;
}

const CAUSE_TEXT: Record<Cause, string> = {
  drift: "changed on the host since the last `pulumi up`",
  pending: "the config changed; not applied yet",
  new: "declared, not applied yet",
  removed: "no longer declared; still on the host",
  rerun: "as declared, but pulumi up will apply it again:",
};

/** The report for people: per host, per facet, a short line diff (- on the host, + declared). */
export function formatReport(report: DriftReport, stack: string): string {
  if (inSync(report)) return `${stack}: every host is as declared (no drift)\n`;
  const lines: string[] = [];
  const hosts = [...new Set(report.facets.map((f) => f.host))];
  const differing = report.facets.filter((f) => f.cause !== "rerun");
  const drifted = report.facets.filter((f) => f.cause === "drift");
  if (differing.length) {
    lines.push(
      `${stack}: ${differing.length} facet(s) on ${new Set(differing.map((f) => f.host)).size} host(s) differ from the declared state` +
        (drifted.length ? ` (${drifted.length} changed on the host)` : ""),
      "  (- what the host has, + what the config declares)",
    );
  } else {
    lines.push(`${stack}: every host is as declared (no drift), but \`pulumi up\` has work to do`);
  }
  for (const host of hosts) {
    lines.push("", `${host}:`);
    for (const f of report.facets.filter((x) => x.host === host)) {
      const also = f.cause === "drift" && f.configChanged ? ", and the config changed too" : "";
      const why =
        f.cause === "rerun"
          ? ` ${f.inputs.map((i) => (i === "scriptsDigest" ? "mpi-hosts' scripts" : `its ${i}`)).join(", ") || "its inputs"} changed since the last \`pulumi up\` (a new mpi-hosts version?)`
          : "";
      lines.push(`  ${f.facet}: ${CAUSE_TEXT[f.cause]}${also}${why}`);
      const text = f.cause === "new" ? describeNew(f.differences) : describeDifferences(f.differences);
      for (const l of text.split("\n").filter(Boolean)) lines.push(`    ${l}`);
    }
  }
  if (report.others.length) {
    lines.push("", "other changes:");
    for (const o of report.others)
      lines.push(`  ${o.name} (${o.type}): ${o.op}${o.inputs.length ? ` (${o.inputs.join(", ")} changed)` : ""}`);
  }
  lines.push("", `repair: pulumi up --refresh --stack ${stack}   (${commandLine("render", `--stack ${stack}`)} shows the declared files)`);
  return `${lines.join("\n")}\n`;
}

/** Markdown table cells: a pipe or a line break would end the cell. */
function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** A fence longer than any backtick run in the text, so no line of a host's file can close it. */
function fenced(lang: string, text: string): string {
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longest + 1);
  return `${fence}${lang}\n${text}\n${fence}`;
}

/**
 * The report as Markdown, for an issue or a pull-request comment: a table of what differs per host and facet, then
 * each facet's line diff in a `diff` block (GitHub colours - as what the host has, + as what the config declares).
 */
export function formatMarkdown(report: DriftReport, stack: string): string {
  const title = `### mpi-hosts drift: \`${stack}\``;
  if (inSync(report)) return `${title}\n\nEvery host is as declared (no drift).\n`;
  const differing = report.facets.filter((f) => f.cause !== "rerun");
  const lines = [
    title,
    "",
    differing.length
      ? `${differing.length} facet(s) on ${new Set(differing.map((f) => f.host)).size} host(s) differ from the declared state.`
      : "Every host is as declared (no drift), but `pulumi up` has work to do.",
  ];
  if (report.facets.length) {
    lines.push("", "| host | facet | why |", "| --- | --- | --- |");
    for (const f of report.facets) {
      const also = f.cause === "drift" && f.configChanged ? ", and the config changed too" : "";
      const why = f.cause === "rerun" ? ` its ${f.inputs.join(", ") || "inputs"} changed` : "";
      lines.push(`| ${cell(f.host)} | ${cell(f.facet)} | ${cell(`${CAUSE_TEXT[f.cause].replace(/:$/, "")}${also}${why}`)} |`);
    }
  }
  for (const f of report.facets) {
    const text = f.cause === "new" ? describeNew(f.differences) : describeDifferences(f.differences);
    if (!text) continue;
    const diff = text
      .split("\n")
      .filter(Boolean)
      .map((l) => l.replace(/^\s+([-+]) /, "$1 ").replace(/^(?![-+] )/, "  "))
      .join("\n");
    lines.push("", `**${f.host}** \`${f.facet}\` (- on the host, + declared)`, "", fenced("diff", diff));
  }
  if (report.others.length) {
    lines.push("", "Other changes:", "");
    for (const o of report.others)
      lines.push(`- \`${o.name}\` (${o.type}): ${o.op}${o.inputs.length ? ` (${o.inputs.join(", ")} changed)` : ""}`);
  }
  lines.push("", `Repair: \`pulumi up --refresh --stack ${stack}\``);
  return `${lines.join("\n")}\n`;
}

/** A facet never applied: name the keys rather than print every declared line. */
function describeNew(differences: Difference[]): string {
  return differences.length ? `missing: ${differences.map((d) => d.key).join(", ")}` : "";
}

export interface CheckFailure {
  /** The host the failure is about, when a facet failed. */
  host?: string;
  message: string;
}

/** Why the preview failed, per host when the errors belong to facets (a host down, sudo missing). */
export function previewFailures(preview: PreviewJson): CheckFailure[] {
  const hostOf = new Map<string, string>();
  for (const step of preview.steps ?? []) {
    const props = step.oldState?.inputs ?? step.newState?.inputs;
    if ((step.oldState?.type ?? step.newState?.type) === FACET_TYPE && props?.host) hostOf.set(step.urn, String(props.host));
  }
  const failures: CheckFailure[] = [];
  const seen = new Set<string>();
  for (const d of preview.diagnostics ?? []) {
    if (d.severity !== "error") continue;
    const message = d.message
      .trim()
      .replace(/^error: /, "")
      .replace(/^Preview failed: /, "");
    if (!d.urn || /^preview failed$/.test(message)) continue;
    const host = hostOf.get(d.urn);
    const key = `${host ?? ""}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    failures.push({ host, message });
  }
  if (failures.length === 0) {
    for (const d of preview.diagnostics ?? []) {
      if (d.severity === "error" && !/^error: preview failed$/.test(d.message.trim()))
        failures.push({ message: d.message.trim().replace(/^error: /, "") });
    }
  }
  return failures;
}

export function formatFailures(stack: string, failures: CheckFailure[]): string {
  const hosts = [...new Set(failures.flatMap((f) => (f.host ? [f.host] : [])))];
  const head = hosts.length ? `${stack}: could not check ${hosts.join(", ")}` : `${stack}: the refresh preview failed`;
  const lines = failures.map((f) => `  ${f.host ? `${f.host}: ` : ""}${f.message.split("\n").join("\n    ")}`);
  return `${head}; no drift report (nothing was changed)\n${lines.join("\n")}\n`;
}

const FORMATS = ["text", "json", "markdown"] as const;
export type Format = (typeof FORMATS)[number];

/** The help's last fallback: the .pulumi-state of the project (a clone's: where its demo puts the stack). */
function localState(): string {
  return runsFromClone() ? "this checkout's .pulumi-state (where npm run demo puts its stack)" : `.pulumi-state in ${projectDescription()}`;
}

const HELP = `${usageLines("drift", "--stack NAME [--format text|json|markdown]")}

Checks every host of the stack against its declared state without changing anything: the
engine's refresh preview (\`pulumi preview --refresh\`) runs each facet's probe over SSH,
then this prints, per host and facet, what differs as a short line diff
(- what the host has, + what the config declares), and why:
  changed on the host since the last \`pulumi up\`   (drift: an edit by hand, a reboot, a package update)
  the config changed; not applied yet            (pending: run pulumi up)
  declared, not applied yet / no longer declared (new or removed hosts and facets)

Exit status: 0 every host is as declared; 2 differences found; 1 the check failed (a host
unreachable, named in the message; no such stack; wrong passphrase).
Repair: pulumi up --refresh --stack NAME (applies the declared state where it differs).

  --stack NAME   the stack (config in Pulumi.NAME.yaml)
  --format F     text (default), json (the findings as data) or markdown (a table and diff
                 blocks to paste into an issue or a pull request); same exit status
  --json         the same as --format json

The stack is looked up where pulumi would look: PULUMI_BACKEND_URL, else MPI_HOSTS_STATE (a
directory), else backend.url in Pulumi.yaml, else the backend of your last \`pulumi login\`, else
${localState()}.
Environment: PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE (lab stacks default to 'lab').
`;

export const command = defineCommand({
  name: "drift",
  help: HELP,
  values: ["stack", "format"],
  flags: ["json"],
  exitCodes: {
    0: "every host is as declared",
    1: "the check failed (a host unreachable, no such stack, wrong passphrase), or a usage error",
    2: "differences found",
  },
  async run({ options }) {
    if (typeof options.stack !== "string" || !options.stack) throw new UsageError("--stack NAME is required");
    const asked = options.json === true ? "json" : (options.format ?? "text");
    if (!FORMATS.includes(asked as Format)) throw new UsageError(`--format ${asked}: not one of ${FORMATS.join(", ")}`);
    return checkDrift(options.stack, asked as Format);
  },
});

export const run = runnerOf(command);

/** Runs the refresh preview and prints the report; the exit status of `npm run drift`. */
async function checkDrift(stack: string, format: Format): Promise<number> {
  const events: PreviewEvent[] = [];
  const result = await previewStack(stack, { refresh: true, onEvent: (e) => events.push(e) });
  const outcome = driftOutcome(stack, format, result, events, backend);
  process.stdout.write(outcome.stdout);
  process.stderr.write(outcome.stderr);
  return outcome.code;
}

export interface DriftOutcome {
  /** The exit status: 0 in sync, 2 differences, 1 no report. */
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * What `npm run drift` says about a refresh preview, from pulumi's exit code and output and the preview's engine
 * events; pure but for `where`, asked only when the stack is missing. An error diagnostic, a lost event, an engine
 * error, a summary missing or failed: no report, whatever the exit code said.
 */
export function driftOutcome(stack: string, format: Format, result: PulumiRun, events: PreviewEvent[], where: () => Backend): DriftOutcome {
  const { preview, problems, unfinished } = digestPreviewEvents(events);
  const failures = previewFailures(preview);
  if (result.code !== 0 || !preview.changeSummary || problems.length || failures.length) {
    // When pulumi failed, its failed summary says nothing more than the exit code.
    const unsure = [...problems, ...(result.code === 0 && unfinished ? [unfinished] : [])].map((message) => ({ message }));
    const stderr = saysNoSuchStack(result.stderr + result.stdout)
      ? `drift: ${missingStackMessage(stack, where())}\n`
      : failures.length || unsure.length
        ? formatFailures(stack, [...failures, ...unsure])
        : `drift: pulumi preview --refresh failed (exit ${result.code}):\n${(result.stderr.trim() || result.stdout.trim()).slice(-4000)}\n`;
    return { code: 1, stdout: "", stderr };
  }
  const report = analysePreview(preview);
  const formatted = {
    text: () => formatReport(report, stack),
    json: () => `${JSON.stringify({ stack, inSync: inSync(report), ...report }, null, 2)}\n`,
    markdown: () => formatMarkdown(report, stack),
  };
  return { code: inSync(report) ? 0 : 2, stdout: formatted[format](), stderr: "" };
}
