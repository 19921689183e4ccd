/**
 * The provider plugin as the engine talks to it, in process and without an engine: the handlers on wire values
 * (secrets wrapped, unknowns as the sentinel) and, once, the gRPC service itself through a real client. The SSH layer
 * is a host double (as in ../facetOperations.test.ts); real hosts and the real engine: test/e2e.
 */
import * as grpc from "@grpc/grpc-js";
import * as structproto from "google-protobuf/google/protobuf/struct_pb";
import * as provproto from "@pulumi/pulumi/proto/provider_pb";
import * as provrpc from "@pulumi/pulumi/proto/provider_grpc_pb";
import { newEd25519KeyPair } from "../ed25519KeyPair";
import { clusterTrust } from "../../facets/clusterTrust";
import { hostfile } from "../../facets/hostfile";
import { facetRecord } from "../facetRecord";
import { Connection, RunResult } from "../remote";
import { handlers, isSecret, plain, Props, secret, SECRET_SIG, SECRET_SIG_KEY, UNKNOWN } from "./handlers";
import { service } from "./server";

/** The state the double's probe prints, by facet: what the fixture's render desires (the host converged). */
const mockDesired: Record<string, Record<string, string>> = {};
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
      return parts.map((p) => {
        const facet = p.step.split(" ")[0];
        if (p.step.endsWith(" apply")) return { code: 0, stdout: "", stderr: `mpi-hosts: ${facet}: wrote it\n` };
        const printed = Object.entries(mockDesired[facet]).map(([k, v]) => [`${k}_b64`, Buffer.from(v).toString("base64")]);
        return { code: 0, stdout: `${JSON.stringify(Object.fromEntries(printed))}\n`, stderr: "" };
      });
    }),
  };
});

const FACET_URN = "urn:pulumi:lab::mpi-hosts::mpi-hosts:index:MpiCluster$mpi-hosts:index:MpiHost$mpi-hosts:index:Facet::h-clusterTrust";
const KEY_URN = "urn:pulumi:lab::mpi-hosts::mpi-hosts:index:MpiCluster$mpi-hosts:index:ClusterKey::lab-cluster-key";
const CONNECTION = { name: "h", address: "192.0.2.1", port: 22, user: "u", hostKeys: ["ssh-ed25519 AAAA"], connectTimeoutSeconds: 5 };
const PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nk\n";

/** The declared inputs of the two facets of the fixture's host, as their definitions make them. */
const declared = (slots = 1) => [
  { definition: hostfile, inputs: { host: "h", hosts: [{ name: "h", slots }] } },
  {
    definition: clusterTrust,
    inputs: {
      host: "h",
      knownHosts: [{ names: "h,192.0.2.1", key: "ssh-ed25519 AAAA" }],
      from: "192.0.2.0/24",
      clusterPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK mpi-hosts cluster lab",
      keyGeneration: "1",
    },
  },
];

/**
 * A facet's inputs as the engine sends them (the record MpiHost declares: declared inputs, no script), the secret
 * environment wrapped as a secret: clusterTrust with the cluster key, or hostfile with none.
 */
function facetInputs(facet: "clusterTrust" | "hostfile" = "clusterTrust", slots = 1): Props {
  const host = declared(slots);
  const own = host.find((d) => d.definition.name === facet)!;
  const record = facetRecord({
    ...own,
    host,
    connection: CONNECTION,
    secretEnv: facet === "clusterTrust" ? { MPI_HOSTS_CLUSTER_KEY: PRIVATE_KEY } : {},
  });
  mockDesired[facet] = record.state as Record<string, string>;
  return { ...record, secretEnv: secret(record.secretEnv) } as unknown as Props;
}
const HOSTFILE_URN = FACET_URN.replace("h-clusterTrust", "h-hostfile");

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
    expect(id).toBe("h/clusterTrust");
    expect(envs).toContainEqual({ MPI_HOSTS_CLUSTER_KEY: PRIVATE_KEY });
    expect(isSecret(outs.secretEnv)).toBe(true);
    expect(plain(outs.secretEnv)).toEqual({ MPI_HOSTS_CLUSTER_KEY: PRIVATE_KEY });
    const { secretEnv: _secret, ...rest } = outs;
    expect(JSON.stringify(rest)).not.toContain(SECRET_SIG);
    expect(rest).toMatchObject({ host: "h", lastApply: "clusterTrust: wrote it" });
  });

  it("an empty secret environment is recorded as a secret too (which facets carry one is not told)", async () => {
    const { outs } = await handlers.create(HOSTFILE_URN, facetInputs("hostfile"));
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
const PAIR = newEd25519KeyPair("c");

describe("diff", () => {
  it("a ClusterKey is replaced when rotation changes, and only then", async () => {
    const olds = { comment: "c", rotation: "1", publicKey: PAIR.publicKey, privateKey: secret(PAIR.privateKey) };
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

  it("a Facet's change names the readable inputs that differ; the scripts' digest only when nothing readable changed", async () => {
    const { id, outs } = await handlers.create(HOSTFILE_URN, facetInputs("hostfile"));
    // The host's own slots are in its hostfile probe inputs too (hostFacets), so both show.
    expect(await handlers.diff(HOSTFILE_URN, id, outs, facetInputs("hostfile", 2))).toMatchObject({
      changes: true,
      diffs: ["state", "inputs", "hostFacets"],
    });
    const newCode = { ...facetInputs("hostfile"), scriptsDigest: `sha256:${"0".repeat(64)}` };
    expect(await handlers.diff(HOSTFILE_URN, id, outs, newCode)).toMatchObject({ changes: true, diffs: ["scriptsDigest"] });
    const moved = { ...facetInputs("hostfile"), connection: { ...CONNECTION, port: 2222 } };
    expect(await handlers.diff(HOSTFILE_URN, id, outs, moved)).toMatchObject({ changes: true, diffs: ["connection"] });
  });

  it("a Facet whose hostFacets alone differ is a change that `pulumi up` records without touching the host", async () => {
    const { id, outs } = await handlers.create(HOSTFILE_URN, facetInputs("hostfile"));
    // A sibling's probe inputs changed outside mpi-hosts, within the schema: a refresh would render that probe from them.
    const recorded = outs.hostFacets as Props;
    const tampered = { ...outs, hostFacets: { ...recorded, clusterTrust: { ...(recorded.clusterTrust as Props), from: "10.0.0.0/8" } } };
    const news = facetInputs("hostfile");
    expect(await handlers.diff(HOSTFILE_URN, id, tampered, news)).toMatchObject({ changes: true, diffs: ["hostFacets"] });
    connections.length = 0;
    const updated = await handlers.update(HOSTFILE_URN, id, tampered, news);
    expect(connections).toEqual([]);
    expect(plain(updated.hostFacets)).toEqual(plain(news.hostFacets));
    // The verification job re-runs on a changed appliedAt: a record-only update keeps it.
    expect(updated.appliedAt).toBe(outs.appliedAt);
    expect(await handlers.diff(HOSTFILE_URN, id, updated, news)).toMatchObject({ changes: false });
  });

  it("a Facet with nothing new has no change; an unknown input (preview before the cluster key exists) is a change", async () => {
    const { id, outs } = await handlers.create(FACET_URN, facetInputs());
    expect(await handlers.diff(FACET_URN, id, outs, facetInputs())).toMatchObject({ changes: false });
    const pending = { ...facetInputs(), inputs: UNKNOWN, scriptsDigest: UNKNOWN, secretEnv: secret(UNKNOWN) };
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
    const olds = { comment: "c", rotation: "1", publicKey: PAIR.publicKey, privateKey: secret(PAIR.privateKey), __provider: code };
    expect(await handlers.diff(KEY_URN, "cluster-key-1", olds, { comment: "c", rotation: "1" })).toEqual({
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
    });
    expect(await handlers.update(KEY_URN, "cluster-key-1", olds, { comment: "c", rotation: "1" })).toEqual({
      comment: "c",
      rotation: "1",
      publicKey: PAIR.publicKey,
      privateKey: secret(PAIR.privateKey),
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
