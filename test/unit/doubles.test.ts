/**
 * The README names the test doubles the macOS, ufw, firewalld and conda paths run against: each one it names must
 * exist in test/doubles (issue 18 item 11: it named a `sw_vers` double that never existed).
 */
import * as fs from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "../..");
const DOUBLES = path.join(ROOT, "test/doubles");

/** Tool names in "doubles of `a`, `b` and `c`" / "double of the `x` CLI" phrases. */
function namedDoubles(text: string): string[] {
  const names: string[] = [];
  for (const m of text.matchAll(/doubles? of (?:the )?((?:`[^`]+`(?:,\s*|\s+and\s+)?)+)/g)) {
    for (const n of m[1].matchAll(/`([^`]+)`/g)) names.push(n[1]);
  }
  return names;
}

describe("the test doubles the README names", () => {
  const names = namedDoubles(fs.readFileSync(path.join(ROOT, "README.md"), "utf8"));

  test("include the macOS tools and conda", () => {
    expect(names).toEqual(expect.arrayContaining(["pfctl", "socketfilterfw", "conda"]));
  });

  test.each(names)("%s exists in test/doubles", (name) => {
    expect(fs.existsSync(path.join(DOUBLES, path.basename(name)))).toBe(true);
  });
});
