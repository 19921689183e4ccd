/**
 * The facet operations' bookkeeping, with the SSH layer replaced by a host double that answers apply
 * and probe: what create, update, read and diff record about when apply last ran. Real hosts:
 * test/lab/provider.test.ts.
 */
import { facetOperations, FacetInputs, FacetOutputs } from "./facetOperations";
import { Connection, RunResult } from "./remote";
import { packHostProbes, packScripts } from "./scriptPack";

/** The host double: apply prints a note, probe prints the declared file (the host converged). */
const ran: string[] = [];
/** The connection each round trip ran on (with the login the operations resolved for it). */
const connections: Connection[] = [];
jest.mock("./remote", () => {
  const actual = jest.requireActual("./remote");
  return {
    ...actual,
    runParts: jest.fn(async (conn: Connection, parts: Array<{ step: string }>): Promise<RunResult[]> => {
      connections.push(conn);
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
    hostKeys: ["ssh-ed25519 AAAA"],
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

describe("the login (issue 12): resolved by the provider at run time, never kept in the state", () => {
  const config = (values: Record<string, string>) => ({
    config: { get: (key: string) => values[key], require: (key: string) => values[key] },
  });

  it("logs in with what configure found in the stack config and the environment, and writes no key into the outputs", async () => {
    const previous = process.env.SSH_AUTH_SOCK;
    process.env.SSH_AUTH_SOCK = "/run/user/1000/agent.sock";
    try {
      await facetOperations.configure(
        config({ "mpi-hosts:ssh": JSON.stringify({ privateKeyPath: "/keys/admin" }), "mpi-hosts:sshKeyPassphrase": "pass phrase" }),
      );
    } finally {
      if (previous === undefined) delete process.env.SSH_AUTH_SOCK;
      else process.env.SSH_AUTH_SOCK = previous;
    }
    connections.length = 0;
    const { outs } = (await facetOperations.create(inputs)) as { outs: FacetOutputs };
    expect(connections[0].login).toEqual({ agentSocket: "/run/user/1000/agent.sock", keyFile: "/keys/admin", passphrase: "pass phrase" });
    expect(outs.connection).toEqual(inputs.connection);
    expect(JSON.stringify(outs)).not.toContain("pass phrase");
  });

  it("rewrites, once, a state that recorded the admin's private key, and falls back to that key only after its own", async () => {
    const { id, outs } = (await facetOperations.create(inputs)) as { id: string; outs: FacetOutputs };
    const recorded = { ...outs, connection: { ...outs.connection, privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nold\n" } };
    expect(await facetOperations.diff(id, recorded, inputs)).toMatchObject({ changes: true });
    expect(await facetOperations.diff(id, outs, inputs)).toMatchObject({ changes: false });

    connections.length = 0;
    const read = (await facetOperations.read(id, recorded)).props as FacetOutputs;
    expect(connections[0].login).toMatchObject({ keyFile: "/keys/admin", recordedKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nold\n" });
    expect(connections[0]).not.toHaveProperty("privateKey");
    const { outs: rewritten } = (await facetOperations.update(id, read, inputs)) as { outs: FacetOutputs };
    expect(JSON.stringify(rewritten)).not.toContain("PRIVATE KEY");
  });
});
