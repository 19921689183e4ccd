/**
 * Lines for `pulumi up`'s display, under a resource: the engine's Log RPC (Pulumi's Engine gRPC service, the
 * address the engine gives the plugin as its first argument), as the SDK's own providers and
 * standins/command-provider log. Without an address (in-process tests) the lines go nowhere.
 */
import * as grpc from "@grpc/grpc-js";
import * as engineproto from "@pulumi/pulumi/proto/engine_pb";
import * as enginerpc from "@pulumi/pulumi/proto/engine_grpc_pb";

export type LogLine = (urn: string, line: string) => Promise<void>;

let client: enginerpc.EngineClient | undefined;

/** The engine's address from the plugin's arguments: the first that is not a flag. */
export function engineAddressOf(argv: string[]): string | undefined {
  return argv.find((a) => !a.startsWith("-"));
}

export function connectEngine(address: string | undefined): void {
  client = address ? new enginerpc.EngineClient(address, grpc.credentials.createInsecure()) : undefined;
}

/** Logs one line at INFO under the resource; never fails (a lost line is not worth failing the job for). */
export const logLine: LogLine = (urn, line) => {
  const engine = client;
  if (!engine || !line) return Promise.resolve();
  const req = new engineproto.LogRequest();
  req.setSeverity(engineproto.LogSeverity.INFO);
  req.setMessage(line);
  req.setUrn(urn);
  req.setStreamid(0);
  req.setEphemeral(false);
  return new Promise((resolve) => engine.log(req, () => resolve()));
};
