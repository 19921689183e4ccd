/**
 * A lab brought to the state `pulumi up` leaves (every facet applied through the facet provider, firewall
 * included), for the verification tests and the fail-fast benchmark. Also the by-hand breakages those tests
 * inflict, made as root from inside a host (rootExec), never through the product.
 */
import { parse } from "yaml";
import { loadClusterOrThrow, namespaceKeys } from "../../../components/config/load";
import { Cluster } from "../../../components/config/types";
import { renderHost } from "../../../components/facets";
import { CLUSTER_KEY_ENV } from "../../../components/facets/clusterTrust";
import { facetProvider, FacetInputs } from "../../../components/provider/facetProvider";
import { shellQuote } from "../../../components/render/shellQuote";
import { Lab, LabOptions, renderLabStack, rootExec, startLab } from "../../../lab/lab";
import { connectionFor } from "../facetRunner";

export interface VerifyLab {
  lab: Lab;
  cluster: Cluster;
}

/** The cluster the lab stands for (its stack file as `npm run lab -- up` writes it), with whole keys replaced by `overrides`. */
export function clusterOfLab(lab: Lab, overrides: Record<string, unknown> = {}): Cluster {
  const doc = parse(renderLabStack(lab)) as { config: Record<string, unknown> };
  const config = { ...doc.config };
  for (const [key, value] of Object.entries(overrides)) config[`mpi-hosts:${key}`] = value;
  return loadClusterOrThrow(namespaceKeys(config)).cluster;
}

/** Applies every facet of every host through the facet provider, as `pulumi up` would (hosts in parallel, facets in order). */
export async function applyAllFacets(lab: Lab, cluster: Cluster): Promise<void> {
  const { utils } = require("ssh2") as typeof import("ssh2");
  const pair = utils.generateKeyPairSync("ed25519", { comment: "mpi-hosts cluster" });
  const publicKey = pair.public.trim();
  await Promise.all(
    cluster.hosts.map(async (host) => {
      for (const facet of renderHost(cluster, host, publicKey)) {
        const inputs: FacetInputs = {
          host: host.name,
          facet: facet.facet,
          connection: connectionFor(lab, host.name),
          privileged: facet.privileged,
          scripts: facet.scripts,
          state: facet.desired,
          secretEnv: facet.secretEnv.includes(CLUSTER_KEY_ENV) ? { [CLUSTER_KEY_ENV]: pair.private } : {},
          timeoutSeconds: 300,
        };
        await facetProvider.create!(inputs);
      }
    }),
  );
}

/** Starts a lab and applies every facet; stops nothing (the caller's afterAll does). */
export async function startVerifyLab(options: LabOptions & { name: string }, overrides: Record<string, unknown> = {}): Promise<VerifyLab> {
  const lab = await startLab(options);
  const cluster = clusterOfLab(lab, overrides);
  await applyAllFacets(lab, cluster);
  return { lab, cluster };
}

function addressOf(lab: Lab, host: string): string {
  const found = lab.hosts.find((h) => h.name === host);
  if (!found) throw new Error(`no host ${host} in lab ${lab.name}`);
  return found.address;
}

async function rootRun(lab: Lab, host: string, script: string): Promise<string> {
  const result = await rootExec(lab, host, script);
  if (result.code !== 0) throw new Error(`rootExec on ${host} failed (exit ${result.code}):\n${script}\n${result.stderr}${result.stdout}`);
  return result.stdout;
}

const dropRule = (source: string, first: number, last: number) => `INPUT -s ${source} -p tcp --dport ${first}:${last} -j DROP`;

/** On `on`, drops new TCP connections to ports first-last from `from`'s address (iptables, ahead of every other rule). */
export async function blockPorts(lab: Lab, from: string, on: string, first: number, last: number): Promise<void> {
  await rootRun(lab, on, `iptables -I ${dropRule(addressOf(lab, from), first, last)}`);
}

export async function unblockPorts(lab: Lab, from: string, on: string, first: number, last: number): Promise<void> {
  await rootRun(
    lab,
    on,
    `while iptables -C ${dropRule(addressOf(lab, from), first, last)} 2>/dev/null; do iptables -D ${dropRule(addressOf(lab, from), first, last)}; done`,
  );
}

/** Edits a file of user mpi on `host` with a sed expression (as a person with an editor would), returning the old bytes. */
export async function editUserFile(lab: Lab, host: string, file: string, sedExpression: string): Promise<string> {
  const f = shellQuote(file);
  const before = await rootRun(lab, host, `base64 -w0 <${f}; cp -p ${f} ${f}.verify-test-backup`);
  await rootRun(lab, host, `sed -i ${shellQuote(sedExpression)} ${f}`);
  return Buffer.from(before, "base64").toString("utf8");
}

/** Puts back the bytes editUserFile saved. */
export async function restoreUserFile(lab: Lab, host: string, file: string): Promise<void> {
  const f = shellQuote(file);
  await rootRun(lab, host, `mv -f ${f}.verify-test-backup ${f}`);
}
