/**
 * Probe output -> state, and desired vs actual. Pure functions, used by the facet provider and
 * by `npm run drift`.
 */
import { diffArrays } from "diff";
import { describeBoot } from "./firewallPersistence";

/** A JSON value as the probe prints it, before decoding. */
type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** Parses the probe's JSON; fields named `x_b64` become `x` holding the decoded text (null stays null). */
export function decodeProbe(stdout: string): Record<string, Json> {
  const line = stdout
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .pop();
  if (!line) throw new Error(`the probe printed no JSON state (got: ${JSON.stringify(stdout.slice(0, 200))})`);
  const raw = JSON.parse(line) as Record<string, Json>;
  const state: Record<string, Json> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key === "probe") continue;
    if (key.endsWith("_b64")) {
      state[key.slice(0, -4)] = typeof value === "string" ? Buffer.from(value, "base64").toString("utf8") : null;
    } else state[key] = value;
  }
  return state;
}

export interface Difference {
  /** The state key that differs, e.g. `block`. */
  key: string;
  expected: Json | undefined;
  actual: Json | undefined;
}

/** Keys of `desired` whose value differs in `actual`; extra keys in `actual` are information only. */
export function diffStates(desired: Record<string, Json>, actual: Record<string, Json>): Difference[] {
  const same = (a: Json | undefined, b: Json | undefined): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  return Object.keys(desired)
    .sort()
    .filter((key) => !same(desired[key], actual[key]))
    .map((key) => ({ key, expected: desired[key], actual: actual[key] }));
}

/** A short, readable account of differences: line diffs for text, values otherwise. */
export function describeDifferences(differences: Difference[]): string {
  const lines: string[] = [];
  for (const d of differences) {
    const expected = d.expected ?? null;
    const actual = d.actual ?? null;
    if (d.key === "boot" && typeof actual === "string") {
      // The firewall's boot-time rules: a finding of its own when the rules are open now (firewallPersistence.ts).
      const keys = differences.map((x) => x.key);
      lines.push(`boot: ${describeBoot(actual, keys)}`);
    } else if (typeof expected === "string" && typeof actual === "string" && (expected.includes("\n") || actual.includes("\n"))) {
      lines.push(`${d.key}:`);
      // A real line diff (jsdiff, Myers' algorithm): moved and repeated lines show where they are.
      for (const part of diffArrays(actual.split("\n"), expected.split("\n"))) {
        if (part.removed) for (const l of part.value) lines.push(`  - ${l}`);
        if (part.added) for (const l of part.value) lines.push(`  + ${l}`);
      }
    } else if (actual === null) {
      lines.push(`${d.key}: missing (expected ${JSON.stringify(expected)})`);
    } else {
      lines.push(`${d.key}: ${JSON.stringify(actual)} (expected ${JSON.stringify(expected)})`);
    }
  }
  return lines.join("\n");
}
