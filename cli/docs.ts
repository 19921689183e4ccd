/** `npm run docs`: rewrites what is generated from the config schema: the README's config reference, the stack file schema, and the config's types. */
import * as fs from "fs";
import { withReference } from "../components/config/reference";
import { RAW_CONFIG_FILE, rawConfigText } from "../components/config/schemaTypes";
import { stackFileSchemaText } from "../components/config/stackSchema";

export const STACK_SCHEMA_FILE = "schemas/stack.schema.json";

/** Writes `text` to `file` unless it holds it already; says which. */
function rewrite(file: string, text: string): string {
  const old = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
  if (old !== text) fs.writeFileSync(file, text);
  return old === text ? `${file}: already up to date\n` : `${file}: rewritten\n`;
}

export async function run(): Promise<number> {
  const readme = fs.readFileSync("README.md", "utf8");
  const updated = withReference(readme);
  if (updated !== readme) fs.writeFileSync("README.md", updated);
  process.stdout.write(updated === readme ? "README.md: config reference already up to date\n" : "README.md: config reference rewritten\n");
  process.stdout.write(rewrite(STACK_SCHEMA_FILE, stackFileSchemaText()));
  process.stdout.write(rewrite(RAW_CONFIG_FILE, rawConfigText()));
  return 0;
}
