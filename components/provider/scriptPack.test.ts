import * as zlib from "zlib";
import { packHostProbes, packScripts, unpackHostProbes, unpackScripts } from "./scriptPack";

const scripts = { probe: "echo '{}'\n", apply: "printf 'héllo %s\\n' \"$1\"\n", remove: 'rm -f -- "$HOME/x"\n' };

describe("packed facet scripts", () => {
  it("come back byte for byte", () => {
    expect(unpackScripts(packScripts(scripts))).toEqual(scripts);
  });

  it("are the same string for the same scripts (no timestamp in the packed form), so an unchanged facet stays unchanged", () => {
    expect(packScripts({ ...scripts })).toBe(packScripts(scripts));
  });

  it("are much smaller than the text when the scripts share a library", () => {
    const lib = Array.from({ length: 300 }, (_, i) => `helper_${i}() { printf '%s\\n' "$1" | sed 's/a/b/' ; }`).join("\n");
    const big = { probe: `${lib}\nprobe`, apply: `${lib}\napply`, remove: `${lib}\nremove` };
    expect(packScripts(big).length).toBeLessThan(JSON.stringify(big).length / 5);
  });

  it("stay small when each script is bigger than gzip's 32 KB window (the firewall's are)", () => {
    // A library that does not compress much on its own (like real shell code), repeated in all three
    // scripts: only a compressor that sees the first copy while packing the third can drop the repeats.
    let seed = 1;
    const word = () => ((seed = (seed * 48271) % 2147483647) % 36 ** 6).toString(36);
    const lib = Array.from({ length: 800 }, (_, i) => `helper_${i}() { ${word()} "$1" | ${word()} '${word()}/${word()}'; }`).join("\n");
    expect(lib.length).toBeGreaterThan(32 * 1024);
    const big = { probe: `${lib}\nprobe`, apply: `${lib}\napply`, remove: `${lib}\nremove` };
    const text = JSON.stringify(big).length;
    expect(packScripts(big).length).toBeLessThan(text / 3);
  });

  it("refuse anything else, saying what they got: no released version wrote gzip or plain scripts (issue 17)", () => {
    expect(() => unpackScripts("echo hi")).toThrow(/not packed \(brotli\+base64:...\): "echo hi"/);
    expect(() => unpackScripts({ probe: "x" })).toThrow(/not packed/);
    expect(() => unpackScripts({ ...scripts })).toThrow(/not packed/);
    expect(() => unpackScripts(`gzip+base64:${zlib.gzipSync(JSON.stringify(scripts)).toString("base64")}`)).toThrow(/not packed/);
    const probes = { hostfile: { script: "cat ~/h\n", privileged: false } };
    expect(() => unpackHostProbes(`gzip+base64:${zlib.gzipSync(JSON.stringify(probes)).toString("base64")}`)).toThrow(/not packed/);
  });

  it("carry a host's probes, with whether each runs through sudo", () => {
    const probes = { firewall: { script: "nft list ruleset\n", privileged: true }, hostfile: { script: "cat ~/h\n", privileged: false } };
    expect(unpackHostProbes(packHostProbes(probes))).toEqual(probes);
    expect(() => unpackHostProbes("cat ~/h")).toThrow(/host probes are not packed/);
  });
});
