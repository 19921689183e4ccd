/**
 * How a help, usage line or hint names a command of mpi-hosts: the way the user runs it here (./clone's invocation),
 * `npm run lab -- up` in a clone, `npx mpi-hosts lab up` or `mpi-hosts lab up` from the package.
 */
import { CLONE_ONLY_COMMANDS, invocation, Invocation } from "./clone";

/**
 * `command` with `args` as the user types it here (`lab`, `up --name x`); a clone-only command (docs, bench) always as
 * a clone runs it, the one place it runs. `silent`: for output a shell reads
 * (`eval "$(...)"`), without npm's banner.
 */
export function commandLine(
  command: string,
  args = "",
  { how = invocation(), silent = false }: { how?: Invocation; silent?: boolean } = {},
): string {
  const rest = args ? ` ${args}` : "";
  if (how === "clone" || CLONE_ONLY_COMMANDS.has(command))
    return `npm run ${silent ? "--silent " : ""}${command}${args ? ` --${rest}` : ""}`;
  return `${how === "npx" ? "npx " : ""}mpi-hosts ${command}${rest}`;
}

/**
 * A help's usage: `usage: ` and the command line, then each of `more` (further options) on a line of its own, aligned
 * under the first `[` of the first line.
 */
export function usageLines(command: string, args: string, ...more: string[]): string {
  const first = `usage: ${commandLine(command, args)}`;
  const indent = " ".repeat(Math.max(first.indexOf("["), 0));
  return [first, ...more.map((m) => `${indent}${m}`)].join("\n");
}
