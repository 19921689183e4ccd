/**
 * The report as one self-contained HTML page (inline CSS, no scripts, nothing fetched): the host x host matrix
 * coloured by what works, the stages, versions per host, and each problem with what to change.
 */
import { pairOf, formatBandwidth, formatLatency, retryText } from "./summary";
import { PairResult, VerifyReport } from "./report";

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

type Tone = "ok" | "bad" | "unknown";

function toneOf(status: string): Tone {
  if (status === "ok") return "ok";
  if (status === "fail" || status === "blocked") return "bad";
  return "unknown";
}

function cell(report: VerifyReport, pair: PairResult | undefined): string {
  if (!pair) return `<td class="self">·</td>`;
  const checks = [
    { label: "ssh", status: pair.ssh, title: `ssh ${pair.from} -> ${pair.to}: ${pair.ssh}` },
    ...report.ranges.map((r) => {
      const t = pair.tcp[r.label];
      const port = t?.port ? `:${t.port}` : "";
      return {
        label: r.label,
        status: t?.status ?? "unchecked",
        title: `tcp ${pair.from} -> ${pair.to}${port} (${r.label} ${r.first}-${r.last}): ${t?.status ?? "unchecked"}${t?.detail ? ` (${t.detail})` : ""}`,
      };
    }),
  ];
  const tones = checks.map((c) => toneOf(c.status));
  const overall: Tone = tones.includes("bad") ? "bad" : tones.includes("unknown") ? "unknown" : "ok";
  const badges = checks
    .map((c) => `<span class="badge ${toneOf(c.status)}" title="${escapeHtml(c.title)}">${escapeHtml(c.label)}</span>`)
    .join("");
  const figures =
    pair.latencyUs !== undefined && pair.bandwidthMBs !== undefined
      ? `<div class="figures">${escapeHtml(formatLatency(pair.latencyUs))} · ${escapeHtml(formatBandwidth(pair.bandwidthMBs))}</div>`
      : "";
  return `<td class="${overall}">${badges}${figures}</td>`;
}

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 1.6em; }
.verdict { padding: .6em 1em; border-radius: 6px; font-weight: 600; }
.verdict.ok { background: #e3f6e8; } .verdict.bad { background: #fde4e1; }
table { border-collapse: collapse; } th, td { border: 1px solid #ccc; padding: .4em .6em; text-align: left; vertical-align: top; }
td.ok { background: #e3f6e8; } td.bad { background: #fde4e1; } td.unknown { background: #f1f1f1; } td.self { background: #fafafa; color: #aaa; text-align: center; }
.badge { display: inline-block; margin-right: .3em; padding: 0 .4em; border-radius: 4px; font-size: .85em; }
.badge.ok { background: #2e7d32; color: #fff; } .badge.bad { background: #c62828; color: #fff; } .badge.unknown { background: #9e9e9e; color: #fff; }
.figures { font-size: .85em; color: #444; margin-top: .2em; }
li { margin-bottom: .6em; } .hint { color: #444; }
pre.output { margin: .3em 0; padding: .3em .6em; background: #f6f6f6; font-size: .9em; white-space: pre-wrap; }
code { font-size: .95em; }
`;

export function renderHtml(report: VerifyReport): string {
  const names = report.hosts.map((h) => h.name);
  const e = escapeHtml;
  const matrix = [
    `<table class="matrix"><tr><th>from \\ to</th>${names.map((n) => `<th>${e(n)}</th>`).join("")}</tr>`,
    ...names.map(
      (a) =>
        `<tr><th>${e(a)}</th>${names.map((b) => (a === b ? cell(report, undefined) : cell(report, pairOf(report, a, b)))).join("")}</tr>`,
    ),
    "</table>",
  ].join("\n");
  const stages = report.stages
    .map(
      (s) =>
        `<tr><td>${e(s.name)}</td><td>${e(s.status)}</td><td>${s.seconds === null ? "" : `${s.seconds.toFixed(1)} s`}</td><td>${e(s.detail ?? "")}</td></tr>`,
    )
    .join("\n");
  const hosts = report.hosts
    .map(
      (h) =>
        `<tr><td>${e(h.name)}</td><td>${e(h.address)}</td><td>${h.slots}</td><td>${e(h.reached ? (h.hostname ?? "?") : "not reached")}</td>` +
        `<td>${e(h.openmpi ?? "-")}</td><td>${e(h.mpi4py ?? "-")}</td><td><code>${e(h.mpirunOnPath ?? "-")}</code></td></tr>`,
    )
    .join("\n");
  const problems = report.failures.length
    ? `<h2>Problems (${report.failures.length})</h2><ol>${report.failures
        .map(
          (f) =>
            `<li><strong>[${e(f.stage)}]</strong> ${e(f.message)}${
              f.output && f.output.length > 1 ? `<pre class="output">${f.output.slice(1).map(e).join("\n")}</pre>` : ""
            }${f.hint ? `<div class="hint">Likely cause and what to change: ${e(f.hint)}</div>` : ""}</li>`,
        )
        .join("\n")}</ol>`
    : "";
  const retries = report.retries?.length
    ? `<h2>Retried (${report.retries.length})</h2><ul>${report.retries.map((r) => `<li>${e(retryText(r))}</li>`).join("\n")}</ul>`
    : "";
  const legend = `Each cell, row to column: ${["ssh", ...report.ranges.map((r) => `tcp ${r.label} ${r.first}-${r.last}`)].map(e).join(", ")}; green works, red fails, grey not checked. Pingpong latency and bandwidth where measured. Hover a badge for details.`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mpi-hosts verify from ${e(report.from)}: ${report.ok ? "ok" : "FAILED"}</title>
<style>${STYLE}</style></head>
<body>
<h1>mpi-hosts verification from ${e(report.from)}</h1>
<p class="verdict ${report.ok ? "ok" : "bad"}">${e(report.summary)}</p>
<h2>Reachability</h2>
<p>${legend}</p>
${matrix}
${problems}
${retries}
<h2>Stages</h2>
<table><tr><th>stage</th><th>status</th><th>time</th><th>detail</th></tr>
${stages}
</table>
<h2>Hosts</h2>
<table><tr><th>host</th><th>address</th><th>slots</th><th>hostname</th><th>Open MPI</th><th>mpi4py</th><th>mpirun on the ssh PATH</th></tr>
${hosts}
</table>
</body></html>
`;
}
