/**
 * A lab brought to the state `pulumi up` leaves (every facet applied through the facet provider, firewall
 * included), for the verification tests and the fail-fast benchmark. Also the by-hand breakages those tests
 * inflict, made as root from inside a host (rootExec), never through the product.
 */
import { Cluster } from "../../components/config/types";
import { renderHost } from "../../components/facets/index";
import { facetProvider } from "../../components/provider/facetProvider";
import { shellQuote } from "../../components/templates/shellQuote";
import { Lab, LabOptions, startLab } from "../lab";
import { labHost, rootOk } from "./labHelpers";
import { ClusterKeyPair, facetInputs, labCluster, newClusterKey } from "./labCluster";

export interface VerifyLab {
  lab: Lab;
  cluster: Cluster;
}

/**
 * One cluster key per lab, as one stack has one: each host refuses another key for the key generation it recorded
 * (clusterTrust's anchor), so applying again (another config on the same lab) must bring the same key.
 */
const labKeys = new Map<string, ClusterKeyPair>();

/** Applies every facet of every host through the facet provider, as `pulumi up` would (hosts in parallel, facets in order). */
export async function applyAllFacets(lab: Lab, cluster: Cluster): Promise<void> {
  const key = labKeys.get(lab.name) ?? newClusterKey();
  labKeys.set(lab.name, key);
  await Promise.all(
    cluster.hosts.map(async (host) => {
      for (const facet of renderHost(cluster, host, key.publicKey)) {
        const inputs = facetInputs(lab, facet, key);
        await facetProvider.create!(inputs);
      }
    }),
  );
}

/** Starts a lab and applies every facet; stops nothing (the caller's afterAll does). */
export async function startVerifyLab(options: LabOptions & { name: string }, overrides: Record<string, unknown> = {}): Promise<VerifyLab> {
  const lab = await startLab(options);
  const cluster = labCluster(lab, overrides);
  await applyAllFacets(lab, cluster);
  return { lab, cluster };
}

const addressOf = (lab: Lab, host: string) => labHost(lab, host).address;

const dropRule = (source: string, first: number, last: number) => `INPUT -s ${source} -p tcp --dport ${first}:${last} -j DROP`;

/** On `on`, drops new TCP connections to ports first-last from `from`'s address (iptables, ahead of every other rule). */
export async function blockPorts(lab: Lab, from: string, on: string, first: number, last: number): Promise<void> {
  await rootOk(lab, on, `iptables -I ${dropRule(addressOf(lab, from), first, last)}`);
}

export async function unblockPorts(lab: Lab, from: string, on: string, first: number, last: number): Promise<void> {
  await rootOk(
    lab,
    on,
    `while iptables -C ${dropRule(addressOf(lab, from), first, last)} 2>/dev/null; do iptables -D ${dropRule(addressOf(lab, from), first, last)}; done`,
  );
}

/** Edits a file of user mpi on `host` with a sed expression (as a person with an editor would), returning the old bytes. */
export async function editUserFile(lab: Lab, host: string, file: string, sedExpression: string): Promise<string> {
  const f = shellQuote(file);
  const before = await rootOk(lab, host, `base64 -w0 <${f}; cp -p ${f} ${f}.verify-test-backup`);
  await rootOk(lab, host, `sed -i ${shellQuote(sedExpression)} ${f}`);
  return Buffer.from(before, "base64").toString("utf8");
}

/** Puts back the bytes editUserFile saved. */
export async function restoreUserFile(lab: Lab, host: string, file: string): Promise<void> {
  const f = shellQuote(file);
  await rootOk(lab, host, `mv -f ${f}.verify-test-backup ${f}`);
}
