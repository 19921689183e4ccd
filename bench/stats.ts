/** Small statistics for benchmark samples: median and spread (min–max), no averages of noisy runs. */

export interface Spread {
  n: number;
  median: number;
  min: number;
  max: number;
}

export function spread(samples: number[]): Spread | undefined {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { n: sorted.length, median, min: sorted[0], max: sorted[sorted.length - 1] };
}

/** "12.3 s (11.9–13.0)"; one sample has no spread. */
export function formatSeconds(s: Spread | undefined): string {
  if (!s) return "-";
  const f = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  return s.n > 1 ? `${f(s.median)} s (${f(s.min)}–${f(s.max)})` : `${f(s.median)} s`;
}

/** Counts per host: "1" when every host saw the same, else "1–3 (median 2)". */
export function formatCount(s: Spread | undefined): string {
  if (!s) return "-";
  const f = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(1));
  return s.min === s.max ? f(s.min) : `${f(s.min)}–${f(s.max)} (median ${f(s.median)})`;
}
