/**
 * Every help, usage line and hint names a command the way the user ran mpi-hosts: `npm run drift -- ...` in a clone,
 * `npx mpi-hosts drift ...` or `mpi-hosts drift ...` from the installed package. How it was run is ./clone's
 * invocation (the file name of the running code and npm's environment); here it is replaced to load the commands as
 * each way would, since these tests run from a clone.
 */
import { CLONE_ONLY_COMMANDS, type Invocation } from "./clone";
import { everyCommand } from "../test/support/everyCommand";

let mockHow: Invocation = "clone";
jest.mock("./clone", () => ({ ...jest.requireActual("./clone"), invocation: () => mockHow, runsFromClone: () => mockHow === "clone" }));

/** The commands as loaded when mpi-hosts was run `how`: fresh modules, since helps are made when a module loads. */
async function loadedAs(how: Invocation) {
  mockHow = how;
  jest.resetModules();
  const { commands, mpiHosts } = (await import("./commands")) as typeof import("./commands");
  const found = await everyCommand(commands);
  const names = new RegExp(`^.*\\bmpi-hosts (${Object.keys(commands).join("|")})\\b.*$`, "gm");
  const bareBin = new RegExp(`^.*(?<!npx )\\bmpi-hosts (${Object.keys(commands).join("|")})\\b.*$`, "gm");
  return { every: found, mpiHosts, names, bareBin, usage: (await import("./usage")) as typeof import("./usage") };
}

describe("a command line as the user types it", () => {
  it("in a clone: npm run, the arguments after --; from the package: the bin, by npx when npx ran it", async () => {
    const { commandLine } = await import("./usage");
    expect(commandLine("lab", "up --name x", { how: "clone" })).toBe("npm run lab -- up --name x");
    expect(commandLine("docs", "", { how: "clone" })).toBe("npm run docs");
    expect(commandLine("env", "--stack lab", { how: "clone", silent: true })).toBe("npm run --silent env -- --stack lab");
    expect(commandLine("lab", "up --name x", { how: "npx" })).toBe("npx mpi-hosts lab up --name x");
    expect(commandLine("env", "--stack lab", { how: "bin", silent: true })).toBe("mpi-hosts env --stack lab");
    // docs and bench run only in a clone: named that way whatever ran mpi-hosts.
    expect(commandLine("bench", "profile", { how: "npx" })).toBe("npm run bench -- profile");
    expect(commandLine("docs", "", { how: "bin" })).toBe("npm run docs");
  });

  it("tells a clone by its TypeScript, and npm (npx, or a script of the user's project) by npm_lifecycle_event", () => {
    const { invocation } = jest.requireActual<typeof import("./clone")>("./clone");
    const dist = "/p/node_modules/mpi-hosts/dist/cli/clone.js";
    expect(invocation("/src/mpi-hosts/cli/clone.ts", { npm_lifecycle_event: "npx" })).toBe("clone");
    expect(invocation(dist, { npm_lifecycle_event: "npx" })).toBe("npx");
    // A script of the user's project ("drift": "mpi-hosts drift"): their shell has no node_modules/.bin on its PATH.
    expect(invocation(dist, { npm_lifecycle_event: "drift" })).toBe("npx");
    expect(invocation(dist, {})).toBe("bin");
  });
});

describe.each<Invocation>(["clone", "npx", "bin"])("every command's help, mpi-hosts run as %s", (how) => {
  it("starts with the command as typed that way, and names no command the other way", async () => {
    const { every, mpiHosts, names, bareBin, usage } = await loadedAs(how);
    for (const [words, command] of every) {
      const typed = usage.commandLine(words[0], words.slice(1).join(" "), { how });
      expect({ words, start: command.help.slice(0, `usage: ${typed}`.length) }).toEqual({ words, start: `usage: ${typed}` });
      const cloneOnly = CLONE_ONLY_COMMANDS.has(words[0]);
      if (how === "clone" || cloneOnly) expect({ words, lines: command.help.match(names) }).toEqual({ words, lines: null });
      else expect({ words, lines: command.help.match(/^.*npm run .*$/gm) }).toEqual({ words, lines: null });
      if (how === "npx") expect({ words, lines: command.help.match(bareBin) }).toEqual({ words, lines: null });
      if (how === "bin") expect({ words, lines: command.help.match(/^.*npx mpi-hosts.*$/gm) }).toEqual({ words, lines: null });
    }
    const first = mpiHosts.help.split("\n")[0];
    expect(first).toBe(
      {
        clone: "usage: npm run <command> -- [options]   (or npm run cli -- <command> [options])",
        npx: "usage: npx mpi-hosts <command> [options]",
        bin: "usage: mpi-hosts <command> [options]",
      }[how],
    );
  });

  it("the hint of a lab command that found no lab names `lab up` that way", async () => {
    await loadedAs(how);
    const { run } = (await import("./lab")) as typeof import("./lab");
    const err = jest.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      expect(await run(["status", "--name", "xqnone"])).toBe(1);
      const { commandLine } = (await import("./usage")) as typeof import("./usage");
      expect(String(err.mock.calls[0][0])).toContain(`start it with \`${commandLine("lab", "up --name xqnone", { how })}\``);
    } finally {
      err.mockRestore();
    }
  });
});
