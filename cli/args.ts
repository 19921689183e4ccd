/** The argument parser of every command (cli/command.ts): `--flag`, `--key value`, `--key=value` and positionals; unknown options are errors. */
export interface ParsedArgs {
  options: Record<string, string | boolean>;
  positionals: string[];
}

export class UsageError extends Error {}

export function parseArgs(args: string[], spec: { flags?: string[]; values?: string[] }): ParsedArgs {
  const flags = new Set(["help", ...(spec.flags ?? [])]);
  const values = new Set(spec.values ?? []);
  const options: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "-h") {
      options.help = true;
    } else if (arg.startsWith("--")) {
      const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
      if (flags.has(name) && inline === undefined) options[name] = true;
      else if (values.has(name)) {
        const value = inline ?? args[++i];
        if (value === undefined) throw new UsageError(`--${name} needs a value`);
        options[name] = value;
      } else throw new UsageError(`unknown option --${name}`);
    } else positionals.push(arg);
  }
  return { options, positionals };
}

/** The stack config file a command is given: `--stack NAME` means Pulumi.NAME.yaml; a positional names the file directly. */
export function stackFileFromArgs(parsed: ParsedArgs): string | undefined {
  if (typeof parsed.options.stack === "string") return `Pulumi.${parsed.options.stack}.yaml`;
  return parsed.positionals[0];
}
