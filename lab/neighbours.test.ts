import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { fitNeighbourTable, neighbourEntriesNeeded, neighbourLimitsFor } from "./neighbours";

describe("the machine's neighbour table, sized for the labs", () => {
  test("counts per host one entry per peer and the gateway, plus the machine's side", () => {
    expect(neighbourEntriesNeeded([3])).toBe(12);
    expect(neighbourEntriesNeeded([50])).toBe(2550);
    expect(neighbourEntriesNeeded([50, 5])).toBe(2580);
    expect(neighbourEntriesNeeded([])).toBe(0);
  });

  test("raises the kernel's default limits for a 50-host lab, leaving twice the need below the hard limit", () => {
    expect(neighbourLimitsFor([50], { gcThresh2: 512, gcThresh3: 1024 })).toEqual({ gcThresh2: 2550, gcThresh3: 5100 });
  });

  test("never lowers limits that already fit (a 20-host lab fits the defaults)", () => {
    expect(neighbourLimitsFor([20], { gcThresh2: 512, gcThresh3: 1024 })).toEqual({ gcThresh2: 512, gcThresh3: 1024 });
    expect(neighbourLimitsFor([50], { gcThresh2: 9000, gcThresh3: 20000 })).toEqual({ gcThresh2: 9000, gcThresh3: 20000 });
  });

  test("writes only what must change, and says what it changed", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "neigh-"));
    fs.writeFileSync(path.join(dir, "gc_thresh2"), "512\n");
    fs.writeFileSync(path.join(dir, "gc_thresh3"), "1024\n");
    expect(fitNeighbourTable([5], dir)).toBeUndefined();
    expect(fitNeighbourTable([50], dir)).toMatch(/gc_thresh2 512 -> 2550, gc_thresh3 1024 -> 5100/);
    expect(fs.readFileSync(path.join(dir, "gc_thresh3"), "utf8")).toBe("5100");
    expect(fitNeighbourTable([50], dir)).toBeUndefined();
    fs.rmSync(dir, { recursive: true });
  });
});
