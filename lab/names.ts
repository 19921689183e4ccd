/**
 * Every name and address a lab uses, derived from the lab's name and its index (its /24 inside 10.213.0.0/16).
 * Pure functions: the rest of the lab never builds one of these names itself.
 */
import { createHash } from "crypto";
import * as path from "path";

export const SSH_PORT = 2400;
export const LAB_USER = "mpi";
/** Last octet of the first host; the gateway (the root namespace, where Pulumi and the tests run) is .1. */
export const FIRST_HOST_OCTET = 11;
export const MAX_HOSTS = 200;
export const MAX_LAB_INDEX = 254;

const LAB_NAME = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;

/** Returns undefined when the name is usable, else why not. */
export function checkLabName(name: string): string | undefined {
  if (LAB_NAME.test(name)) return undefined;
  return `lab name '${name}' must be 1-32 lowercase letters, digits or inner hyphens (it names network namespaces, a bridge and a directory)`;
}

export function defaultHostNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `host${i + 1}`);
}

/** Where labs keep their state: keys, overlay upper dirs, boot logs. Overridable for tests. */
export function labsRoot(env: NodeJS.ProcessEnv = process.env): string {
  const root = env.MPI_HOSTS_LAB_DIR || "/run/mpi-hosts/labs";
  // The path goes into overlayfs mount options, where ',' and ':' are separators.
  if (!path.isAbsolute(root) || /[,:\s'"\\]/.test(root)) {
    throw new Error(`MPI_HOSTS_LAB_DIR must be an absolute path without commas, colons, quotes or spaces; got '${root}'`);
  }
  return path.normalize(root);
}

export function labDir(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(labsRoot(env), name);
}

/** Network namespaces of one lab share a prefix that no other lab's can start with ('_' is not allowed in names). */
export function netnsPrefix(lab: string): string {
  return `mhlab_${lab}_`;
}

export function netnsName(lab: string, host: string): string {
  return `${netnsPrefix(lab)}${host}`;
}

/** Linux interface names hold at most 15 characters; long lab names are shortened with a hash to stay unique. */
export function bridgeName(lab: string): string {
  const plain = `mhl-${lab}`;
  if (plain.length <= 15) return plain;
  const hash = createHash("sha256").update(lab).digest("hex").slice(0, 5);
  return `mhl-${lab.slice(0, 5)}-${hash}`;
}

/** Root-namespace end of a host's veth pair; the lab index keeps it unique across labs. */
export function vethName(index: number, hostNumber: number): string {
  return `mhv${index}-${hostNumber}`;
}

/**
 * Fixed MAC of a host's eth0, like a real NIC: after stopHost/startHost, neighbours' ARP caches (the machine's
 * and other hosts') still hold the right address; a fresh random MAC left them sending to the old one for ~40 s.
 * 02: locally administered, unicast.
 */
export function hostMac(index: number, hostNumber: number): string {
  const hex = (n: number) => n.toString(16).padStart(2, "0");
  return ["02", "6d", "68", hex(index), hex(hostNumber >> 8), hex(hostNumber & 0xff)].join(":");
}

export function labNetwork(index: number): { network: string; gateway: string; prefixLength: number } {
  if (!Number.isInteger(index) || index < 1 || index > MAX_LAB_INDEX) {
    throw new Error(`lab index must be 1-${MAX_LAB_INDEX}, got ${index}`);
  }
  return { network: `10.213.${index}.0/24`, gateway: `10.213.${index}.1`, prefixLength: 24 };
}

/** Address of the host at position `position` (0-based) in the lab. */
export function hostAddress(index: number, position: number): string {
  if (position < 0 || position >= MAX_HOSTS) throw new Error(`a lab holds at most ${MAX_HOSTS} hosts`);
  return `10.213.${index}.${FIRST_HOST_OCTET + position}`;
}

/** Lowest index that is neither used by another lab nor by an address already on this machine. */
export function pickLabIndex(usedIndexes: Iterable<number>, addressesInUse: Iterable<string>): number {
  const used = new Set(usedIndexes);
  for (const address of addressesInUse) {
    const match = /^10\.213\.(\d+)\./.exec(address);
    if (match) used.add(Number(match[1]));
  }
  for (let index = 1; index <= MAX_LAB_INDEX; index++) if (!used.has(index)) return index;
  throw new Error("every lab subnet 10.213.1-254.0/24 is in use: run `npm run lab -- down --name NAME` for labs you no longer need");
}

/** /etc/hosts of every lab host: the lab's DNS. */
export function renderEtcHosts(hosts: { name: string; address: string }[]): string {
  const lines = hosts.map((h) => `${h.address}\t${h.name}`);
  return ["# Written by the mpi-hosts lab: localhost and every lab host (the lab's DNS).", "127.0.0.1\tlocalhost", ...lines, ""].join("\n");
}
