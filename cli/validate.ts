/** `npm run validate -- Pulumi.<stack>.yaml`: exit 0 when valid, 1 with one line per problem. */
import { parseArgs, stackFile, UsageError } from "./args";
import { loadStackConfig } from "./stackConfig";

const help = `usage: npm run validate -- [--stack NAME | FILE]

Checks a stack config file (Pulumi.<stack>.yaml) against schemas/cluster.schema.json and the
cluster rules (unique names, port ranges, networks, ...). Contacts no host and changes nothing.
Exit 0: valid (warnings, if any, on stderr). Exit 1: one line per problem,
  <config path>: <what is wrong> (<what is expected>)
`;

export async function run(args: string[]): Promise<number> {
  let file: string | undefined;
  try {
    const parsed = parseArgs(args, { values: ["stack"] });
    if (parsed.options.help) {
      process.stdout.write(help);
      return 0;
    }
    file = stackFile(parsed);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`validate: ${err.message}\n\n${help}`);
      return 1;
    }
    throw err;
  }
  if (!file) {
    process.stderr.write(help);
    return 1;
  }
  const { cluster, warnings, error } = loadStackConfig(file);
  if (error !== undefined) {
    process.stderr.write(`${error}\n`);
    return 1;
  }
  if (warnings) process.stderr.write(`${warnings}\n`);
  process.stdout.write(`${file}: valid (${cluster.hosts.length} hosts, ${cluster.hosts.reduce((n, h) => n + h.slots, 0)} slots)\n`);
  return 0;
}
