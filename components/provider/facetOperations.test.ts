/**
 * The facet operations' bookkeeping, with the SSH layer replaced by a host double that answers apply
 * and probe: what create, update, read and diff record about when apply last ran. Real hosts:
 * test/lab/provider.test.ts.
 */
import { hostfile } from "../facets/hostfile";
import { facetOperations, FacetInputs, FacetOutputs } from "./facetOperations";
import { facetRecord } from "./facetRecord";
import { Connection, RunResult } from "./remote";

/** The host double: apply prints a note, probe prints the declared file (the host converged). */
const ran: string[] = [];
/** The hostfile the double's probe prints: the rendered one (set below, once the fixture is rendered). */
let mockHostfile = "";
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
          : { code: 0, stdout: `${JSON.stringify({ hostfile_b64: Buffer.from(mockHostfile).toString("base64") })}\n`, stderr: "" },
      );
    }),
  };
});

const declared = { definition: hostfile, inputs: { host: "h", hosts: [{ name: "h", slots: 1 }] } };
const inputs: FacetInputs = facetRecord({
  ...declared,
  host: [declared],
  connection: {
    name: "h",
    address: "192.0.2.1",
    port: 22,
    user: "u",
    hostKeys: ["ssh-ed25519 AAAA"],
    connectTimeoutSeconds: 5,
  },
  secretEnv: {},
});
mockHostfile = inputs.state.hostfile as string;

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

describe("a connection's host keys are compared as sets", () => {
  const ED = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIED";
  const RSA = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQRSA";
  const ECDSA = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYECDSA";
  const OLD = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOLD";
  const withKeys = (hostKeys: string[], where: string, hostKeysFrom: string, jumpKeys: string[]): FacetInputs => ({
    ...inputs,
    connection: {
      ...inputs.connection,
      hostKeys,
      revokedKeys: [{ key: OLD, where }],
      hostKeysFrom,
      jump: { name: "gw", address: "192.0.2.9", port: 22, user: "u", hostKeys: jumpKeys, revokedKeys: [], hostKeysFrom },
    },
  });

  it("the same keys in another order, revoked on another line, listed elsewhere: no change (another machine's known_hosts)", async () => {
    const here = withKeys([RSA, ECDSA, ED], "~/.ssh/known_hosts:3", "listed in ~/.ssh/known_hosts", [ED, RSA]);
    const { id, outs } = (await facetOperations.create(here)) as { id: string; outs: FacetOutputs };
    const there = withKeys([ED, RSA, ECDSA, ED], "~/.ssh/known_hosts:12", "pinned in the stack config", [RSA, ED]);
    expect(await facetOperations.diff(id, outs, there)).toMatchObject({ changes: false });
  });

  it("another key, one key less, another revoked key, another bastion key: a change", async () => {
    const here = withKeys([RSA, ED], "kh:3", "listed in kh", [ED]);
    const { id, outs } = (await facetOperations.create(here)) as { id: string; outs: FacetOutputs };
    expect(await facetOperations.diff(id, outs, withKeys([RSA, ECDSA], "kh:3", "listed in kh", [ED]))).toMatchObject({ changes: true });
    expect(await facetOperations.diff(id, outs, withKeys([ED], "kh:3", "listed in kh", [ED]))).toMatchObject({ changes: true });
    expect(await facetOperations.diff(id, outs, withKeys([ED, RSA], "kh:3", "listed in kh", [RSA]))).toMatchObject({ changes: true });
    const revokedMore = withKeys([ED, RSA], "kh:3", "listed in kh", [ED]);
    revokedMore.connection.revokedKeys!.push({ key: ECDSA, where: "kh:4" });
    expect(await facetOperations.diff(id, outs, revokedMore)).toMatchObject({ changes: true });
  });

  it("a connection with one hostKey and no hostKeys (a format no release wrote) is no connection: a change, even against the same", async () => {
    const { id, outs } = (await facetOperations.create(inputs)) as { id: string; outs: FacetOutputs };
    const { hostKeys: _listed, ...rest } = inputs.connection;
    const single = { ...rest, hostKey: ED } as unknown as Connection;
    expect(await facetOperations.diff(id, { ...outs, connection: single }, { ...inputs, connection: single })).toMatchObject({
      changes: true,
    });
    const jumpSingle = { ...inputs.connection, jump: { ...single, name: "gw" } } as unknown as Connection;
    expect(await facetOperations.diff(id, { ...outs, connection: jumpSingle }, { ...inputs, connection: jumpSingle })).toMatchObject({
      changes: true,
    });
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

  it("rewrites a state that recorded the admin's private key (issue 12), and never logs in with that key", async () => {
    const { id, outs } = (await facetOperations.create(inputs)) as { id: string; outs: FacetOutputs };
    const recorded = { ...outs, connection: { ...outs.connection, privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nold\n" } };
    expect(await facetOperations.diff(id, recorded, inputs)).toMatchObject({ changes: true });
    expect(await facetOperations.diff(id, outs, inputs)).toMatchObject({ changes: false });

    connections.length = 0;
    await expect(facetOperations.read(id, recorded)).rejects.toThrow(/^h: hostfile: the state's connection has the key "privateKey"/);
    expect(connections).toEqual([]);
    const { outs: rewritten } = (await facetOperations.update(id, recorded, inputs)) as { outs: FacetOutputs };
    expect(JSON.stringify(rewritten)).not.toContain("PRIVATE KEY");
    expect(connections[0].login).not.toHaveProperty("recordedKey");
  });
});
