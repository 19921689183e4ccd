import { undefinedHelpers } from "./shellHelpers";

describe("undefinedHelpers", () => {
  it("names a helper that is called but not defined", () => {
    expect(undefinedHelpers("mh_note() {\n  :\n}\nif x; then mh_note hi; fi\nmh_write_atomic /f 644 <x\n")).toEqual(["mh_write_atomic"]);
  });

  it("ignores comments, variables (for, read, arithmetic, expansions) and computed names", () => {
    const script = [
      "# mh_block_put is not called here",
      "for fw_b in a b; do echo $fw_b; done",
      "while read -r fw_v fw_w; do echo ${fw_v} $fw_w; done",
      "mh_n=$((mh_n + 1))",
      '"fw_${fw_b}_rules"',
    ].join("\n");
    expect(undefinedHelpers(script)).toEqual([]);
  });
});
