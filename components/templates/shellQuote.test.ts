import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { shellQuote } from "./shellQuote";
import { loadTemplates } from "./templates";
import { HOSTILE_VALUES } from "../../test/support/hostileValues";

const hostile = HOSTILE_VALUES;

const shells = ["sh", "bash", "dash", "zsh"].filter((s) => {
  try {
    execFileSync("sh", ["-c", `command -v ${s}`]);
    return true;
  } catch {
    return false;
  }
});

describe("shellQuote", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "quote-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe.each(shells)("under %s", (shell) => {
    it.each(hostile)("passes %j through byte for byte and runs nothing", (value) => {
      const script = `value=${shellQuote(value)}\nprintf '%s' "$value" > out\n`;
      execFileSync(shell, ["-c", script], { cwd: dir });
      expect(fs.readFileSync(path.join(dir, "out"), "utf8")).toBe(value);
      expect(fs.existsSync(path.join(dir, "PWNED"))).toBe(false);
    });
  });

  it("refuses a NUL byte, which no shell can carry", () => {
    expect(() => shellQuote("a\u0000b")).toThrow(/NUL/);
  });
});

describe("script templates", () => {
  const t = loadTemplates();
  const scriptTemplates = t.names.filter((n) => n.endsWith(".sh"));

  it("exist for every facet", () => {
    expect(scriptTemplates.length).toBeGreaterThan(10);
  });

  it.each(scriptTemplates)("%s interpolates only through the quoting helper", (name) => {
    const Handlebars = require("handlebars");
    const unquoted: string[] = [];
    const visit = (node: any) => {
      if (!node || typeof node !== "object") return;
      if (node.type === "MustacheStatement") {
        const helper = node.path?.original;
        if (helper !== "q") unquoted.push(helper);
      }
      for (const key of ["body", "program", "inverse"]) {
        const child = node[key];
        if (Array.isArray(child)) child.forEach(visit);
        else visit(child);
      }
    };
    visit(Handlebars.parse(t.source(name)));
    // The header names the facet and host in a comment: both are schema-checked labels.
    const allowedInComments = ["facet", "kind", "host"];
    expect(unquoted.filter((u) => !allowedInComments.includes(u))).toEqual([]);
  });
});
