/** `npm run docs`: rewrites the README's config reference from the schema. */
import * as fs from "fs";
import { withReference } from "../components/config/reference";

export async function run(): Promise<number> {
  const readme = fs.readFileSync("README.md", "utf8");
  const updated = withReference(readme);
  if (updated !== readme) fs.writeFileSync("README.md", updated);
  process.stdout.write(updated === readme ? "README.md: config reference already up to date\n" : "README.md: config reference rewritten\n");
  return 0;
}
