import * as fs from "fs";
import { configReference, withReference } from "./reference";

describe("the README's config reference", () => {
  it("matches the schema (run `npm run docs` after changing the schema)", () => {
    const readme = fs.readFileSync("README.md", "utf8");
    expect(withReference(readme)).toBe(readme);
  });

  it("names every section and key of the schema", () => {
    const text = configReference();
    for (const key of ["mpi-hosts:ssh", "mpi-hosts:hosts", "mpi-hosts:mpi", "`btlPorts`", "`allowFrom`", "`hostKey`", "`timeoutSeconds`"]) {
      expect(text).toContain(key);
    }
  });
});
