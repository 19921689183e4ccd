/**
 * Issue 15, R4: the verification job is a resource of the mpi-hosts plugin (mpi-hosts:index:VerificationJob), not a
 * @pulumi/command remote.Command, whose Delete ran the `delete` command a state recorded, on the connection the state
 * recorded (pulumi-command v1.2.1 provider/pkg/provider/remote/commandController.go), at `pulumi destroy` and at
 * every re-run of the job. Here the plugin's gRPC service, through a real client, as the engine calls it; the SSH
 * layer is replaced by a recorder of what would run where (the real hosts and engine: test/e2e/jobState.test.ts).
 */
import * as grpc from "@grpc/grpc-js";
import * as emptyproto from "google-protobuf/google/protobuf/empty_pb";
import * as structproto from "google-protobuf/google/protobuf/struct_pb";
import * as engineproto from "@pulumi/pulumi/proto/engine_pb";
import * as enginerpc from "@pulumi/pulumi/proto/engine_grpc_pb";
import * as provproto from "@pulumi/pulumi/proto/provider_pb";
import * as provrpc from "@pulumi/pulumi/proto/provider_grpc_pb";
import { loadClusterOrThrow, readStackFile } from "../../components/config/load";
import type { Connection, RunOptions, RunResult } from "../../components/provider/remote";
import { Props, UNKNOWN } from "../../components/provider/plugin/handlers";
import { service } from "../../components/provider/plugin/server";
import { connectEngine } from "../../components/provider/plugin/engineLog";
import { jobInputsOf } from "../../components/verify/jobInputs";
import { renderVerifyScript } from "../../components/verify/script";

/** Every script the plugin would have run, and where. */
const runs: Array<{ conn: Connection; script: string; options: RunOptions }> = [];
let answer: RunResult = { code: 0, stdout: "", stderr: "" };
jest.mock("../../components/provider/remote", () => {
  const actual = jest.requireActual("../../components/provider/remote");
  const record = (what: string) =>
    jest.fn(async (conn: Connection, script: unknown, options: RunOptions) => {
      runs.push({ conn, script: typeof script === "string" ? script : `${what}: ${JSON.stringify(script)}`, options });
      for (const line of answer.stderr.split("\n").filter(Boolean)) options?.onStderrLine?.(line);
      return what === "runParts" ? [answer] : answer;
    });
  return { ...actual, runScript: record("runScript"), runParts: record("runParts") };
});

const JOB_URN = "urn:pulumi:lab::mpi-hosts::mpi-hosts:index:MpiCluster$mpi-hosts:index:VerificationJob::lab-verify";
const REPORT = '{"version":1,"ok":true}';
const cluster = loadClusterOrThrow(readStackFile("Pulumi.example.yaml")).cluster;
const FINGERPRINT = "a".repeat(64);

function programInputs(appliedAt: Record<string, string> = { "linux1/python": "2026-12-02T04:00:00.000Z" }): Props {
  return JSON.parse(JSON.stringify(jobInputsOf(cluster, FINGERPRINT, appliedAt))) as Props;
}

/** A job record as the old provider ran it: what a state writer adds to make Delete (or a re-run) run a command. */
function tamperedRecord(): Props {
  return {
    ...programInputs(),
    stdout: `${REPORT}\n`,
    ranAt: "2026-12-02T04:01:00.000Z",
    delete: "id -u > /tmp/pwned-job",
    create: "id -u > /tmp/pwned-create",
    update: "id -u > /tmp/pwned-update",
    stdin: "id -u > /tmp/pwned-stdin",
    environment: { BASH_ENV: "/tmp/x" },
    interpreter: ["/bin/sh", "-c"],
    connection: { host: "192.0.2.66", port: 22, user: "root", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n" },
  };
}

let server: grpc.Server;
let client: provrpc.ResourceProviderClient;
let engine: grpc.Server;
const logged: Array<{ urn: string; message: string; severity: number }> = [];

function call<Req, Res>(method: (req: Req, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => method.call(client, req, (err, res) => (err ? reject(err) : resolve(res!))));
}

const struct = (o: Props) => structproto.Struct.fromJavaScript(o as Record<string, structproto.JavaScriptValue>);

async function create(props: Props): Promise<{ id: string; outs: Props }> {
  const req = new provproto.CreateRequest();
  req.setUrn(JOB_URN);
  req.setProperties(struct(props));
  const r = await call<provproto.CreateRequest, provproto.CreateResponse>(client.create, req);
  return { id: r.getId(), outs: r.getProperties()!.toJavaScript() as Props };
}

beforeAll(async () => {
  const bind = (s: grpc.Server) =>
    new Promise<number>((resolve, reject) =>
      s.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
  // The engine's side of the Log RPC: what `pulumi up` would print under the job.
  engine = new grpc.Server();
  engine.addService(enginerpc.EngineService, {
    log: (c: { request: engineproto.LogRequest }, cb: grpc.sendUnaryData<emptyproto.Empty>) => {
      logged.push({ urn: c.request.getUrn(), message: c.request.getMessage(), severity: c.request.getSeverity() });
      cb(null, new emptyproto.Empty());
    },
  } as unknown as enginerpc.IEngineServer);
  connectEngine(`127.0.0.1:${await bind(engine)}`);
  server = new grpc.Server();
  server.addService(provrpc.ResourceProviderService, service as provrpc.IResourceProviderServer);
  client = new provrpc.ResourceProviderClient(`127.0.0.1:${await bind(server)}`, grpc.credentials.createInsecure());
  const configure = new provproto.ConfigureRequest();
  configure.getVariablesMap().set("mpi-hosts:config:ssh", JSON.stringify({ privateKeyPath: "/home/admin/.ssh/mpi_ed25519" }));
  await call<provproto.ConfigureRequest, provproto.ConfigureResponse>(client.configure, configure);
});

afterAll(() => {
  client.close();
  server.forceShutdown();
  engine.forceShutdown();
  connectEngine(undefined);
});

beforeEach(() => {
  runs.length = 0;
  logged.length = 0;
  answer = { code: 0, stdout: `${REPORT}\n`, stderr: "mpi-hosts verify: preflight ok\nmpi-hosts verify: ok (5 hosts)\n" };
});

describe("the verification job's Delete (pulumi destroy, and every re-run of the job)", () => {
  it("runs nothing and connects nowhere, whatever the state holds (delete, create, stdin, a connection with a key)", async () => {
    const req = new provproto.DeleteRequest();
    req.setUrn(JOB_URN);
    req.setId("linux1/verify/2026-12-02T04:01:00.000Z/00000000");
    req.setProperties(struct(tamperedRecord()));
    req.setOldInputs(struct(tamperedRecord()));
    await call<provproto.DeleteRequest, emptyproto.Empty>(client.delete, req);
    expect(runs).toEqual([]);
  });
});

describe("the verification job's create", () => {
  it("runs the script the installed code renders from the program's inputs, on the head host, logged in as the plugin is", async () => {
    const { id, outs } = await create(programInputs());
    expect(runs).toHaveLength(1);
    const [run] = runs;
    expect(run.script).toBe(renderVerifyScript(cluster, { reportOnFailure: false }));
    expect(run.conn).toMatchObject({ name: "linux1", address: "128.5.5.21", port: 2400, user: "mpi", hostKeys: cluster.hosts[2].hostKeys });
    // The login is the provider's config (Configure), never anything of the inputs or a state.
    expect(run.conn.login).toEqual(expect.objectContaining({ keyFile: "/home/admin/.ssh/mpi_ed25519" }));
    expect(id).toMatch(/^linux1\/verify\//);
    expect(outs.stdout).toBe(`${REPORT}\n`);
  });

  it("records no script, no command and no key: the inputs as declared, the report, when it ran", async () => {
    const { outs } = await create(programInputs());
    expect(Object.keys(outs).sort()).toEqual(["appliedAt", "cluster", "connection", "fingerprint", "ranAt", "stdout"]);
    const text = JSON.stringify(outs);
    expect(text).not.toMatch(/#!|mpirun|PRIVATE KEY|privateKey|login|sh -s/);
  });

  it("streams the job's progress lines (stderr) into the engine's display under the job's URN, and not its report", async () => {
    await create(programInputs());
    expect(logged).toEqual([
      { urn: JOB_URN, message: "mpi-hosts verify: preflight ok", severity: engineproto.LogSeverity.INFO },
      { urn: JOB_URN, message: "mpi-hosts verify: ok (5 hosts)", severity: engineproto.LogSeverity.INFO },
    ]);
  });

  it("fails as the @pulumi/command job failed: exit status, where, and what the job said", async () => {
    answer = { code: 1, stdout: "", stderr: "mpi-hosts verify: FAILED at stage tcp (1 failure)\n" };
    await expect(create(programInputs())).rejects.toMatchObject({
      details: 'Process exited with status 1: running "sh -s" on mpi@128.5.5.21:2400:\nmpi-hosts verify: FAILED at stage tcp (1 failure)\n',
    });
  });

  it.each<[string, (p: Props) => void]>([
    ["a delete command", (p) => (p.delete = "id -u > /tmp/pwned-job")],
    ["a script", (p) => (p.stdin = "id -u > /tmp/pwned")],
    ["a host name that breaks out of the script", (p) => ((p.cluster as any).hosts[0].name = "mac1\nid -u > /tmp/pwned #")],
    ["a key in the connection", (p) => ((p.connection as any).privateKey = "-----BEGIN OPENSSH PRIVATE KEY-----")],
  ])("refuses inputs with %s, at Check and at create, and runs nothing", async (_what, edit) => {
    const inputs = programInputs();
    edit(inputs);
    const check = new provproto.CheckRequest();
    check.setUrn(JOB_URN);
    check.setNews(struct(inputs));
    await expect(call(client.check, check)).rejects.toMatchObject({
      details: expect.stringContaining("the verification job's inputs are not what mpi-hosts declares"),
    });
    await expect(create(inputs)).rejects.toMatchObject({ details: expect.stringContaining("nothing was run") });
    expect(runs).toEqual([]);
  });

  it("accepts, at Check, a preview's unknown stamp of a facet that will apply", async () => {
    const check = new provproto.CheckRequest();
    check.setUrn(JOB_URN);
    check.setNews(struct({ ...programInputs(), appliedAt: { "linux1/python": UNKNOWN } }));
    await expect(call(client.check, check)).resolves.toBeDefined();
  });
});

describe("the verification job's re-run and diff", () => {
  it("is a replacement naming the input that changed, also when a stamp is still unknown (a preview)", async () => {
    const diff = async (olds: Props, news: Props) => {
      const req = new provproto.DiffRequest();
      req.setUrn(JOB_URN);
      req.setId("x");
      req.setOlds(struct(olds));
      req.setNews(struct(news));
      const r = await call<provproto.DiffRequest, provproto.DiffResponse>(client.diff, req);
      return { changes: r.getChanges(), replaces: r.getReplacesList(), diffs: r.getDiffsList() };
    };
    const recorded = { ...programInputs(), stdout: REPORT, ranAt: "2026-12-02T04:01:00.000Z" };
    expect(await diff(recorded, programInputs())).toEqual({
      changes: provproto.DiffResponse.DiffChanges.DIFF_NONE,
      replaces: [],
      diffs: [],
    });
    const some = provproto.DiffResponse.DiffChanges.DIFF_SOME;
    expect(await diff(recorded, { ...programInputs(), appliedAt: { "linux1/python": UNKNOWN } })).toEqual({
      changes: some,
      replaces: ["appliedAt"],
      diffs: ["appliedAt"],
    });
    expect(await diff(tamperedRecord(), programInputs())).toMatchObject({ changes: some, replaces: ["connection"] });
  });

  it("an update (should the engine ask for one) runs from the program's inputs, never the recorded ones", async () => {
    const req = new provproto.UpdateRequest();
    req.setUrn(JOB_URN);
    req.setId("x");
    req.setOlds(struct(tamperedRecord()));
    req.setNews(struct(programInputs()));
    await call<provproto.UpdateRequest, provproto.UpdateResponse>(client.update, req);
    expect(runs.map((r) => [r.conn.address, r.conn.user, r.script === renderVerifyScript(cluster, { reportOnFailure: false })])).toEqual([
      ["128.5.5.21", "mpi", true],
    ]);
  });

  it("Read returns the record without what a state added (a refresh keeps no foreign command), and runs nothing", async () => {
    const req = new provproto.ReadRequest();
    req.setUrn(JOB_URN);
    req.setId("x");
    req.setProperties(struct(tamperedRecord()));
    const r = await call<provproto.ReadRequest, provproto.ReadResponse>(client.read, req);
    expect(Object.keys(r.getProperties()!.toJavaScript()).sort()).toEqual([
      "appliedAt",
      "cluster",
      "connection",
      "fingerprint",
      "ranAt",
      "stdout",
    ]);
    expect(runs).toEqual([]);
  });
});
