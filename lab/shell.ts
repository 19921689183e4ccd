/** Quoting for values interpolated into the bash scripts the lab runs as root. */

/** One bash word that expands to exactly `value`, whatever it contains (quotes, newlines, `$`, globs). */
export function shellQuote(value: string): string {
  if (value !== "" && /^[A-Za-z0-9_./:=@%+,-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** `name=value` lines for the top of a script: data first, then a body that only uses the variables. */
export function shellAssignments(values: Record<string, string | number>): string {
  return Object.entries(values)
    .map(([name, value]) => {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a shell variable name: '${name}'`);
      return `${name}=${shellQuote(String(value))}`;
    })
    .join("\n");
}
