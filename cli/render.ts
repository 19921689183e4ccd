/** `npm run render -- --stack NAME [--out DIR]`: every file and script per host, for review. */
import * as fs from "fs";
import * as path from "path";
import { renderForReview } from "../components/review/review";
import { stackFileFromArgs } from "./args";
import { defineCommand, runnerOf } from "./command";
import { clusterForCommand } from "./stackConfig";
import { usageLines } from "./usage";

const help = `${usageLines("render", "[--stack NAME | FILE] [--out DIR]")}

Writes, per host, the exact files and scripts that \`pulumi up\` would apply, plus DIR/README.md
with the host table, the port plan and a Mermaid diagram. Contacts no host.
DIR (default rendered/) is replaced as a whole, so removed hosts and facets disappear too.
The same config always gives byte-identical output: commit it, or diff it in a pull request.
`;

export const command = defineCommand({
  name: "render",
  help,
  values: ["stack", "out"],
  positionals: true,
  exitCodes: { 0: "the files are written", 1: "the config has problems (one line each), or a usage error" },
  async run(args) {
    const file = stackFileFromArgs(args);
    if (!file) {
      process.stderr.write(help);
      return 1;
    }
    const cluster = clusterForCommand(file);
    if (!cluster) return 1;
    const out = typeof args.options.out === "string" ? args.options.out : "rendered";
    const tree = renderForReview(cluster);
    writeTree(out, tree);
    process.stdout.write(
      `${file}: rendered ${tree.size} files for ${cluster.hosts.length} hosts into ${out}/ (see ${path.join(out, "README.md")})\n`,
    );
    return 0;
  },
});

export const run = runnerOf(command);

/** Replaces DIR with the tree; refuses to delete a folder that is not an earlier render. */
function writeTree(out: string, tree: Map<string, string>): void {
  if (fs.existsSync(out) && fs.readdirSync(out).length > 0 && !fs.existsSync(path.join(out, "README.md"))) {
    throw new Error(`${out} exists and is not an earlier render (no README.md): choose another --out`);
  }
  fs.rmSync(out, { recursive: true, force: true });
  for (const [rel, content] of tree) {
    const target = path.join(out, rel);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, content, { mode: rel.endsWith(".sh") ? 0o755 : 0o644 });
  }
}
