/**
 * The mpi-hosts shell helpers (mh_*, fw_*) that a rendered script calls by name but does not define.
 * A probe leaves out the library's writing helpers (rendered readOnly), so a reading function that
 * started to use one would fail only on the host, and only on the backend that reaches it.
 * A function defined with a subshell body (`name() (`) counts as defined. Calls through a computed name ("fw_${b}_rules") are not seen here; comments are skipped.
 */
export function undefinedHelpers(script: string): string[] {
  const code = script
    .split("\n")
    .filter((line) => !/^\s*#/.test(line))
    .join("\n");
  const defined = new Set([...code.matchAll(/^([a-z_][a-z0-9_]*)\(\) [{(]/gm)].map((m) => m[1]));
  // Words in command position; a name that is also assigned or read as $name or ${name...} is a variable (for, read, arithmetic).
  const words = [...code.matchAll(/(?<=^|[\s;&|(!])((?:mh|fw)_[a-z0-9_]+)(?=$|[\s;)|<>])/gm)].map((m) => m[1]);
  const variables = new Set(
    [...code.matchAll(/\$\{?((?:mh|fw)_[a-z0-9_]+)|(?<=^|[\s;&|(])((?:mh|fw)_[a-z0-9_]+)=/gm)].map((m) => m[1] ?? m[2]),
  );
  return [...new Set(words)].filter((name) => !defined.has(name) && !variables.has(name)).sort();
}
