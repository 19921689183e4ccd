import { FAILURE_KINDS, fillTemplate, hintLines, PREFLIGHT_STAGES } from "./failures";

describe("the failure catalogue", () => {
  it.each(Object.entries(FAILURE_KINDS))("%s says what failed and what to change, in text the job can carry", (_kind, k) => {
    for (const text of [k.message, k.hint]) {
      // The job's records and JSON drop quotes, backslashes, tabs and newlines; the shell quoting would mangle apostrophes.
      expect(text).not.toMatch(/["\\\t\n']/);
      for (const [, name] of text.matchAll(/\{(\w+)\}/g))
        expect(["from", "to", "port", "range", "ports", "expected", "detail", "stage"]).toContain(name);
    }
    expect([...PREFLIGHT_STAGES, "test"]).toContain(k.stage);
    expect(k.hint.length).toBeGreaterThan(30);
  });

  it("names the pair and the range of a blocked port in the words of the issue", () => {
    const k = FAILURE_KINDS["tcp-blocked"];
    const fields = {
      from: "hostA",
      to: "hostB",
      port: 50000,
      range: "btl 50000-50099",
      ports: "50000-50099",
      detail: "no answer within 2s",
    };
    expect(fillTemplate(k.message, fields)).toBe("hostA -> hostB:50000 (btl 50000-50099) blocked (no answer within 2s)");
    expect(fillTemplate(k.hint, fields)).toBe(
      "firewall on hostB drops tcp 50000-50099 from the network of hostA: check mpi-hosts:firewall / run pulumi up --refresh",
    );
  });

  it.each([
    ["{from} -> {to}", { from: "a", to: "b" }, "a -> b"],
    ["{from} twice {from}", { from: "a" }, "a twice a"],
    ["missing {detail}", {}, "missing -"],
    ["empty {detail}", { detail: "" }, "empty -"],
    ["a number {port}", { port: 50000 }, "a number 50000"],
    ["not a field {nope}", {}, "not a field -"],
  ])("fillTemplate(%j)", (template, fields, expected) => {
    expect(fillTemplate(template, fields)).toBe(expected);
  });

  it("reaches the job as one tab-separated line per kind", () => {
    const lines = hintLines();
    expect(lines).toHaveLength(Object.keys(FAILURE_KINDS).length);
    for (const l of lines) expect(l.split("\t")).toHaveLength(4);
  });
});
