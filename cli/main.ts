/**
 * mpi-hosts command line: one entry, one module per subcommand.
 * Each subcommand module exports `run(args): Promise<number>` (the exit code) and `summary`.
 */
import { commands } from "./commands";

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(usage());
    return name ? 0 : 1;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`mpi-hosts: unknown command '${name}'\n\n${usage()}`);
    return 1;
  }
  const module = await command.load();
  return module.run(rest);
}

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length));
  const lines = Object.entries(commands).map(([n, c]) => `  ${n.padEnd(width)}  ${c.summary}`);
  return [
    "usage: npm run <command> -- [options]   (or: npm run cli -- <command> [options])",
    "",
    "commands:",
    ...lines,
    "",
    "Run a command with --help for its options.",
    "",
  ].join("\n");
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
