/** `npm run docs`: rewrites what is generated from the config schema: the README's config reference, the stack file schema, and the config's types. */
import * as fs from "fs";
import { withReference } from "../components/config/reference";
import { RAW_CONFIG_FILE, rawConfigText } from "../components/config/schemaTypes";
import { stackFileSchemaText } from "../components/config/stackSchema";
import { requireClone } from "./clone";
import { defineCommand, runnerOf } from "./command";
import { usageLines } from "./usage";

export const STACK_SCHEMA_FILE = "schemas/stack.schema.json";

/** Writes `text` to `file` unless it holds it already; says which. */
function rewrite(file: string, text: string): string {
  const old = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
  if (old !== text) fs.writeFileSync(file, text);
  return old === text ? `${file}: already up to date\n` : `${file}: rewritten\n`;
}

const help = `${usageLines("docs", "")}

Rewrites what is generated from schemas/cluster.schema.json: the README's config reference (between its
config-reference markers), ${STACK_SCHEMA_FILE} (the stack file schema for editors) and
components/config/rawConfig.ts (the config's types). Writes a file only when its text changes, and says which did. Run it after changing the schema; commit the result.
`;

export const command = defineCommand({
  name: "docs",
  help,
  exitCodes: { 0: "every generated file is up to date", 1: "a usage error, or run from the installed package" },
  run: () => {
    requireClone("docs");
    return writeGeneratedDocs();
  },
});

export const run = runnerOf(command);

async function writeGeneratedDocs(): Promise<number> {
  const readme = fs.readFileSync("README.md", "utf8");
  const updated = withReference(readme);
  if (updated !== readme) fs.writeFileSync("README.md", updated);
  process.stdout.write(updated === readme ? "README.md: config reference already up to date\n" : "README.md: config reference rewritten\n");
  process.stdout.write(rewrite(STACK_SCHEMA_FILE, stackFileSchemaText()));
  process.stdout.write(rewrite(RAW_CONFIG_FILE, rawConfigText()));
  return 0;
}
