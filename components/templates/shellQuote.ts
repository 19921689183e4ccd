/**
 * The one quoting helper for every value that reaches a shell. POSIX single quotes keep every
 * byte literal; a single quote inside is closed, escaped and reopened. Works in sh, bash, dash and zsh.
 */
export function shellQuote(value: string | number | boolean): string {
  const text = String(value);
  if (text.includes("\u0000")) throw new Error("a NUL byte cannot be passed to a shell");
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
