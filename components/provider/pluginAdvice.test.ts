import { reinstallPluginAdvice } from "./pluginAdvice";

describe("the advice that makes the installed plugin this code", () => {
  it("names the clone's script when running from a clone, the package's command when running from the package", () => {
    expect(reinstallPluginAdvice("/src/mpi-hosts/components/provider/pluginAdvice.ts")).toBe(
      "run scripts/install-plugin.sh in this checkout",
    );
    expect(reinstallPluginAdvice("/p/node_modules/mpi-hosts/dist/components/provider/pluginAdvice.js")).toBe(
      "run `npx mpi-hosts plugin install` in this project",
    );
    expect(reinstallPluginAdvice()).toBe("run scripts/install-plugin.sh in this checkout");
  });
});
