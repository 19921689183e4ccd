/**
 * Where this mpi-hosts runs from: a clone of the repository (its TypeScript, through ts-node: `npm run <command>`) or
 * the installed npm package (compiled JavaScript in dist/: the `mpi-hosts` bin). Every cli/ module is compiled with
 * this one, so its own file name tells for all of them.
 */
import { CommandFailure } from "./command";

export function runsFromClone(file: string = __filename): boolean {
  return file.endsWith(".ts");
}

/** For the commands that rewrite or measure the repository itself (docs, bench): refused from the package. */
export function requireClone(command: string, file: string = __filename): void {
  if (!runsFromClone(file)) {
    throw new CommandFailure(`it rewrites or measures mpi-hosts' own repository: run \`npm run ${command}\` in a clone of it`);
  }
}
