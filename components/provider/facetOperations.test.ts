/**
 * The facet operations' bookkeeping, with the SSH layer replaced by a host double that answers apply
 * and probe: what create, update, read and diff record about when apply last ran. Real hosts:
 * test/lab/provider.test.ts.
 */
import { facetOperations, FacetInputs, FacetOutputs } from "./facetOperations";
import { RunResult } from "./remote";
import { packHostProbes, packScripts } from "./scriptPack";

/** The host double: apply prints a note, probe prints the declared file (the host converged). */
const ran: string[] = [];
jest.mock("./remote", () => {
  const actual = jest.requireActual("./remote");
  return {
    ...actual,
    runParts: jest.fn(async (_conn: unknown, parts: Array<{ step: string }>): Promise<RunResult[]> => {
      ran.push(...parts.map((p) => p.step));
      return parts.map((p) =>
        p.step.endsWith(" apply")
          ? { code: 0, stdout: "", stderr: "mpi-hosts: hostfile: wrote ~/.mpi-hosts/hostfile\n" }
          : { code: 0, stdout: `${JSON.stringify({ hostfile_b64: Buffer.from("h slots=1\n").toString("base64") })}\n`, stderr: "" },
      );
    }),
  };
});

const inputs: FacetInputs = {
  host: "h",
  facet: "hostfile",
  hostProbes: packHostProbes({ hostfile: { script: "probe", privileged: false } }),
  connection: {
    name: "h",
    address: "192.0.2.1",
    port: 22,
    user: "u",
    privateKey: "k",
    hostKey: "ssh-ed25519 AAAA",
    connectTimeoutSeconds: 5,
  },
  privileged: false,
  scripts: packScripts({ probe: "probe", apply: "apply", remove: "remove" }),
  state: { hostfile: "h slots=1\n" },
  secretEnv: {},
  timeoutSeconds: 5,
};

afterEach(() => jest.useRealTimers());

describe("when apply last ran (appliedAt, the verification job's trigger)", () => {
  it("is stamped by create and again by each update; read keeps it and diff ignores it (no change without a difference)", async () => {
    jest.useFakeTimers({ now: new Date("2025-06-01T12:00:00Z"), doNotFake: ["nextTick", "setImmediate"] });
    const { id, outs } = (await facetOperations.create(inputs)) as { id: string; outs: FacetOutputs };
    expect(outs).toMatchObject({ lastApply: "hostfile: wrote ~/.mpi-hosts/hostfile", appliedAt: "2025-06-01T12:00:00.000Z" });

    jest.setSystemTime(new Date("2025-06-01T13:00:00Z"));
    const read = (await facetOperations.read(id, outs)).props as FacetOutputs;
    expect(read.appliedAt).toBe("2025-06-01T12:00:00.000Z");
    expect(await facetOperations.diff(id, read, inputs)).toMatchObject({ changes: false });

    // A repair: the host differs, update applies, the stamp moves.
    const drifted = { ...read, state: { hostfile: "edited by hand\n" } };
    expect(await facetOperations.diff(id, drifted, inputs)).toMatchObject({ changes: true });
    const { outs: repaired } = (await facetOperations.update(id, drifted, inputs)) as { outs: FacetOutputs };
    expect(repaired.appliedAt).toBe("2025-06-01T13:00:00.000Z");
    expect(await facetOperations.diff(id, repaired, inputs)).toMatchObject({ changes: false });
    expect(ran).toEqual(["hostfile apply", "hostfile probe", "hostfile probe", "hostfile apply", "hostfile probe"]);
  });

  it("is missing from a state written before it: that state is applied once (a no-change apply), so previews see a known stamp", async () => {
    const { id, outs } = (await facetOperations.create(inputs)) as { id: string; outs: FacetOutputs };
    const { appliedAt: _dropped, ...older } = outs;
    expect(await facetOperations.diff(id, older, inputs)).toMatchObject({ changes: true });
  });
});
