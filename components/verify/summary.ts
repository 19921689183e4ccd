/**
 * The report for people: a host x host matrix (ssh and a TCP connect per port range; pingpong's latency and
 * bandwidth where it ran), the stages, versions per host, and each problem with its likely cause and what to
 * change. Plain text for the terminal; renderHtml (./html) draws the same matrix for a browser.
 */
import { PairResult, Retry, TcpStatus, VerifyReport } from "./report";

const MARK: Record<TcpStatus | "ok" | "fail", string> = { ok: "✓", blocked: "✗", fail: "✗", unchecked: "?" };

export function pairOf(report: VerifyReport, from: string, to: string): PairResult | undefined {
  return report.pairs.find((p) => p.from === from && p.to === to);
}

/** "4.2 ms", "38 us": latency as people read it. */
export function formatLatency(us: number): string {
  return us >= 1000 ? `${(us / 1000).toFixed(1)} ms` : `${Math.round(us)} us`;
}

export function formatBandwidth(mbs: number): string {
  return mbs >= 1000 ? `${(mbs / 1000).toFixed(2)} GB/s` : `${mbs >= 100 ? Math.round(mbs) : mbs.toFixed(1)} MB/s`;
}

/** One matrix cell: ssh, then each range's connect, then pingpong's figures when measured. */
export function cellText(report: VerifyReport, pair: PairResult | undefined): string {
  if (!pair) return "·";
  const marks = [MARK[pair.ssh], ...report.ranges.map((r) => MARK[pair.tcp[r.label]?.status ?? "unchecked"])].join("");
  const figures =
    pair.latencyUs !== undefined && pair.bandwidthMBs !== undefined
      ? ` ${formatLatency(pair.latencyUs)} ${formatBandwidth(pair.bandwidthMBs)}`
      : "";
  return `${marks}${figures}`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => [...(r[i] ?? "")].length)));
  return rows.map((r) =>
    r
      .map((cell, i) => cell + " ".repeat(widths[i] - [...cell].length))
      .join("  ")
      .trimEnd(),
  );
}

/** "pingpong host1 <-> host3 retried once (WHY): passed the second time". */
export function retryText(r: Retry): string {
  const what = r.to === null ? `${r.stage} from ${r.from}` : `${r.stage} ${r.from} <-> ${r.to}`;
  const outcome =
    { pass: "passed the second time", fail: "failed again", timeout: "ran out of time the second time" }[r.result] ?? r.result;
  return `${what} retried once (${r.reason}): ${outcome}`;
}

export function renderMatrix(report: VerifyReport): string[] {
  const names = report.hosts.map((h) => h.name);
  const legend = [
    `each cell, row to column: ssh, ${report.ranges.map((r) => `tcp ${r.label} ${r.first}-${r.last}`).join(", ")}`,
    "(✓ works, ✗ fails, ? not checked), then pingpong latency and bandwidth where measured",
  ];
  const rows = [
    ["from \\ to", ...names],
    ...names.map((a) => [a, ...names.map((b) => (a === b ? "·" : cellText(report, pairOf(report, a, b))))]),
  ];
  return [...legend, ...table(rows)];
}

export function renderSummary(report: VerifyReport): string {
  const lines: string[] = [report.summary, ""];
  const stages = report.stages.map((s) => {
    const status = { pass: "ok", fail: "FAILED", skip: "skipped", notrun: "not run" }[s.status] ?? s.status;
    return `${s.name} ${status}${s.seconds !== null && s.status !== "notrun" ? ` (${s.seconds.toFixed(1)} s)` : ""}`;
  });
  lines.push(`stages: ${stages.join(", ")}`);
  for (const s of report.stages.filter((x) => x.status === "skip" && x.detail)) lines.push(`  ${s.name}: ${s.detail}`);
  for (const r of report.retries ?? []) lines.push(`  ${retryText(r)}`);
  lines.push("", ...renderMatrix(report), "");
  lines.push(
    ...table([
      ["host", "address", "slots", "hostname", "Open MPI", "mpi4py", "mpirun on the ssh PATH"],
      ...report.hosts.map((h) => [
        h.name,
        h.address,
        String(h.slots),
        h.reached ? (h.hostname ?? "?") : "(not reached)",
        h.openmpi ?? "-",
        h.mpi4py ?? "-",
        h.mpirunOnPath ?? "-",
      ]),
    ]),
  );
  if (report.failures.length) {
    lines.push("", `problems (${report.failures.length}), in the order the stages ran:`);
    report.failures.forEach((f, i) => {
      lines.push(`${String(i + 1).padStart(3)}. [${f.stage}] ${f.message}`);
      // The first line of mpirun's output is in the message already.
      for (const line of (f.output ?? []).slice(1)) lines.push(`     | ${line}`);
      if (f.hint) lines.push(`     likely cause and what to change: ${f.hint}`);
    });
  }
  return `${lines.join("\n")}\n`;
}
