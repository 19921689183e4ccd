/** Runs a rendered facet's scripts on a lab host over SSH, the way the provider does. */
import { labJump } from "../bastion";
import type { Lab } from "../lab";
import { labLogin } from "../login";
import { decodeProbe, diffStates, Difference } from "../../components/facets/compare";
import { RenderedFacet } from "../../components/facets/facet";
import { Connection, runScript, RunResult } from "../../components/provider/remote";
import { labHost } from "./labHelpers";

export interface Probed {
  state: Record<string, unknown>;
  differences: Difference[];
}

/** How the lifecycle runs the facet's scripts; each throws when the script fails. apply and remove return stderr. */
export interface FacetDriver {
  probe(): Promise<Probed>;
  apply(): Promise<string>;
  remove(): Promise<string>;
}

export function connectionFor(lab: Lab, hostName: string): Connection {
  const host = labHost(lab, hostName);
  return {
    name: host.name,
    address: host.address,
    port: host.port,
    user: host.user,
    login: labLogin(lab),
    hostKeys: host.hostKeys,
    connectTimeoutSeconds: 10,
    ...labJump(lab, hostName),
  };
}

export async function runFacet(
  conn: Connection,
  facet: RenderedFacet,
  kind: "probe" | "apply" | "remove",
  env: Record<string, string> = {},
): Promise<RunResult> {
  const result = await runScript(conn, facet.scripts[kind], {
    sudo: kind === "probe" ? facet.probePrivileged : facet.privileged,
    env,
    step: `${facet.facet} ${kind}`,
    timeoutSeconds: 120,
  });
  if (result.code !== 0) {
    throw new Error(`${facet.facet} ${kind} on ${conn.name} exited ${result.code}:\n${result.stderr}${result.stdout}`);
  }
  return result;
}

export async function probe(conn: Connection, facet: RenderedFacet) {
  const state = decodeProbe((await runFacet(conn, facet, "probe")).stdout);
  return { state, differences: diffStates(facet.desired as never, state as never) as Difference[] };
}

/** The lifecycle's driver for a facet run over SSH as the provider runs it; `timed` records each step's duration. */
export function sshDriver(
  conn: Connection,
  facet: RenderedFacet,
  timed: <T>(label: string, fn: () => Promise<T>) => Promise<T> = (_label, fn) => fn(),
): FacetDriver {
  const label = `${facet.facet} on ${conn.name}`;
  return {
    probe: () => timed(`${label} probe`, () => probe(conn, facet)),
    apply: async () => (await timed(`${label} apply`, () => runFacet(conn, facet, "apply"))).stderr,
    remove: async () => (await timed(`${label} remove`, () => runFacet(conn, facet, "remove"))).stderr,
  };
}
