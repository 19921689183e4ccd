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
 * How the user started mpi-hosts: `npm run <command>` in a clone, `npx mpi-hosts` (npm sets npm_lifecycle_event to
 * "npx" for npx and `npm exec`), or the `mpi-hosts` bin itself (on PATH, or from a script of the user's project).
 */
export type Invocation = "clone" | "npx" | "bin";

export function invocation(file: string = __filename, env: NodeJS.ProcessEnv = process.env): Invocation {
  if (runsFromClone(file)) return "clone";
  return env.npm_lifecycle_event === "npx" ? "npx" : "bin";
}

/** For the commands that rewrite or measure the repository itself (docs, bench): refused from the package. */
export function requireClone(command: string, file: string = __filename): void {
  if (!runsFromClone(file)) {
    throw new CommandFailure(`it rewrites or measures mpi-hosts' own repository: run \`npm run ${command}\` in a clone of it`);
  }
}
