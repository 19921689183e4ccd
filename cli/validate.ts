/** `npm run validate -- Pulumi.<stack>.yaml`: exit 0 when valid, 1 with one line per problem. */
import * as fs from "fs";
import { formatProblems, loadCluster, readStackFile } from "../components/config/load";
import { parseArgs, stackFile, UsageError } from "./args";

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
  if (!fs.existsSync(file)) {
    process.stderr.write(`${file}: no such file (a Pulumi stack config, e.g. Pulumi.example.yaml)\n`);
    return 1;
  }
  let raw: Record<string, unknown>;
  try {
    raw = readStackFile(file);
  } catch (err) {
    process.stderr.write(`${file}: not readable as YAML (${(err as Error).message.split("\n")[0]})\n`);
    return 1;
  }
  const { cluster, problems } = loadCluster(raw);
  if (!cluster) {
    process.stderr.write(`${formatProblems(problems)}\n`);
    return 1;
  }
  if (problems.length) process.stderr.write(`${formatProblems(problems)}\n`);
  process.stdout.write(`${file}: valid (${cluster.hosts.length} hosts, ${cluster.hosts.reduce((n, h) => n + h.slots, 0)} slots)\n`);
  return 0;
}
