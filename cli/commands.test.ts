import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CommandDefinition, isGroup } from "./command";
import { commands } from "./commands";
import { main } from "./main";
import { captureOutput } from "../test/support/captureOutput";
import { everyCommand as everyCommandOf } from "../test/support/everyCommand";

const everyCommand = () => everyCommandOf(commands);

describe("every command of the table", () => {
  const output = captureOutput();

  it("has the subcommands the README and the lab document", async () => {
    const names = (await everyCommand()).map(([words]) => words.join(" "));
    expect(names).toEqual(
      expect.arrayContaining([
        "validate",
        "render",
        "docs",
        "drift",
        "verify",
        "lab",
        "lab up",
        "lab down",
        "lab status",
        "lab reboot",
        "bench",
        "bench profile",
        "bench concurrent-jobs",
        "bench verify-failfast",
        "bench verify-soak",
        "env",
      ]),
    );
  });

  it.each(["--help", "-h"])("prints only its help with %s: exit 0, stdout only, nothing run, no file written", async (flag) => {
    // Commands write relative to the working directory (docs: README.md, render: rendered/): an empty one shows any.
    const cwd = process.cwd();
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "mpi-hosts-help-"));
    try {
      process.chdir(empty);
      for (const [words, command] of await everyCommand()) {
        output.out = "";
        output.err = "";
        const ran = isGroup(command) ? undefined : jest.spyOn(command as CommandDefinition, "run");
        const code = await main([...words, flag]);
        expect({ words, code, err: output.err }).toEqual({ words, code: 0, err: "" });
        expect(output.out).toBe(command.help);
        expect(output.out).toMatch(/^usage: /);
        if (ran) expect(ran).not.toHaveBeenCalled();
        expect({ words, written: fs.readdirSync(empty) }).toEqual({ words, written: [] });
      }
    } finally {
      process.chdir(cwd);
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it("answers an unknown option with the command's name, the problem and its help on stderr, exit 1", async () => {
    for (const [words, command] of await everyCommand()) {
      if (isGroup(command)) continue;
      output.out = "";
      output.err = "";
      expect(await main([...words, "--no-such-option"])).toBe(1);
      expect(output.err).toBe(`${words.join(" ")}: unknown option --no-such-option\n\n${command.help}`);
      expect(output.out).toBe("");
    }
  });

  it("declares what exit 0 and exit 1 mean, and the help names every other status on a line about exit statuses", async () => {
    for (const [words, command] of await everyCommand()) {
      if (isGroup(command)) continue;
      expect({ words, codes: Object.keys(command.exitCodes) }).toEqual({ words, codes: expect.arrayContaining(["0", "1"]) });
      for (const code of Object.keys(command.exitCodes).filter((c) => c !== "0" && c !== "1"))
        expect({
          words,
          code,
          inHelp: command.help.split("\n").some((l) => /exit/i.test(l) && new RegExp(`\\b${code}\\b`).test(l)),
        }).toEqual({
          words,
          code,
          inHelp: true,
        });
    }
  });

  it("names itself as it is typed", async () => {
    for (const [words, command] of await everyCommand()) {
      expect(command.name).toBe(words.join(" "));
    }
  });
});

describe("bench", () => {
  const output = captureOutput();
  // Each of these would start a lab if its options were taken: a usage error must come before anything runs.
  it("runs the default measurement when its first argument is an option, and checks that option first", async () => {
    const measure = (await (await import("./bench")).command.default!.load()) as CommandDefinition;
    const run = jest.spyOn(measure, "run");
    expect(await main(["bench", "--sizes", "2,0"])).toBe(1);
    expect(run).toHaveBeenCalled();
    expect(output.err).toMatch(/^bench: --sizes must be positive integers, got '2,0'\n\nusage: npm run bench -- \[--sizes/);
  });

  it.each([
    [["verify-soak", "--rounds", "0"], "bench verify-soak: --rounds must be positive integers, got '0'"],
    [["verify-soak", "--tests", "helloworld,nosuch"], "bench verify-soak: --tests takes a comma-separated list of"],
    [["verify-soak", "--release", "sid"], "bench verify-soak: --release must be trixie or bookworm, got 'sid'"],
    [["concurrent-jobs", "--at-once", "5"], "bench concurrent-jobs: --at-once takes 1 to 4, got 5"],
    [["concurrent-jobs", "--rounds", "x"], "bench concurrent-jobs: --rounds must be positive integers, got 'x'"],
    [["profile", "--repeat", "3"], "bench profile: unknown option --repeat"],
    [["verify-failfast", "now"], "bench verify-failfast: unexpected argument 'now'"],
  ])("refuses bench %j before starting anything: exit 1, the subcommand's name and the problem", async (args, message) => {
    expect(await main(["bench", ...args])).toBe(1);
    expect(output.err.startsWith(message)).toBe(true);
    expect(output.out).toBe("");
  });

  it("names an unknown subcommand (the measurements took no positional before them either)", async () => {
    expect(await main(["bench", "nosuch"])).toBe(1);
    expect(output.err).toMatch(/^bench: unknown subcommand 'nosuch'\n\nusage: npm run bench/);
  });

  it("lists its subcommands in its help", async () => {
    expect(await main(["bench", "help"])).toBe(0);
    for (const name of ["profile", "concurrent-jobs", "verify-failfast", "verify-soak"])
      expect(output.out).toMatch(new RegExp(`^  ${name} +\\S`, "m"));
  });
});

describe("mpi-hosts without a known command", () => {
  const output = captureOutput();

  it("lists every command of the table with its summary", async () => {
    expect(await main(["--help"])).toBe(0);
    for (const [name, entry] of Object.entries(commands)) expect(output.out).toContain(`  ${name.padEnd(8)}  ${entry.summary}\n`);
  });

  it("prints the list and fails when given no command", async () => {
    expect(await main([])).toBe(1);
    expect(output.out).toMatch(/^usage: npm run <command> -- \[options\]/);
  });

  it.each(["nosuch", "constructor"])("refuses an unknown command (%s), naming it", async (name) => {
    expect(await main([name])).toBe(1);
    expect(output.err).toMatch(new RegExp(`^mpi-hosts: unknown command '${name}'\\n\\nusage: `));
  });
});

describe("package.json", () => {
  it("runs only commands of the table from its scripts", () => {
    const scripts = (JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8")) as { scripts: Record<string, string> })
      .scripts;
    for (const [script, line] of Object.entries(scripts)) {
      const m = /cli\/main\.ts(?: (\S+))?/.exec(line);
      if (m?.[1]) expect({ script, command: m[1], known: m[1] in commands }).toEqual({ script, command: m[1], known: true });
    }
  });

  // The help says `npm run <command>`: a command without its script would run npm's built-in of that name instead
  // (`npm run env` prints the whole environment, passphrases and tokens included).
  it("has a script of each command's name that runs that command", () => {
    const scripts = (JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8")) as { scripts: Record<string, string> })
      .scripts;
    for (const name of Object.keys(commands)) {
      expect({ name, script: scripts[name] }).toEqual({ name, script: `ts-node --transpile-only cli/main.ts ${name}` });
    }
  });
});
