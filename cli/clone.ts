/**
 * Where this mpi-hosts runs from: a clone of the repository (its TypeScript, through ts-node: `npm run <command>`) or
 * the installed npm package (compiled JavaScript in dist/: the `mpi-hosts` bin). Every cli/ module is compiled with
 * this one, so its own file name tells for all of them.
 */
import { CommandFailure } from "./command";

export function runsFromClone(file: string = __filename): boolean {
  return file.endsWith(".ts");
}

/**
 * How the user started mpi-hosts, and so how a hint names a command they can type next: `npm run <command>` in a
 * clone; `npx mpi-hosts` when npm started it (npm sets npm_lifecycle_event: "npx" for npx and `npm exec`, the script's
 * name for a script of the user's project, whose shell has no node_modules/.bin on its PATH); else the `mpi-hosts`
 * bin itself, on the PATH.
 */
export type Invocation = "clone" | "npx" | "bin";

export function invocation(file: string = __filename, env: NodeJS.ProcessEnv = process.env): Invocation {
  if (runsFromClone(file)) return "clone";
  return env.npm_lifecycle_event ? "npx" : "bin";
}

/** The commands that rewrite or measure the repository itself: refused from the package, so named as a clone runs them. */
export const CLONE_ONLY_COMMANDS: ReadonlySet<string> = new Set(["docs", "bench"]);

/** For CLONE_ONLY_COMMANDS: refused from the package. */
export function requireClone(command: string, file: string = __filename): void {
  if (!runsFromClone(file)) {
    throw new CommandFailure(`it rewrites or measures mpi-hosts' own repository: run \`npm run ${command}\` in a clone of it`);
  }
}
