/**
 * Lab tests' view of the product: the cluster config a lab stands for (as `npm run lab -- up` writes it, with
 * per-test overrides), the cluster key, and the provider's inputs for one facet of one host.
 */
import * as fs from "fs";
import { parse } from "yaml";
import { loadClusterOrThrow, namespaceKeys } from "../../components/config/load";
import { Cluster, Host } from "../../components/config/types";
import { CLUSTER_KEY_ENV } from "../../components/facets/clusterTrust";
import { RenderedFacet } from "../../components/facets/facet";
import { definitionOf, renderHost } from "../../components/facets/index";
import { renderFirewall } from "../../components/facets/firewall";
import { FacetInputs } from "../../components/provider/facetProvider";
import { DeclaredInputs, facetRecord } from "../../components/provider/facetRecord";
import { Lab, renderLabStack } from "../lab";
import { newEd25519KeyPair } from "../../components/provider/ed25519KeyPair";
import { connectionFor } from "./facetRunner";
import { labHost } from "./labHelpers";

/** The lab's stack config values (renderLabStack) by key without the namespace: `mpi`, `firewall`, ... */
export function labStackValues(lab: Lab): Record<string, Record<string, unknown>> {
  const doc = parse(renderLabStack(lab)) as { config: Record<string, Record<string, unknown>> };
  return Object.fromEntries(Object.entries(doc.config).map(([key, value]) => [key.replace(/^mpi-hosts:/, ""), value]));
}

/** The lab's stack config (renderLabStack), with whole `mpi-hosts:*` values replaced by `overrides` (keys without the namespace). */
export function labCluster(lab: Lab, overrides: Record<string, unknown> = {}): Cluster {
  const doc = parse(renderLabStack(lab)) as { config: Record<string, unknown> };
  const config = { ...doc.config };
  for (const [key, value] of Object.entries(overrides)) config[`mpi-hosts:${key}`] = value;
  return loadClusterOrThrow(namespaceKeys(config)).cluster;
}

/**
 * The cluster of the firewall tests: the MPI ports allowed from host1 only (so host3 is "everyone else"), and the
 * runtime on a fixed range, so that every backend both opens and closes two ranges (the ephemeral runtime window is
 * an allow rule like the others: its rendering is covered by the golden files, its traffic by the concurrency test).
 */
export function firewallTestCluster(lab: Lab): Cluster {
  return labCluster(lab, {
    mpi: { ...labStackValues(lab).mpi, oobPorts: "50100-50199" },
    firewall: { backend: "auto", allowFrom: [`${labHost(lab, "host1").address}/32`] },
  });
}

export interface ClusterKeyPair {
  publicKey: string;
  privateKey: string;
}

/** A fresh cluster identity, made the way the ClusterKey resource makes it. */
export function newClusterKey(comment = "mpi-hosts cluster"): ClusterKeyPair {
  return newEd25519KeyPair(comment);
}

export function hostOf(cluster: Cluster, name: string): Host {
  const host = cluster.hosts.find((h) => h.name === name);
  if (!host) throw new Error(`no host ${name} in the cluster (${cluster.hosts.map((h) => h.name).join(", ")})`);
  return host;
}

/** The firewall facet of `host`, after `adjust` changed the host's settings (backend, persistence, os). */
export function firewallFacetOf(cluster: Cluster, host: string, adjust: (h: Host) => void = () => undefined): RenderedFacet {
  const h = hostOf(cluster, host);
  adjust(h);
  return renderFirewall(cluster, h);
}

/** Every facet of the host in apply order, or only those named in `only`. */
export function facetsOf(cluster: Cluster, host: string, key: ClusterKeyPair, only?: string[]): RenderedFacet[] {
  const all = renderHost(cluster, hostOf(cluster, host), key.publicKey);
  return only ? all.filter((f) => only.includes(f.facet)) : all;
}

export function facetOf(cluster: Cluster, host: string, key: ClusterKeyPair, facet: string): RenderedFacet {
  const found = facetsOf(cluster, host, key).find((f) => f.facet === facet);
  if (!found) throw new Error(`host ${host} has no ${facet} facet in this cluster`);
  return found;
}

/** The secret environment a facet's scripts read (the cluster private key for clusterTrust). */
export function secretEnvFor(facet: RenderedFacet, key: ClusterKeyPair): Record<string, string> {
  return facet.secretEnv.includes(CLUSTER_KEY_ENV) ? { [CLUSTER_KEY_ENV]: key.privateKey } : {};
}

/**
 * What MpiHost hands the facet provider for one facet (the same record, built by the same helper from the facet's
 * declared inputs). `siblings` (for hostFacets) defaults to this facet alone: most tests read one facet at a time.
 */
export function facetInputs(
  lab: Lab,
  facet: RenderedFacet,
  key: ClusterKeyPair,
  connection = connectionFor(lab, facet.host),
  siblings = [facet],
): FacetInputs {
  const declared = (f: RenderedFacet) => ({ definition: definitionOf(f.facet)!, inputs: f.inputs as DeclaredInputs });
  const host = siblings.some((s) => s.facet === facet.facet) ? siblings : [...siblings, facet];
  return facetRecord({ ...declared(facet), host: host.map(declared), connection, secretEnv: secretEnvFor(facet, key) });
}

export function readLabKey(lab: Lab): string {
  return fs.readFileSync(lab.privateKeyPath, "utf8");
}
