import { packHostProbes, packScripts, unpackHostProbes, unpackScripts } from "./scriptPack";

const scripts = { probe: "echo '{}'\n", apply: "printf 'héllo %s\\n' \"$1\"\n", remove: 'rm -f -- "$HOME/x"\n' };

describe("packed facet scripts", () => {
  it("come back byte for byte", () => {
    expect(unpackScripts(packScripts(scripts))).toEqual(scripts);
  });

  it("are the same string for the same scripts (no timestamp in the gzip header), so an unchanged facet stays unchanged", () => {
    expect(packScripts({ ...scripts })).toBe(packScripts(scripts));
  });

  it("are much smaller than the text when the scripts share a library", () => {
    const lib = Array.from({ length: 300 }, (_, i) => `helper_${i}() { printf '%s\\n' "$1" | sed 's/a/b/' ; }`).join("\n");
    const big = { probe: `${lib}\nprobe`, apply: `${lib}\napply`, remove: `${lib}\nremove` };
    expect(packScripts(big).length).toBeLessThan(JSON.stringify(big).length / 5);
  });

  it("are read from states written before packing (scripts as plain text)", () => {
    expect(unpackScripts({ ...scripts })).toEqual(scripts);
  });

  it("refuse anything else, saying what they got", () => {
    expect(() => unpackScripts("echo hi")).toThrow(/neither packed .* nor plain text: "echo hi"/);
    expect(() => unpackScripts({ probe: "x" })).toThrow(/neither packed/);
  });

  it("carry a host's probes, with whether each runs through sudo", () => {
    const probes = { firewall: { script: "nft list ruleset\n", privileged: true }, hostfile: { script: "cat ~/h\n", privileged: false } };
    expect(unpackHostProbes(packHostProbes(probes))).toEqual(probes);
    expect(() => unpackHostProbes("cat ~/h")).toThrow(/host probes are not packed/);
  });
});
