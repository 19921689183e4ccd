/** Network namespaces, links and the processes inside them, seen from the machine's namespaces. */
import * as fs from "fs";
import { runOk } from "./run";

export const NETNS_DIR = "/run/netns";

export function listNetns(prefix: string): string[] {
  try {
    return fs.readdirSync(NETNS_DIR).filter((n) => n.startsWith(prefix));
  } catch {
    return [];
  }
}

export function netnsInode(name: string): number | undefined {
  try {
    return fs.statSync(`${NETNS_DIR}/${name}`).ino;
  } catch {
    return undefined;
  }
}

export function linkExists(name: string): boolean {
  return fs.existsSync(`/sys/class/net/${name}`);
}

function processNetInode(pid: number): number | undefined {
  try {
    const match = /^net:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/ns/net`));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined; // gone, or a zombie
  }
}

/** PIDs of live processes whose network namespace is one of `inodes`. */
export function processesIn(inodes: Set<number>): number[] {
  if (inodes.size === 0) return [];
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const inode = processNetInode(Number(entry));
    if (inode !== undefined && inodes.has(inode)) pids.push(Number(entry));
  }
  return pids;
}

/** True when `pid` is alive and in the named network namespace (a recycled PID elsewhere does not count). */
export function isAliveIn(pid: number, netns: string): boolean {
  if (pid <= 0) return false;
  const inode = netnsInode(netns);
  return inode !== undefined && processNetInode(pid) === inode;
}

/**
 * Kills every process in the namespaces and waits until none is left, so that the overlay and the namespaces are
 * free when this returns. `initPids` (each host's PID 1) die first: that takes a host's whole PID namespace down
 * and lets its `unshare` parent reap it, rather than leaving zombies for the machine's init.
 */
export async function killProcessesIn(netnsNames: string[], initPids: number[] = [], timeoutMs = 15000): Promise<void> {
  const inodes = new Set(netnsNames.map(netnsInode).filter((i): i is number => i !== undefined));
  const inits = initPids.filter((pid) => pid > 0 && processesIn(inodes).includes(pid));
  for (const pid of inits) kill(pid);
  const started = Date.now();
  for (;;) {
    const pids = processesIn(inodes);
    if (pids.length === 0) return;
    const waited = Date.now() - started;
    if (waited > timeoutMs) {
      throw new Error(`processes ${pids.join(", ")} are still running in ${netnsNames.join(", ")} after SIGKILL`);
    }
    if (inits.length === 0 || waited > 1000) for (const pid of pids) kill(pid);
    await sleep(20);
  }
}

function kill(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // exited meanwhile
  }
}

/** Runs `ip -batch` lines; with force, later lines still run when one fails (teardown). */
export async function ipBatch(lines: string[], force = false): Promise<void> {
  if (lines.length === 0) return;
  await runOk("ip", [...(force ? ["-force"] : []), "-batch", "-"], { input: `${lines.join("\n")}\n` });
}

export function disableIpv6(link: string): void {
  const file = `/proc/sys/net/ipv6/conf/${link}/disable_ipv6`;
  if (fs.existsSync(file)) fs.writeFileSync(file, "1");
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
