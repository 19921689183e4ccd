/**
 * `bench` measures this repository (its labs, its results folder): run from the installed package, every one of its
 * commands is refused before anything starts, the subcommands as the default measurement. The package is simulated by
 * the file name clone.ts goes by there (dist/cli/clone.js); each subcommand is given an option it would refuse after
 * the check, and verify-failfast (which takes none) a measurement that says it started.
 */
import { captureOutput } from "../test/support/captureOutput";
import { main } from "./main";

jest.mock("./clone", () => {
  const actual = jest.requireActual("./clone");
  return {
    ...actual,
    requireClone: (command: string) => actual.requireClone(command, "/project/node_modules/mpi-hosts/dist/cli/clone.js"),
  };
});
jest.mock("../bench/verify-failfast", () => ({
  runVerifyFailfast: async () => {
    throw new Error("the measurement started");
  },
}));

describe("bench from the installed package", () => {
  const output = captureOutput();
  it.each([
    [["--sizes", "0"]],
    [["profile", "--sizes", "0"]],
    [["concurrent-jobs", "--rounds", "x"]],
    [["verify-failfast"]],
    [["verify-soak", "--rounds", "0"]],
  ])("refuses bench %j before anything starts", async (args) => {
    expect(await main(["bench", ...args])).toBe(1);
    expect(output.err).toMatch(/run `npm run bench` in a clone of it/);
    expect(output.err).not.toMatch(/must be|started/);
  });
});
