/**
 * The lab and e2e stages run two files at a time: the order jest starts them in decides how long one worker idles at
 * the end. With no timing in jest's cache (a clean clone, as in CI), the known long files must start first.
 */
import * as fs from "fs";
import * as path from "path";

const root = path.resolve(__dirname, "../..");
const KnownLongFirst = require("../support/testSequencer.js");
const config = require("../../jest.config.js");

/** The order the sequencer gives the files, with jest's cache off (no timings). */
function order(files: string[]): string[] {
  const context = { config: { rootDir: root, cache: false, id: "test" }, hasteFS: { getSize: (p: string) => fs.statSync(p).size } };
  const tests = files.map((f) => ({ path: path.join(root, f), context }));
  return new KnownLongFirst().sort(tests).map((t: { path: string }) => path.relative(root, t.path));
}

const filesUnder = (dir: string, suffix: string) =>
  fs
    .readdirSync(path.join(root, dir))
    .filter((f) => f.endsWith(suffix))
    .map((f) => `${dir}/${f}`);

test("jest uses it", () => {
  expect(config.testSequencer).toBe(path.join(root, "test/support/testSequencer.js"));
});

test("on a clean clone the lab stage starts with the files measured longest, longest first, then the rest by size", () => {
  const files = [...filesUnder("test/lab", ".test.ts"), ...filesUnder("test/security", ".lab.test.ts")];
  const measured = Object.keys(KnownLongFirst.MEASURED_SECONDS).filter((f) => f.startsWith("test/lab/"));
  for (const f of measured) expect(files).toContain(f);
  const sorted = order(files);
  expect(sorted.slice(0, measured.length)).toEqual(
    [...measured].sort((a, b) => KnownLongFirst.MEASURED_SECONDS[b] - KnownLongFirst.MEASURED_SECONDS[a]),
  );
  const sizes = sorted.slice(measured.length).map((f) => fs.statSync(path.join(root, f)).size);
  expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
});

test("every measured e2e file exists and starts before every unmeasured one", () => {
  const files = filesUnder("test/e2e", ".test.ts");
  const measured = Object.keys(KnownLongFirst.MEASURED_SECONDS).filter((f) => f.startsWith("test/e2e/"));
  for (const f of measured) expect(files).toContain(f);
  expect(new Set(order(files).slice(0, measured.length))).toEqual(new Set(measured));
});

test("a file timed only by its size keeps no duration, so jest's scheduler still runs small files on --maxWorkers", () => {
  const context = { config: { rootDir: root, cache: false, id: "test" }, hasteFS: { getSize: (p: string) => fs.statSync(p).size } };
  const tests = ["test/lab/reboot.test.ts", "test/lab/firewall.test.ts"].map((f) => ({ path: path.join(root, f), context }));
  const sorted = new KnownLongFirst().sort(tests) as Array<{ path: string; duration?: number }>;
  expect(sorted.map((t) => [path.relative(root, t.path), t.duration])).toEqual([
    ["test/lab/firewall.test.ts", KnownLongFirst.MEASURED_SECONDS["test/lab/firewall.test.ts"] * 1000],
    ["test/lab/reboot.test.ts", undefined],
  ]);
});
