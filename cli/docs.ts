/** `npm run docs`: rewrites what is generated from the config schema: the README's config reference, and the stack file schema. */
import * as fs from "fs";
import { withReference } from "../components/config/reference";
import { stackFileSchemaText } from "../components/config/stackSchema";

export const STACK_SCHEMA_FILE = "schemas/stack.schema.json";

export async function run(): Promise<number> {
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
