import { CommandFailure } from "./command";
import { requireClone, runsFromClone } from "./clone";

describe("where mpi-hosts runs from", () => {
  it("a clone runs its TypeScript; the package its compiled dist/", () => {
    expect(runsFromClone("/src/mpi-hosts/cli/clone.ts")).toBe(true);
    expect(runsFromClone("/p/node_modules/mpi-hosts/dist/cli/clone.js")).toBe(false);
    expect(runsFromClone()).toBe(true);
  });

  it("refuses docs and bench from the package (they would write into the user's project), naming the way", () => {
    const fromPackage = "/p/node_modules/mpi-hosts/dist/cli/clone.js";
    expect(() => requireClone("docs", fromPackage)).toThrow(CommandFailure);
    expect(() => requireClone("docs", fromPackage)).toThrow(
      "it rewrites or measures mpi-hosts' own repository: run `npm run docs` in a clone of it",
    );
    expect(() => requireClone("bench", "/src/mpi-hosts/cli/clone.ts")).not.toThrow();
  });
});
