/** `mpi-hosts env [--stack NAME]`: the settings mpi-hosts runs pulumi with, as shell export lines (cli/pulumiRunner.ts). */
import { defineCommand, runnerOf } from "./command";
import { pulumiSettings, shellExports } from "./pulumiRunner";
import { commandLine, usageLines } from "./usage";
import { runsFromClone } from "./clone";

const help = `${usageLines("env", "[--stack NAME]")}

Prints, as shell export lines, the settings mpi-hosts uses to run pulumi: PATH (when the engine
comes from the cache), PULUMI_BACKEND_URL (the backend pulumi would use: PULUMI_BACKEND_URL,
\${MPI_HOSTS_STATE}, backend.url in Pulumi.yaml, pulumi login; else file://${runsFromClone() ? "<this checkout>" : "<the working directory>"}/.pulumi-state),
the offline switches, and PULUMI_CONFIG_PASSPHRASE only when it is the
lab default. Use: eval "$(${commandLine("env", "--stack lab", { silent: true })})"
`;

export const command = defineCommand({
  name: "env",
  help,
  values: ["stack"],
  exitCodes: { 0: "the export lines are printed", 1: "no pulumi found, or no passphrase for the stack" },
  async run({ options }) {
    const stack = typeof options.stack === "string" ? options.stack : undefined;
    process.stdout.write(shellExports(pulumiSettings(stack)));
    return 0;
  },
});

export const run = runnerOf(command);
