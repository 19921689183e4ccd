/**
 * pulumi-resource-mpi-hosts: Pulumi's ResourceProvider gRPC service for mpi-hosts:index:Facet and
 * mpi-hosts:index:ClusterKey (./handlers) and mpi-hosts:index:VerificationJob (./jobHandlers). The engine starts it (scripts/install-plugin.sh installs the launcher),
 * reads the port from its first line of stdout and stops it with SIGINT.
 *
 * It is the code of the checkout it was installed from: nothing of it is in the state (a dynamic provider's
 * serialized code was, and refresh and destroy ran it; issue 15). gRPC and the protobuf stubs are those of the
 * project's @pulumi/pulumi, so it speaks that SDK's protocol, as standins/command-provider does.
 */
import * as grpc from "@grpc/grpc-js";
import * as emptyproto from "google-protobuf/google/protobuf/empty_pb";
import * as structproto from "google-protobuf/google/protobuf/struct_pb";
import * as plugproto from "@pulumi/pulumi/proto/plugin_pb";
import * as provproto from "@pulumi/pulumi/proto/provider_pb";
import * as provrpc from "@pulumi/pulumi/proto/provider_grpc_pb";
import { DiffResult, handlers, Props, typeOfUrn } from "./handlers";
import { jobHandlers } from "./jobHandlers";
import { connectEngine, engineAddressOf } from "./engineLog";
import { PROVIDER_PACKAGE, PROVIDER_VERSION, VERIFICATION_JOB_TYPE } from "../resourceTypes";

function js(s: structproto.Struct | undefined): Props {
  return (s?.toJavaScript() ?? {}) as Props;
}

function struct(o: Props): structproto.Struct {
  // Drops undefined (Struct cannot hold it), as the SDK's own provider server does through JSON.
  return structproto.Struct.fromJavaScript(JSON.parse(JSON.stringify(o)));
}

function diffResponse(r: DiffResult): provproto.DiffResponse {
  const resp = new provproto.DiffResponse();
  resp.setChanges(r.changes ? provproto.DiffResponse.DiffChanges.DIFF_SOME : provproto.DiffResponse.DiffChanges.DIFF_NONE);
  resp.setReplacesList(r.replaces);
  resp.setDeletebeforereplace(r.deleteBeforeReplace);
  if (r.diffs) resp.setDiffsList(r.diffs);
  return resp;
}

/** The handlers of the resource's type: the verification job's own (./jobHandlers), the facets' and cluster key's. */
function handlersOf(urn: string): Pick<typeof handlers, "check" | "diff" | "create" | "update" | "read" | "delete"> {
  return typeOfUrn(urn) === VERIFICATION_JOB_TYPE ? jobHandlers : handlers;
}

type Handler<Req, Res> = (call: { request: Req }, callback: grpc.sendUnaryData<Res>) => void;

/** The handler's error goes to the engine as the operation's error (UNKNOWN: the engine shows the message). */
function unary<Req, Res>(fn: (req: Req) => Promise<Res> | Res): Handler<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => fn(call.request))
      .then(
        (r) => callback(null, r),
        (e: unknown) => callback({ code: grpc.status.UNKNOWN, details: e instanceof Error ? e.message : String(e) }),
      );
  };
}

export const service: Partial<provrpc.IResourceProviderServer> = {
  getPluginInfo: unary(() => {
    const r = new plugproto.PluginInfo();
    r.setVersion(PROVIDER_VERSION);
    return r;
  }),
  getSchema: unary(() => {
    const r = new provproto.GetSchemaResponse();
    r.setSchema(JSON.stringify({ name: PROVIDER_PACKAGE, version: PROVIDER_VERSION }));
    return r;
  }),
  checkConfig: unary(async (req: provproto.CheckRequest) => {
    const r = new provproto.CheckResponse();
    r.setInputs(struct(await handlers.checkConfig(js(req.getNews()))));
    return r;
  }),
  diffConfig: unary(async (req: provproto.DiffRequest) =>
    diffResponse(await handlers.diffConfig(js(req.getOldInputs() ?? req.getOlds()), js(req.getNews()))),
  ),
  configure: unary(async (req: provproto.ConfigureRequest) => {
    const variables: Record<string, string> = {};
    req.getVariablesMap().forEach((v, k) => (variables[k] = v));
    await handlers.configure(variables);
    await jobHandlers.configure(variables);
    const r = new provproto.ConfigureResponse();
    r.setAcceptsecrets(true);
    r.setAcceptresources(false);
    // No create/update in previews: a preview shows the diff only.
    r.setSupportspreview(false);
    r.setAcceptoutputs(false);
    return r;
  }),
  check: unary(async (req: provproto.CheckRequest) => {
    const r = new provproto.CheckResponse();
    r.setInputs(struct(await handlersOf(req.getUrn()).check(req.getUrn(), js(req.getNews()))));
    return r;
  }),
  diff: unary(async (req: provproto.DiffRequest) =>
    diffResponse(await handlersOf(req.getUrn()).diff(req.getUrn(), req.getId(), js(req.getOlds()), js(req.getNews()))),
  ),
  create: unary(async (req: provproto.CreateRequest) => {
    const { id, outs } = await handlersOf(req.getUrn()).create(req.getUrn(), js(req.getProperties()));
    const r = new provproto.CreateResponse();
    r.setId(id);
    r.setProperties(struct(outs));
    return r;
  }),
  update: unary(async (req: provproto.UpdateRequest) => {
    const r = new provproto.UpdateResponse();
    r.setProperties(struct(await handlersOf(req.getUrn()).update(req.getUrn(), req.getId(), js(req.getOlds()), js(req.getNews()))));
    return r;
  }),
  read: unary(async (req: provproto.ReadRequest) => {
    const r = new provproto.ReadResponse();
    r.setId(req.getId());
    r.setProperties(struct(await handlersOf(req.getUrn()).read(req.getUrn(), req.getId(), js(req.getProperties()))));
    // No inputs: the engine keeps the recorded ones (as with the dynamic provider).
    return r;
  }),
  delete: unary(async (req: provproto.DeleteRequest) => {
    await handlersOf(req.getUrn()).delete(req.getUrn(), req.getId(), js(req.getProperties()));
    return new emptyproto.Empty();
  }),
  cancel: unary(() => new emptyproto.Empty()),
};

/** Serves until the engine stops it; prints the port, and nothing else, on stdout. */
export function serve(): void {
  // The engine's address, for the verification job's progress lines (engineLog).
  connectEngine(engineAddressOf(process.argv.slice(2)));
  // Only the port may go to stdout (the engine reads it): anything else logged goes to stderr.
  console.log = console.error;
  console.info = console.error;
  const server = new grpc.Server({
    "grpc.max_receive_message_length": 400 * 1024 * 1024,
    "grpc.max_send_message_length": 400 * 1024 * 1024,
  });
  server.addService(provrpc.ResourceProviderService, service as provrpc.IResourceProviderServer);
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) {
      process.stderr.write(`pulumi-resource-mpi-hosts: could not start the provider's gRPC server: ${err.message}\n`);
      process.exit(1);
    }
    process.stdout.write(`${port}\n`);
  });
  const shutdown = () => {
    server.forceShutdown();
    process.exit(0);
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
}

if (require.main === module) serve();
