import { Command, CommandTable, isGroup } from "../../cli/command";

/**
 * Every command of `table`, subcommands included, as typed after mpi-hosts ("lab up"), with its definition; a group's
 * default command (`bench` with options) under the group's words too.
 */
export async function everyCommand(table: CommandTable): Promise<Array<[string[], Command]>> {
  const found: Array<[string[], Command]> = [];
  const walk = async (words: string[], command: Command) => {
    found.push([words, command]);
    if (!isGroup(command)) return;
    if (command.default) found.push([words, await command.default.load()]);
    for (const [name, entry] of Object.entries(command.subcommands)) await walk([...words, name], await entry.load());
  };
  for (const [name, entry] of Object.entries(table)) await walk([name], await entry.load());
  return found;
}
