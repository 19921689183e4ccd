/** Values for the bash scripts the lab runs as root, quoted with the project's one helper. */
import { shellQuote } from "../components/templates/shellQuote";

/** `name=value` lines for the top of a script: data first, then a fixed body that only uses the variables. */
export function shellAssignments(values: Record<string, string | number>): string {
  return Object.entries(values)
    .map(([name, value]) => {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a shell variable name: '${name}'`);
      return `${name}=${shellQuote(value)}`;
    })
    .join("\n");
}
