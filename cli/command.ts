/**
 * The one shape of a command: what `--help` prints, the options it takes, what its exit statuses mean, and what it
 * runs. Every command of cli/commands.ts is one of these (or a group of them, like `lab`), so parsing, `--help`
 * (stdout, exit 0, nothing run) and usage errors (`<command>: <what is wrong>`, the help, exit 1) behave alike.
 */
import { ParsedArgs, parseArgs, UsageError } from "./args";

export interface CommandDefinition {
  /** As typed after mpi-hosts ("validate", "lab up"): it starts the command's error lines. */
  name: string;
  /** Printed whole by --help, and after a usage error. */
  help: string;
  /** Options without a value (--json); --help and -h are always known. */
  flags?: string[];
  /** Options with one (--stack NAME or --stack=NAME). */
  values?: string[];
  /** Whether arguments other than options are taken; when not, one is a usage error. */
  positionals?: boolean;
  /** What each exit status means (1 includes usage errors); the help text says the same to users. */
  exitCodes: Record<number, string>;
  /** Runs the command; a UsageError or CommandFailure it throws is reported as the parser's are. */
  run(args: ParsedArgs): Promise<number>;
}

/** A command made of subcommands (`lab up`, `lab down`), or mpi-hosts itself. */
export interface CommandGroup {
  name: string;
  /** "command" or "subcommand": how an unknown one is named. */
  noun: string;
  help: string;
  subcommands: CommandTable;
  /**
   * The command run when no subcommand is named (no argument, or an option first: `bench --sizes 5`), instead of
   * the help and exit 1; its name and help are the group's, so `--help` prints the group's help either way.
   */
  default?: CommandEntry;
}

export type Command = CommandDefinition | CommandGroup;

/** One row of a table: the summary is there so that listing commands loads none of them. */
export interface CommandEntry {
  summary: string;
  load(): Promise<Command>;
}

export type CommandTable = Record<string, CommandEntry>;

/** A failure the user can act on, said in one line (`<command>: <message>`, exit 1), without the help. */
export class CommandFailure extends Error {}

export function isGroup(command: Command): command is CommandGroup {
  return "subcommands" in command;
}

/** The table as help lines: each name padded to the longest, then its summary. */
export function formatCommandList(table: CommandTable, gap = 2): string {
  const width = Math.max(...Object.keys(table).map((n) => n.length));
  return Object.entries(table)
    .map(([n, c]) => `  ${n.padEnd(width)}${" ".repeat(gap)}${c.summary}`)
    .join("\n");
}

function isHelp(arg: string): boolean {
  return arg === "--help" || arg === "-h";
}

export async function runCommand(command: Command, argv: string[]): Promise<number> {
  if (isGroup(command)) return runGroup(command, argv);
  let parsed: ParsedArgs;
  try {
    parsed = parseArgs(argv, { flags: command.flags, values: command.values });
    if (parsed.options.help) {
      process.stdout.write(command.help);
      return 0;
    }
    if (!command.positionals && parsed.positionals.length) throw new UsageError(`unexpected argument '${parsed.positionals[0]}'`);
    return await command.run(parsed);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${command.name}: ${err.message}\n\n${command.help}`);
      return 1;
    }
    if (err instanceof CommandFailure) {
      process.stderr.write(`${command.name}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

/** No subcommand: the help, exit 1 (or the group's default command); `help`, --help, -h: the help, exit 0. */
async function runGroup(group: CommandGroup, argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (group.default && (name === undefined || name.startsWith("-"))) return runCommand(await group.default.load(), argv);
  if (!name || isHelp(name) || name === "help") {
    process.stdout.write(group.help);
    return name ? 0 : 1;
  }
  const entry = Object.hasOwn(group.subcommands, name) ? group.subcommands[name] : undefined;
  if (!entry) {
    process.stderr.write(`${group.name}: unknown ${group.noun} '${name}'\n\n${group.help}`);
    return 1;
  }
  return runCommand(await entry.load(), rest);
}

/**
 * The subcommands of a group whose failures are said in one line, `<group> <name>: <prefix><message>`, exit 1,
 * without the help (a host that does not boot is not a usage error; a UsageError thrown stays one): given the
 * group's name, each subcommand's help, and the options every subcommand takes, it makes one from its name, its own
 * options, its exit codes and its handler.
 */
export function oneLineSubcommands<Name extends string>(
  group: string,
  helps: Record<Name, string>,
  { shared = [], prefix = "" }: { shared?: string[]; prefix?: string } = {},
) {
  return (
    name: Name,
    values: string[],
    exitCodes: Record<number, string>,
    handler: (options: ParsedArgs["options"]) => Promise<number>,
  ): CommandDefinition =>
    defineCommand({
      name: `${group} ${name}`,
      help: helps[name],
      values: [...shared, ...values],
      exitCodes,
      async run({ options }) {
        try {
          return await handler(options);
        } catch (e) {
          if (e instanceof UsageError || e instanceof CommandFailure) throw e;
          throw new CommandFailure(`${prefix}${(e as Error).message}`);
        }
      },
    });
}

export function defineCommand(definition: CommandDefinition): CommandDefinition {
  return definition;
}

/** `run(args)` of a command module: the command as `npm run` runs it (tests call it so). */
export function runnerOf(command: Command): (args: string[]) => Promise<number> {
  return (args) => runCommand(command, args);
}
