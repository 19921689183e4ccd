/** `npm run docs`: rewrites what is generated from the config schema: the README's config reference, and the stack file schema. */
import * as fs from "fs";
import { withReference } from "../components/config/reference";
import { stackFileSchemaText } from "../components/config/stackSchema";
import { defineCommand, runnerOf } from "./command";

export const STACK_SCHEMA_FILE = "schemas/stack.schema.json";

const help = `usage: npm run docs

Rewrites what is generated from schemas/cluster.schema.json: the README's config reference (between its
config-reference markers) and ${STACK_SCHEMA_FILE} (the stack file schema for editors). Writes a file only
when its text changes, and says which did. Run it after changing the schema; commit the result.
`;

export const command = defineCommand({
  name: "docs",
  help,
  exitCodes: { 0: "both files are up to date", 1: "a usage error" },
  run: () => writeGeneratedDocs(),
});

export const run = runnerOf(command);

async function writeGeneratedDocs(): Promise<number> {
  const readme = fs.readFileSync("README.md", "utf8");
  const updated = withReference(readme);
  if (updated !== readme) fs.writeFileSync("README.md", updated);
  process.stdout.write(updated === readme ? "README.md: config reference already up to date\n" : "README.md: config reference rewritten\n");
  const schema = stackFileSchemaText();
  const old = fs.existsSync(STACK_SCHEMA_FILE) ? fs.readFileSync(STACK_SCHEMA_FILE, "utf8") : undefined;
  if (old !== schema) fs.writeFileSync(STACK_SCHEMA_FILE, schema);
  process.stdout.write(old === schema ? `${STACK_SCHEMA_FILE}: already up to date\n` : `${STACK_SCHEMA_FILE}: rewritten\n`);
  return 0;
}
