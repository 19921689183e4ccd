/**
 * Issue 15, item 8: every shell file of the review tree (`npm run render`) says which shell it is for, so that
 * shellcheck in a pull request checks it as such instead of stopping at SC2148 ("add a shebang").
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadClusterOrThrow, readStackFile } from "../../components/config/load";
import { renderForReview } from "../../components/review/review";

const stacks = ["Pulumi.example.yaml", "test/fixtures/Pulumi.linux-system.yaml"];

describe.each(stacks)("the review tree of %s", (stack) => {
  const tree = renderForReview(loadClusterOrThrow(readStackFile(stack)).cluster);
  const shellFiles = [...tree.keys()].filter((name) => name.endsWith(".sh"));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sec-review-"));
  for (const name of shellFiles) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), tree.get(name)!);
  }
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("has ufw command listings among its shell files", () => {
    expect(shellFiles.some((name) => name.endsWith("/firewall/ufw/commands.sh"))).toBe(true);
  });

  it("passes shellcheck with no shell given on the command line (each file names its own)", () => {
    const result = spawnSync("shellcheck", ["--format=gcc", ...shellFiles], { cwd: dir, encoding: "utf8" });
    expect(result.error).toBeUndefined();
    expect(result.stdout).toBe("");
    expect(result.status).toBe(0);
  });
});
