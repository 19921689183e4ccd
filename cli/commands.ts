/**
 * Every command of mpi-hosts, in one table: name, summary, and the module that defines it (cli/command.ts), loaded
 * only when run, so that `validate` does not pay for the lab or the engine. Adding a command: docs/architecture.md.
 */
import { CommandGroup, CommandTable, formatCommandList } from "./command";
import { invocation } from "./clone";
import { usageLines } from "./usage";

export const commands: CommandTable = {
  validate: {
    summary: "check a stack config file against the schema and the cluster rules; touches no host",
    load: async () => (await import("./validate")).command,
  },
  render: {
    summary: "write every file and script that would reach each host, for review",
    load: async () => (await import("./render")).command,
  },
  docs: {
    summary: "rewrite what is generated from schemas/cluster.schema.json (README reference, stack schema, config types)",
    load: async () => (await import("./docs")).command,
  },
  drift: {
    summary: "compare every host with its declared state (the engine's refresh preview); exit 2 on drift, changes nothing",
    load: async () => (await import("./drift")).command,
  },
  verify: {
    summary: "run the verification job now over SSH (preflight, then MPI tests); --html FILE draws the host x host matrix",
    load: async () => (await import("./verify")).command,
  },
  lab: {
    summary: "start, stop or list the local lab of test hosts (Linux namespaces; needs root)",
    load: async () => (await import("./lab")).command,
  },
  bench: {
    summary: "benchmark against an equivalent Ansible playbook on fresh lab hosts (needs root; not part of npm test)",
    load: async () => (await import("./bench")).command,
  },
  env: {
    summary: "print the settings mpi-hosts runs pulumi with as shell exports (eval them, then run any pulumi command)",
    load: async () => (await import("./env")).command,
  },
  plugin: {
    summary: "install the provider plugin of this mpi-hosts (the package, or this clone) for pulumi up, refresh and destroy",
    load: async () => (await import("./plugin")).command,
  },
};

/** mpi-hosts itself: the group of every command. */
export const mpiHosts: CommandGroup = {
  name: "mpi-hosts",
  noun: "command",
  help: [
    `${usageLines("<command>", "[options]")}${invocation() === "clone" ? "   (or npm run cli -- <command> [options])" : ""}`,
    "",
    "commands:",
    formatCommandList(commands),
    "",
    "Run a command with --help for its options.",
    "",
  ].join("\n"),
  subcommands: commands,
};
