/** The subcommands, loaded lazily so that `validate` does not pay for the lab or the engine. */
export interface CommandModule {
  run(args: string[]): Promise<number>;
}

export interface Command {
  summary: string;
  load(): Promise<CommandModule>;
}

export const commands: Record<string, Command> = {
  validate: {
    summary: "check a stack config file against the schema and the cluster rules; touches no host",
    load: () => import("./validate"),
  },
  render: {
    summary: "write every file and script that would reach each host, for review",
    load: () => import("./render"),
  },
  docs: {
    summary: "rewrite the README's config reference from schemas/cluster.schema.json",
    load: () => import("./docs"),
  },
  drift: {
    summary: "compare every host with its declared state (the engine's refresh preview); exit 2 on drift, changes nothing",
    load: () => import("./drift"),
  },
  verify: {
    summary: "run the verification job now over SSH (preflight, then MPI tests); --html FILE draws the host x host matrix",
    load: () => import("./verify"),
  },
  lab: {
    summary: "start, stop or list the local lab of test hosts (Linux namespaces; needs root)",
    load: () => import("../lab/cli"),
  },
  bench: {
    summary: "benchmark against an equivalent Ansible playbook on fresh lab hosts (needs root; not part of npm test)",
    load: () => import("./bench"),
  },
};
