import * as fs from "fs";

/**
 * The kernel keeps one IPv4 neighbour (ARP) table for every network namespace of the machine, and its hard
 * limit (gc_thresh3, 1024 by default) is machine-wide. A lab host holds an entry for each peer it talks to and
 * one for the gateway, so 50 hosts that all talk to each other need about 2,550 entries. Past the limit the
 * kernel drops the packets that would need a new entry ("neighbor table overflow" in dmesg): ssh logins and TCP
 * connects between hosts time out, and the verification job reports a cluster that is fine as broken.
 */
const SYSCTL_DIR = "/proc/sys/net/ipv4/neigh/default";

/** Entries the running labs can hold at once: per host one per peer and one for the gateway, plus the machine's side. */
export function neighbourEntriesNeeded(labSizes: number[]): number {
  return labSizes.reduce((sum, n) => sum + n * n + n, 0);
}

export interface NeighbourLimits {
  /** Above this many entries the kernel collects stale ones eagerly. */
  gcThresh2: number;
  /** Never more than this many entries: a packet that needs one more is dropped. */
  gcThresh3: number;
}

/** Limits that leave room for the labs (twice the need, for stale entries not yet collected); never lower than now. */
export function neighbourLimitsFor(labSizes: number[], current: NeighbourLimits): NeighbourLimits {
  const needed = neighbourEntriesNeeded(labSizes);
  return {
    gcThresh2: Math.max(current.gcThresh2, needed),
    gcThresh3: Math.max(current.gcThresh3, 2 * needed),
  };
}

export function readNeighbourLimits(dir = SYSCTL_DIR): NeighbourLimits {
  const read = (name: string) => Number(fs.readFileSync(`${dir}/${name}`, "utf8").trim());
  return { gcThresh2: read("gc_thresh2"), gcThresh3: read("gc_thresh3") };
}

/**
 * Raises the machine's neighbour-table limits to fit the labs; returns a line saying what changed, or undefined
 * when they already fit. Hard limit first, so that the soft one is never above it.
 */
export function fitNeighbourTable(labSizes: number[], dir = SYSCTL_DIR): string | undefined {
  const current = readNeighbourLimits(dir);
  const wanted = neighbourLimitsFor(labSizes, current);
  if (wanted.gcThresh2 === current.gcThresh2 && wanted.gcThresh3 === current.gcThresh3) return undefined;
  fs.writeFileSync(`${dir}/gc_thresh3`, String(wanted.gcThresh3));
  fs.writeFileSync(`${dir}/gc_thresh2`, String(wanted.gcThresh2));
  return (
    `lab: raised the machine's IPv4 neighbour table limits for ${labSizes.reduce((a, b) => a + b, 0)} lab hosts ` +
    `(net.ipv4.neigh.default.gc_thresh2 ${current.gcThresh2} -> ${wanted.gcThresh2}, gc_thresh3 ${current.gcThresh3} -> ${wanted.gcThresh3})`
  );
}
