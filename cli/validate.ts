/** `npm run validate -- Pulumi.<stack>.yaml`: exit 0 when valid, 1 with one line per problem. */
import { stackFileFromArgs } from "./args";
import { defineCommand, runnerOf } from "./command";
import { clusterForCommand } from "./stackConfig";
import { usageLines } from "./usage";

const help = `${usageLines("validate", "[--stack NAME | FILE]")}

Checks a stack config file (Pulumi.<stack>.yaml) against schemas/cluster.schema.json and the
cluster rules (unique names, port ranges, networks, ...). Contacts no host and changes nothing.
Exit 0: valid (warnings, if any, on stderr). Exit 1: one line per problem,
  <config path>: <what is wrong> (<what is expected>)
`;

export const command = defineCommand({
  name: "validate",
  help,
  values: ["stack"],
  positionals: true,
  exitCodes: { 0: "valid (warnings on stderr)", 1: "one line per problem, or a usage error" },
  async run(args) {
    const file = stackFileFromArgs(args);
    if (!file) {
      process.stderr.write(help);
      return 1;
    }
    const cluster = clusterForCommand(file);
    if (!cluster) return 1;
    process.stdout.write(`${file}: valid (${cluster.hosts.length} hosts, ${cluster.hosts.reduce((n, h) => n + h.slots, 0)} slots)\n`);
    return 0;
  },
});

export const run = runnerOf(command);
