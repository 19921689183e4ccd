/**
 * What a command writes to stdout and stderr during each test of the describe it is called in (the writes are
 * swallowed, not shown): `const output = captureOutput();` then `output.out` / `output.err` in the tests.
 */
export function captureOutput(): { out: string; err: string } {
  const output = { out: "", err: "" };
  beforeEach(() => {
    output.out = "";
    output.err = "";
    jest.spyOn(process.stdout, "write").mockImplementation((s) => ((output.out += String(s)), true));
    jest.spyOn(process.stderr, "write").mockImplementation((s) => ((output.err += String(s)), true));
  });
  afterEach(() => jest.restoreAllMocks());
  return output;
}
