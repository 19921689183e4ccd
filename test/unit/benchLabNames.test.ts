/**
 * The bench's labs are named after what they measure and the bench's process id: lab names are global on the
 * machine and startLab stops a lab of the same name first, so with fixed names (`verify-bench`, `bench-p5`, `soak`)
 * two people benching at once stopped each other's labs. The lab layer is replaced here by a recorder that starts
 * nothing (the measurements themselves run on real labs: npm run bench).
 */
import { benchLabName } from "../../bench/labName";
import { checkLabName } from "../../lab/names";

const started: string[] = [];
const stopped: string[] = [];
jest.mock("../../lab/harness/verifyLab", () => ({
  ...jest.requireActual("../../lab/harness/verifyLab"),
  startVerifyLab: async ({ name }: { name: string }) => {
    started.push(name);
    throw new Error("no lab in a unit test");
  },
}));
jest.mock("../../lab/lab", () => ({
  ...jest.requireActual("../../lab/lab"),
  stopLab: async (name: string) => void stopped.push(name),
}));
const soakOptions: Array<{ name: string }> = [];
jest.mock("../../bench/verify-soak", () => ({
  runVerifySoak: async (opts: { name: string }) => {
    soakOptions.push(opts);
    return 0;
  },
}));

beforeEach(() => {
  started.length = 0;
  stopped.length = 0;
  soakOptions.length = 0;
});

describe("a bench lab's name", () => {
  it("is what it measures and the process id, a lab name even for the longest at the largest Linux pid", () => {
    expect(benchLabName("verify-bench", 4242)).toBe("verify-bench-4242");
    expect(benchLabName("bench-p5")).toBe(`bench-p5-${process.pid}`);
    expect(benchLabName("bench-p5", 1)).not.toBe(benchLabName("bench-p5", 2));
    // pid_max is at most 2^22 (4194304); a bench size is at most MAX_HOSTS (200) hosts.
    for (const what of ["bench-p200", "bench-f200", "verify-bench", "concbench", "soak"])
      expect(checkLabName(benchLabName(what, 4194304))).toBeUndefined();
    expect(() => benchLabName("Bad_Name", 1)).toThrow(/^bench: lab name 'Bad_Name-1' must be/);
  });

  it("verify-failfast starts and stops its lab under the process's own name", async () => {
    const { runVerifyFailfast } = await import("../../bench/verify-failfast");
    const out = jest.spyOn(process.stdout, "write").mockImplementation(() => true);
    try {
      await expect(runVerifyFailfast()).rejects.toThrow("no lab in a unit test");
    } finally {
      out.mockRestore();
    }
    expect(started).toEqual([`verify-bench-${process.pid}`]);
    expect(stopped).toEqual([`verify-bench-${process.pid}`]);
  });

  it("concurrent-jobs too", async () => {
    const { runConcurrentJobs } = await import("../../bench/concurrent-jobs");
    await expect(runConcurrentJobs({ release: "trixie", rounds: 1, atOnce: 1 })).rejects.toThrow("no lab in a unit test");
    expect(started).toEqual([`concbench-${process.pid}`]);
    expect(stopped).toEqual([`concbench-${process.pid}`]);
  });

  it("verify-soak's lab defaults to soak-<pid>, and --name still names it", async () => {
    const { main } = await import("../../cli/main");
    expect(await main(["bench", "verify-soak", "--rounds", "1"])).toBe(0);
    expect(await main(["bench", "verify-soak", "--rounds", "1", "--name", "mine"])).toBe(0);
    expect(soakOptions.map((o) => o.name)).toEqual([`soak-${process.pid}`, "mine"]);
  });
});
