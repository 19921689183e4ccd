/**
 * The provider plugin as the engine talks to it, in process and without an engine: the handlers on wire values
 * (secrets wrapped, unknowns as the sentinel) and, once, the gRPC service itself through a real client. The SSH layer
 * is a host double (as in ../facetOperations.test.ts); real hosts and the real engine: test/e2e.
 */
import * as grpc from "@grpc/grpc-js";
import * as structproto from "google-protobuf/google/protobuf/struct_pb";
import * as provproto from "@pulumi/pulumi/proto/provider_pb";
import * as provrpc from "@pulumi/pulumi/proto/provider_grpc_pb";
import { utils } from "ssh2";
import { Connection, RunResult } from "../remote";
import { packHostProbes, packScripts } from "../scriptPack";
import { handlers, isSecret, plain, Props, secret, SECRET_SIG, SECRET_SIG_KEY, UNKNOWN } from "./handlers";
import { service } from "./server";

/** What each round trip to the host double ran on, and the environment its parts got. */
const connections: Connection[] = [];
const envs: Array<Record<string, string> | undefined> = [];
jest.mock("../remote", () => {
  const actual = jest.requireActual("../remote");
  return {
    ...actual,
    runParts: jest.fn(async (conn: Connection, parts: Array<{ step: string; env?: Record<string, string> }>): Promise<RunResult[]> => {
      connections.push(conn);
      envs.push(...parts.map((p) => p.env));
      return parts.map((p) =>
        p.step.endsWith(" apply")
          ? { code: 0, stdout: "", stderr: "mpi-hosts: hostfile: wrote ~/.mpi-hosts/hostfile\n" }
          : { code: 0, stdout: `${JSON.stringify({ hostfile_b64: Buffer.from("h slots=1\n").toString("base64") })}\n`, stderr: "" },
      );
    }),
  };
});

const FACET_URN = "urn:pulumi:lab::mpi-hosts::mpi-hosts:index:MpiCluster$mpi-hosts:index:MpiHost$mpi-hosts:index:Facet::h-hostfile";
const KEY_URN = "urn:pulumi:lab::mpi-hosts::mpi-hosts:index:MpiCluster$mpi-hosts:index:ClusterKey::lab-cluster-key";

/** A facet's inputs as the engine sends them: the secret environment wrapped as a secret. */
function facetInputs(secretEnv: Record<string, string> = { MPI_HOSTS_CLUSTER_KEY: "-----BEGIN OPENSSH PRIVATE KEY-----\nk\n" }): Props {
  return {
    host: "h",
    facet: "hostfile",
    hostProbes: packHostProbes({ hostfile: { script: "probe", privileged: false } }),
    connection: { name: "h", address: "192.0.2.1", port: 22, user: "u", hostKeys: ["ssh-ed25519 AAAA"], connectTimeoutSeconds: 5 },
    privileged: false,
    scripts: packScripts({ probe: "probe", apply: "apply", remove: "remove" }),
    state: { hostfile: "h slots=1\n" },
    secretEnv: secret(secretEnv),
    timeoutSeconds: 5,
  };
}

beforeEach(() => {
  connections.length = 0;
  envs.length = 0;
});

describe("configure: the stack config of the mpi-hosts namespace, as the engine sends it", () => {
  it("reads `mpi-hosts:config:<key>` variables (objects as JSON) as the login's sources, and ignores other packages' keys", async () => {
    const previous = process.env.SSH_AUTH_SOCK;
    process.env.SSH_AUTH_SOCK = "/run/agent.sock";
    try {
      await handlers.configure({
        "mpi-hosts:config:ssh": JSON.stringify({ user: "mpi", privateKeyPath: "/keys/admin" }),
        "mpi-hosts:config:sshKeyPassphrase": "pass phrase",
        "other:config:sshKeyPassphrase": "not ours",
      });
    } finally {
      if (previous === undefined) delete process.env.SSH_AUTH_SOCK;
      else process.env.SSH_AUTH_SOCK = previous;
    }
    await handlers.create(FACET_URN, facetInputs());
    expect(connections[0].login).toEqual({ agentSocket: "/run/agent.sock", keyFile: "/keys/admin", passphrase: "pass phrase" });
  });

  it("a changed config is an update of the provider, never a replacement (which would replace every facet)", async () => {
    expect(await handlers.diffConfig({ ssh: '{"user":"a"}', version: "0.1.0" }, { ssh: '{"user":"b"}', version: "0.1.0" })).toEqual({
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
    });
    const same = { ssh: '{"user":"a"}', sshPrivateKey: secret("k") };
    expect(await handlers.diffConfig(same, { sshPrivateKey: secret("k"), ssh: '{"user":"a"}' })).toMatchObject({ changes: false });
  });

  it("checkConfig keeps the config as given, secrets included", async () => {
    const news = { ssh: '{"user":"a"}', sshPrivateKey: secret("k") };
    expect(await handlers.checkConfig(news)).toEqual(news);
  });
});

describe("secrets stay secrets", () => {
  it("a Facet's operations get the secret environment in plain; the outputs record it as a secret, the rest in plain", async () => {
    const { id, outs } = await handlers.create(FACET_URN, facetInputs());
    expect(id).toBe("h/hostfile");
    expect(envs).toContainEqual({ MPI_HOSTS_CLUSTER_KEY: "-----BEGIN OPENSSH PRIVATE KEY-----\nk\n" });
    expect(isSecret(outs.secretEnv)).toBe(true);
    expect(plain(outs.secretEnv)).toEqual({ MPI_HOSTS_CLUSTER_KEY: "-----BEGIN OPENSSH PRIVATE KEY-----\nk\n" });
    const { secretEnv: _secret, ...rest } = outs;
    expect(JSON.stringify(rest)).not.toContain(SECRET_SIG);
    expect(rest).toMatchObject({ host: "h", lastApply: "hostfile: wrote ~/.mpi-hosts/hostfile" });
  });

  it("an empty secret environment is recorded as a secret too (which facets carry one is not told)", async () => {
    const { outs } = await handlers.create(FACET_URN, facetInputs({}));
    expect(outs.secretEnv).toEqual(secret({}));
  });

  it("read and update give back a Facet's secret environment as a secret", async () => {
    const { id, outs } = await handlers.create(FACET_URN, facetInputs());
    expect(isSecret((await handlers.read(FACET_URN, id, outs)).secretEnv)).toBe(true);
    expect(isSecret((await handlers.update(FACET_URN, id, outs, facetInputs())).secretEnv)).toBe(true);
  });

  it("a ClusterKey's private key is recorded as a secret, even when no input was secret; its public key is not", async () => {
    const { id, outs } = await handlers.create(KEY_URN, { comment: "mpi-hosts cluster lab", rotation: "1" });
    expect(id).toBe("cluster-key-1");
    expect(isSecret(outs.privateKey)).toBe(true);
    expect(plain<string>(outs.privateKey)).toContain("BEGIN OPENSSH PRIVATE KEY");
    expect(outs.publicKey).toMatch(/^ssh-ed25519 \S+ mpi-hosts cluster lab$/);
    // Refresh keeps what was recorded (the pair exists only in the state).
    expect(await handlers.read(KEY_URN, id, outs)).toEqual(outs);
  });
});

describe("how the plugin logs in is its own, never the state's", () => {
  it("a connection.login written into a state (a key file, an agent socket) reaches no operation", async () => {
    const planted = { keyFile: "/tmp/planted_key", agentSocket: "/tmp/planted.sock" };
    const inputs = facetInputs();
    const { id, outs } = await handlers.create(FACET_URN, { ...inputs, connection: { ...(inputs.connection as Props), login: planted } });
    await handlers.read(FACET_URN, id, { ...outs, connection: { ...(outs.connection as Props), login: planted } });
    expect(connections.length).toBeGreaterThan(0);
    for (const c of connections) expect(JSON.stringify(c.login ?? {})).not.toContain("planted");
  });
});

/** A recorded cluster key pair: one pair (the ClusterKey refuses halves that do not belong together). */
const PAIR = utils.generateKeyPairSync("ed25519", { comment: "c" });

describe("diff", () => {
  it("a ClusterKey is replaced when rotation changes, and only then", async () => {
    const olds = { comment: "c", rotation: "1", publicKey: PAIR.public, privateKey: secret(PAIR.private) };
    expect(await handlers.diff(KEY_URN, "cluster-key-1", olds, { comment: "c", rotation: "2" })).toEqual({
      changes: true,
      replaces: ["rotation"],
      deleteBeforeReplace: false,
    });
    expect(await handlers.diff(KEY_URN, "cluster-key-1", olds, { comment: "another comment", rotation: "1" })).toMatchObject({
      changes: false,
      replaces: [],
    });
  });

  it("a Facet's change names the readable inputs that differ; the packed scripts only when nothing readable changed", async () => {
    const { id, outs } = await handlers.create(FACET_URN, facetInputs());
    const newState = {
      ...facetInputs(),
      state: { hostfile: "h slots=2\n" },
      scripts: packScripts({ probe: "probe", apply: "apply 2", remove: "remove" }),
    };
    expect(await handlers.diff(FACET_URN, id, outs, newState)).toMatchObject({ changes: true, diffs: ["state"] });
    const newCode = { ...facetInputs(), scripts: packScripts({ probe: "probe", apply: "apply 2", remove: "remove" }) };
    expect(await handlers.diff(FACET_URN, id, outs, newCode)).toMatchObject({ changes: true, diffs: ["scripts"] });
    const moreTime = { ...newState, timeoutSeconds: 60 };
    expect(await handlers.diff(FACET_URN, id, outs, moreTime)).toMatchObject({ diffs: ["state", "timeoutSeconds"] });
  });

  it("a Facet with nothing new has no change; an unknown input (preview before the cluster key exists) is a change", async () => {
    const { id, outs } = await handlers.create(FACET_URN, facetInputs());
    expect(await handlers.diff(FACET_URN, id, outs, facetInputs())).toMatchObject({ changes: false });
    const pending = { ...facetInputs(), scripts: UNKNOWN, secretEnv: secret(UNKNOWN) };
    expect(await handlers.diff(FACET_URN, id, outs, pending)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
  });
});

describe("a resource carried over from a dynamic provider's state (aliases)", () => {
  const code = "exports.handler = __f0;\nfunction __f0() { return require('child_process'); }";

  it("a Facet is updated once (an apply that finds nothing to do), and its outputs hold no code", async () => {
    const { id, outs } = await handlers.create(FACET_URN, facetInputs());
    const carried = { ...outs, __provider: code };
    expect(await handlers.diff(FACET_URN, id, carried, facetInputs())).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    expect(await handlers.update(FACET_URN, id, carried, facetInputs())).not.toHaveProperty("__provider");
  });

  it("a ClusterKey keeps its key pair and loses the code; a new rotation still replaces it", async () => {
    const olds = { comment: "c", rotation: "1", publicKey: PAIR.public, privateKey: secret(PAIR.private), __provider: code };
    expect(await handlers.diff(KEY_URN, "cluster-key-1", olds, { comment: "c", rotation: "1" })).toEqual({
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
    });
    expect(await handlers.update(KEY_URN, "cluster-key-1", olds, { comment: "c", rotation: "1" })).toEqual({
      comment: "c",
      rotation: "1",
      publicKey: PAIR.public,
      privateKey: secret(PAIR.private),
    });
    expect(await handlers.diff(KEY_URN, "cluster-key-1", olds, { comment: "c", rotation: "2" })).toMatchObject({ replaces: ["rotation"] });
  });
});

it("a type the plugin does not serve is refused, naming it and the types it serves", async () => {
  await expect(handlers.check("urn:pulumi:s::p::pulumi-nodejs:dynamic:Resource::x", {})).rejects.toThrow(
    "pulumi-resource-mpi-hosts: unknown resource type pulumi-nodejs:dynamic:Resource (urn:pulumi:s::p::pulumi-nodejs:dynamic:Resource::x); it serves mpi-hosts:index:Facet, mpi-hosts:index:ClusterKey",
  );
});

describe("the gRPC service, through a real client", () => {
  let server: grpc.Server;
  let client: provrpc.ResourceProviderClient;

  beforeAll(async () => {
    server = new grpc.Server();
    server.addService(provrpc.ResourceProviderService, service as provrpc.IResourceProviderServer);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });

  afterAll(() => {
    client.close();
    server.forceShutdown();
  });

  it("configure accepts secrets and asks for no preview; create answers with the id and the private key as a secret", async () => {
    const configure = new provproto.ConfigureRequest();
    configure.getVariablesMap().set("mpi-hosts:config:ssh", "{}");
    const configured = await new Promise<provproto.ConfigureResponse>((resolve, reject) =>
      client.configure(configure, (err, r) => (err ? reject(err) : resolve(r!))),
    );
    expect({ secrets: configured.getAcceptsecrets(), preview: configured.getSupportspreview() }).toEqual({ secrets: true, preview: false });

    const create = new provproto.CreateRequest();
    create.setUrn(KEY_URN);
    create.setProperties(structproto.Struct.fromJavaScript({ comment: "c", rotation: "7" }));
    const created = await new Promise<provproto.CreateResponse>((resolve, reject) =>
      client.create(create, (err, r) => (err ? reject(err) : resolve(r!))),
    );
    expect(created.getId()).toBe("cluster-key-7");
    const props = created.getProperties()!.toJavaScript() as Props;
    expect((props.privateKey as Props)[SECRET_SIG_KEY]).toBe(SECRET_SIG);
    expect(props).toMatchObject({ comment: "c", rotation: "7" });
  });

  it("an operation's error reaches the engine with its message", async () => {
    const check = new provproto.CheckRequest();
    check.setUrn("urn:pulumi:s::p::other:index:Thing::x");
    check.setNews(structproto.Struct.fromJavaScript({}));
    const err = await new Promise<grpc.ServiceError>((resolve) => client.check(check, (e) => resolve(e!)));
    expect(err.details).toMatch(/^pulumi-resource-mpi-hosts: unknown resource type other:index:Thing/);
  });
});
