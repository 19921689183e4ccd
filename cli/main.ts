#!/usr/bin/env node
/**
 * mpi-hosts command line: one entry for every command of the table in ./commands; the package's `mpi-hosts` bin
 * (compiled to dist/cli/main.js) and, in a clone, `npm run <command>` (ts-node).
 * Each command module exports `command`, one definition (cli/command.ts).
 */
import { runCommand } from "./command";
import { mpiHosts } from "./commands";

export async function main(argv: string[]): Promise<number> {
  return runCommand(mpiHosts, argv);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`mpi-hosts: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
