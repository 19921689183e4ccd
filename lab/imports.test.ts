/**
 * lab/ is a layer of its own (test hosts, used by tests, the CLI and the bench): its modules must form no import
 * circle, type-only imports included, so that each can be read, and loaded, after the ones it names.
 */
import * as fs from "fs";
import * as path from "path";

const LAB = __dirname;

/** The lab modules a module names in `import ... from "./x"` and `export ... from "./x"`. */
function labImportsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(LAB, file), "utf8");
  const names = [...text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+"\.\/([^"]+)"/gms)].map((m) => `${m[1]}.ts`);
  return names.filter((n) => fs.existsSync(path.join(LAB, n)));
}

/** Each circle once, as the chain of modules that closes it ("a.ts -> b.ts -> a.ts"). */
export function importCircles(graph: Record<string, string[]>): string[] {
  const circles = new Set<string>();
  const visit = (node: string, chain: string[]) => {
    const at = chain.indexOf(node);
    if (at >= 0) {
      const loop = chain.slice(at);
      const first = loop.indexOf([...loop].sort()[0]);
      const rotated = [...loop.slice(first), ...loop.slice(0, first)];
      circles.add([...rotated, rotated[0]].join(" -> "));
      return;
    }
    for (const next of graph[node] ?? []) visit(next, [...chain, node]);
  };
  for (const node of Object.keys(graph)) visit(node, []);
  return [...circles].sort();
}

describe("lab/ imports", () => {
  test("finds a circle, type-only or not, and names its modules", () => {
    expect(importCircles({ "lab.ts": ["stack.ts", "run.ts"], "stack.ts": ["lab.ts"], "run.ts": [] })).toEqual([
      "lab.ts -> stack.ts -> lab.ts",
    ]);
  });

  test("no module of lab/ imports, through any chain, one that imports it back", () => {
    const modules = fs.readdirSync(LAB).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));
    const graph = Object.fromEntries(modules.map((m) => [m, labImportsOf(m)]));
    expect(graph["lab.ts"]).toContain("stack.ts"); // the parser sees imports at all
    expect(importCircles(graph)).toEqual([]);
  });
});
