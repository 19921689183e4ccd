/** Runs a rendered facet's scripts on a lab host over SSH, the way the provider does. */
import { labJump } from "../../lab/bastion";
import type { Lab } from "../../lab/lab";
import { labLogin } from "../../lab/login";
import { decodeProbe, diffStates, Difference } from "../../components/facets/compare";
import { RenderedFacet } from "../../components/facets/facet";
import { Connection, runScript, RunResult } from "../../components/provider/remote";

export function connectionFor(lab: Lab, hostName: string): Connection {
  const host = lab.hosts.find((h) => h.name === hostName);
  if (!host) throw new Error(`no host ${hostName} in lab ${lab.name}`);
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
