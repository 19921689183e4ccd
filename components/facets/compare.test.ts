import { describeDifferences, diffStates } from "./compare";

const text = (desired: string, actual: string) => describeDifferences(diffStates({ block: desired }, { block: actual }));

describe("describeDifferences: what drift and a failed apply print", () => {
  it("shows a changed line as - what the host has, + what is declared, and nothing of the unchanged ones", () => {
    expect(text("a\nb = 1\nc\n", "a\nb = 2\nc\n")).toBe("block:\n  - b = 2\n  + b = 1");
  });

  it("shows a line moved on the host where it moved (a set comparison printed nothing)", () => {
    expect(text("first\nsecond\n", "second\nfirst\n")).toBe("block:\n  - second\n  + second");
  });

  it("shows a line the host has twice", () => {
    expect(text("a\nb\n", "a\nb\nb\n")).toBe("block:\n  - b");
  });

  it("says missing for a value the host lacks, and prints other values as JSON", () => {
    expect(describeDifferences(diffStates({ link: "/opt/x", enabled: true }, { enabled: false }))).toBe(
      'enabled: false (expected true)\nlink: missing (expected "/opt/x")',
    );
  });
});
