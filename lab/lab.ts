/**
 * The lab: real test hosts on this machine. Each host is a network namespace on the lab's bridge, with its own
 * mount, UTS, IPC and PID namespaces, an overlay root over a cached Debian image, and sshd on port 2400 for the
 * user `mpi` (passwordless sudo). lab/README.md says what a host is and why; needs root.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { hideFromController, planBastion, readSshBannerInside, unhideLabNetwork } from "./bastion";
import { renderBootScript } from "./boot";
import {
  DEFAULT_FIREWALL,
  describeFirewalls,
  FIREWALL_KINDS,
  FirewallKind,
  isFirewallKind,
  nftablesConfFor,
  ufwPackagePath,
} from "./firewallKinds";
import { ensureImage, isRelease, Release } from "./image";
import {
  bridgeName,
  checkLabName,
  defaultHostNames,
  hostAddress,
  hostMac,
  LAB_USER,
  labDir,
  labNetwork,
  labsRoot,
  MAX_HOSTS,
  netnsName,
  netnsPrefix,
  pickLabIndex,
  renderEtcHosts,
  SSH_PORT,
  vethName,
} from "./names";
import { disableIpv6, ipBatch, isAliveIn, killProcessesIn, linkExists, listNetns, sleep } from "./netns";
import { fitNeighbourTable } from "./neighbours";
import { requireRoot, requireTools, run, RunResult, runOk } from "./run";
import { HostRecord, hostDir, KnownHostsMode, LabRecord, readRecord, writeRecord } from "./state";
import type { Lab, LabHost } from "./types";

export { renderLabStack } from "./stack";
export type { Lab, LabHost } from "./types";

export interface LabOptions {
  /**
   * How the lab's known_hosts is written: "pinned" (default, mpi-hosts' own lines) or "keyscan" (`ssh-keyscan` of every
   * host, all key types, rsa first, as a user fills ~/.ssh/known_hosts); with "keyscan" the stack file pins no hostKey.
   */
  knownHosts?: KnownHostsMode;
  name?: string;
  hosts?: number;
  release?: Release;
  /** Release of each host, in order; overrides `release` and sets the host count. */
  releases?: string[];
  /** The firewall each host comes with (lab/firewallKinds.ts): one kind for all, or one per host in order (default iptables). */
  firewall?: FirewallKind | FirewallKind[];
  /** MPI slots per host, for the stack file (default 2). */
  slots?: number;
  /** Progress lines (image build, boot); silent by default. */
  log?: (line: string) => void;
  /** How long to wait for every sshd to answer (default 60 s plus 1 s per host). */
  bootTimeoutMs?: number;
  /** Hosts this machine reaches only through `bastion` (lab/bastion.ts): it has no route to them. */
  behindBastion?: string[];
  /** The host they are reached through (default: the first host not behind it). */
  bastion?: string;
  /**
   * Encrypt the admin key with this passphrase (ssh-keygen -N), so that no key file is usable without it: tests load it
   * into an ssh-agent of their own (lab/login.ts startAgent) or pass it as mpi-hosts:sshKeyPassphrase. Kept in the
   * returned Lab only, never in the lab's record on disk.
   */
  keyPassphrase?: string;
}

/** Every key type the hosts have, rsa first as ssh-keyscan usually lists them, for the lab's known_hosts in "keyscan" mode. */
const KEYSCAN_TYPES = ["rsa", "ecdsa", "ed25519"];

const REQUIRED_TOOLS = ["ip", "nsenter", "unshare", "mount", "pivot_root", "ssh-keygen", "sysctl"];
const DEFAULT_HOSTS = 3;

export async function startLab(opts: LabOptions = {}): Promise<Lab> {
  requireRoot("starting a lab");
  requireTools(REQUIRED_TOOLS);
  const log = opts.log ?? (() => undefined);
  const name = opts.name ?? "lab";
  const releases = resolveReleases(opts);
  const firewalls = resolveFirewalls(opts.firewall, releases.length);
  const slots = opts.slots ?? 2;
  if (!Number.isInteger(slots) || slots < 1) throw new Error(`slots must be a positive integer, got ${slots}`);
  checkOrThrow(checkLabName(name));
  const bastion = planBastion(defaultHostNames(releases.length), opts.behindBastion, opts.bastion);

  await stopLab(name);
  const images = new Map<string, string>();
  for (const release of new Set(releases)) images.set(release, await ensureImage(release, log));

  const dir = labDir(name);
  const privateKeyPath = path.join(dir, "id_ed25519");
  // Two labs starting at once (two engineers, two test files) must not pick the same subnet.
  const record = await withLabsLock(async () => {
    const index = pickLabIndex(otherLabIndexes(name), [...(await addressesInUse()), ...vethIndexAddresses()]);
    const { network, gateway, prefixLength } = labNetwork(index);
    const fresh: LabRecord = {
      name,
      index,
      network,
      gateway,
      prefixLength,
      bridge: bridgeName(name),
      dir,
      privateKeyPath,
      firewall: describeFirewalls(firewalls),
      slots,
      port: SSH_PORT,
      user: LAB_USER,
      hosts: defaultHostNames(releases.length).map((host, i) => ({
        name: host,
        address: hostAddress(index, i),
        release: releases[i],
        image: images.get(releases[i])!,
        netns: netnsName(name, host),
        veth: vethName(index, i + 1),
        hostKey: "",
        hostKeys: [],
        pid: 0,
        provisioned: false,
        firewall: firewalls[i],
      })),
    };
    if (bastion) fresh.bastion = bastion;
    if (opts.knownHosts === "keyscan") fresh.knownHosts = "keyscan";
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Written before anything exists, so that `down` can clean up after a crash half way.
    writeRecord(fresh);
    return fresh;
  });
  const { gateway, prefixLength, network } = record;
  try {
    await runOk("ssh-keygen", ["-q", "-t", "ed25519", "-N", opts.keyPassphrase ?? "", "-C", `mpi-hosts lab ${name}`, "-f", privateKeyPath]);
    fitNeighbourTableFor(record, log);
    await ipBatch([`link add ${record.bridge} type bridge`]);
    disableIpv6(record.bridge);
    await ipBatch([`addr add ${gateway}/${prefixLength} dev ${record.bridge}`, `link set ${record.bridge} up`]);
    const started = Date.now();
    await ipBatch(record.hosts.flatMap((h) => plugHost(record, h)));
    log(`lab: booting ${record.hosts.length} hosts on ${network}...`);
    // allSettled: no boot may still be running while a failure tears the lab down.
    const boots = await Promise.allSettled(record.hosts.map((h) => bootHost(record, h, deadline(opts, record.hosts.length))));
    const failed = boots.flatMap((b) => (b.status === "rejected" ? [b.reason as Error] : []));
    if (failed.length > 0) {
      throw new Error(`${failed.length} of ${record.hosts.length} lab hosts did not come up; the first:\n${failed[0].message}`);
    }
    log(`lab: ${record.hosts.length} hosts answer SSH on port ${SSH_PORT} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    if (record.bastion) {
      await hideFromController(record.hosts.filter((h) => record.bastion!.behind.includes(h.name)).map((h) => h.address));
      log(`lab: ${record.bastion.behind.join(", ")} reachable from this machine only through ${record.bastion.host}`);
    }
  } catch (e) {
    await stopLab(name).catch(() => undefined);
    throw e;
  } finally {
    if (fs.existsSync(dir)) writeRecord(record);
  }
  await writeKnownHosts(record);
  return opts.keyPassphrase ? { ...toLab(record), keyPassphrase: opts.keyPassphrase } : toLab(record);
}

/** Removes every trace of the lab: processes, namespaces, links, state. Quiet when there is nothing to remove. */
export async function stopLab(name = "lab"): Promise<void> {
  requireRoot("stopping a lab");
  checkOrThrow(checkLabName(name));
  const dir = labDir(name);
  const record = readRecordQuietly(dir);
  const namespaces = listNetns(netnsPrefix(name));
  if (record) await unhideLabNetwork(record.network);
  await killProcessesIn(namespaces, record?.hosts.map((h) => h.pid) ?? []);
  const bridge = record?.bridge ?? bridgeName(name);
  await ipBatch(
    [
      // Deleting one end of a veth pair deletes both at once; the namespace's own teardown is asynchronous.
      ...(record?.hosts ?? [])
        .map((h) => h.veth)
        .filter(linkExists)
        .map((v) => `link del ${v}`),
      ...namespaces.map((n) => `netns del ${n}`),
      ...(linkExists(bridge) ? [`link del ${bridge}`] : []),
    ],
    true,
  );
  fs.rmSync(dir, { recursive: true, force: true });
}

export async function labStatus(name = "lab"): Promise<Lab | undefined> {
  requireRoot("reading a lab's state"); // its directory is root's alone, and so are the hosts' /proc entries
  checkOrThrow(checkLabName(name));
  const record = readRecord(labDir(name));
  return record ? toLab(record) : undefined;
}

/** Simulates the host going down (power off): its processes die, its network goes away, its disk stays. */
export async function stopHost(lab: Lab, host: string): Promise<void> {
  requireRoot("stopping a lab host");
  const record = mustReadRecord(lab.name);
  const h = findHost(record, host);
  await killProcessesIn([h.netns], [h.pid]);
  await ipBatch(
    [...(linkExists(h.veth) ? [`link del ${h.veth}`] : []), ...(listNetns(h.netns).includes(h.netns) ? [`netns del ${h.netns}`] : [])],
    true,
  );
  h.pid = 0;
  writeRecord(record);
}

/**
 * Boots the host again, like a reboot: same disk (overlay upper dir), address and host key; fresh /tmp,
 * /dev/shm and /run; rules added at run time are gone, and the host's firewall is loaded as its OS does at boot
 * (lab/boot.ts load_firewall).
 */
export async function startHost(lab: Lab, host: string): Promise<LabHost> {
  requireRoot("starting a lab host");
  const record = mustReadRecord(lab.name);
  const h = findHost(record, host);
  if (!isAliveIn(h.pid, h.netns)) {
    await stopHost(lab, host); // leftovers of a host that died on its own
    await ipBatch(plugHost(record, h));
    try {
      await bootHost(record, h, Date.now() + 60000);
    } finally {
      writeRecord(record);
    }
    await writeKnownHosts(record);
  }
  return toLabHost(record, h);
}

/**
 * A reboot: the host goes down (its network namespace, and with it every rule loaded at run time, is gone) and boots
 * again from the same disk, loading its firewall only the way its OS would at boot (the lab's own firewall kind, then
 * the host's enabled firewall units: lab/bootUnits.ts). Returns once sshd answers again.
 */
export async function rebootHost(lab: Lab, host: string): Promise<LabHost> {
  await stopHost(lab, host);
  return startHost(lab, host);
}

export interface RootExecOptions {
  input?: string;
  timeoutMs?: number;
}

/**
 * Runs a bash script as root inside the host (its mount, UTS, IPC, network and PID namespaces and its root),
 * without SSH: an independent way to look at and change a host in tests.
 */
export async function rootExec(lab: Lab, host: string, script: string, opts: RootExecOptions = {}): Promise<RunResult> {
  const record = mustReadRecord(lab.name);
  const h = findHost(record, host);
  if (!isAliveIn(h.pid, h.netns)) throw new Error(`lab host ${host} is down; start it with startHost first`);
  const env = [
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME=/root",
    "LANG=C.UTF-8",
    "USER=root",
    "LOGNAME=root",
  ];
  return run(
    "nsenter",
    ["-t", String(h.pid), "-m", "-u", "-i", "-n", "-p", "-r", "-w", "--", "/usr/bin/env", "-i", ...env, "/bin/bash", "-c", script],
    { input: opts.input, timeoutMs: opts.timeoutMs ?? 120000 },
  );
}

function resolveFirewalls(spec: LabOptions["firewall"], hosts: number): FirewallKind[] {
  const kinds = Array.isArray(spec) ? spec : Array.from({ length: hosts }, () => spec ?? DEFAULT_FIREWALL);
  if (kinds.length !== hosts) throw new Error(`firewall lists ${kinds.length} kinds for ${hosts} hosts; give one kind, or one per host`);
  for (const k of kinds)
    if (!isFirewallKind(k)) throw new Error(`firewall must be one of ${FIREWALL_KINDS.join(", ")}, got '${String(k)}'`);
  return kinds;
}

function resolveReleases(opts: LabOptions): Release[] {
  const releases = opts.releases ?? Array.from({ length: opts.hosts ?? DEFAULT_HOSTS }, () => opts.release ?? "trixie");
  if (opts.releases && opts.hosts !== undefined && opts.hosts !== opts.releases.length) {
    throw new Error(`hosts (${opts.hosts}) and releases (${opts.releases.length} entries) disagree; give one of them`);
  }
  if (releases.length < 1 || releases.length > MAX_HOSTS || !Number.isInteger(releases.length)) {
    throw new Error(`a lab has 1-${MAX_HOSTS} hosts, got ${releases.length}`);
  }
  for (const r of releases) if (!isRelease(r)) throw new Error(`release must be 'trixie' or 'bookworm', got '${r}'`);
  return releases as Release[];
}

/** `ip -batch` lines that create the host's namespace and plug it into the bridge; the boot script does the rest. */
function plugHost(record: LabRecord, h: HostRecord): string[] {
  const mac = hostMac(record.index, record.hosts.indexOf(h) + 1);
  return [
    `netns add ${h.netns}`,
    `link add ${h.veth} type veth peer name eth0 address ${mac} netns ${h.netns}`,
    `link set ${h.veth} master ${record.bridge} up`,
  ];
}

function deadline(opts: LabOptions, hosts: number): number {
  return Date.now() + (opts.bootTimeoutMs ?? 60000 + 1000 * hosts);
}

async function bootHost(record: LabRecord, h: HostRecord, deadlineAt: number): Promise<void> {
  const dir = hostDir(record, h.name);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pidFile = path.join(dir, "pid");
  fs.rmSync(pidFile, { force: true });
  const script = path.join(dir, "boot.sh");
  fs.writeFileSync(
    script,
    renderBootScript({
      host: h.name,
      address: h.address,
      prefixLength: record.prefixLength,
      netns: h.netns,
      image: h.image,
      dir,
      port: record.port,
      firewall: h.firewall,
      provision: h.provisioned
        ? undefined
        : {
            user: record.user,
            authorizedKey: fs.readFileSync(`${record.privateKeyPath}.pub`, "utf8"),
            etcHosts: renderEtcHosts(record.hosts),
            nftablesConf: nftablesConfFor(h.firewall, record.port),
            ufwDeb: h.firewall === "ufw" ? ufwPackagePath() : undefined,
          },
    }),
    { mode: 0o700 },
  );
  const consoleLog = path.join(dir, "console.log");
  const fd = fs.openSync(consoleLog, "a");
  // Detached and unreferenced: the host outlives this process (`lab up` returns, the hosts keep running).
  const child = spawn("/bin/bash", [script, "outside"], { detached: true, stdio: ["ignore", fd, fd] });
  fs.closeSync(fd);
  child.unref();
  let exited: string | undefined;
  child.on("exit", (code, signal) => (exited = signal ? `killed by ${signal}` : `exit ${code}`));
  child.on("error", (e) => (exited = e.message));

  const fail = (why: string) => {
    const tail = readTail(consoleLog, 15);
    return new Error(`lab host ${h.name} (${h.address}) did not come up: ${why}${tail ? `\n--- ${consoleLog}:\n${tail}` : ""}`);
  };
  // The pid file appears once the address is configured, so connecting before it would only wait for ARP.
  while (!fs.existsSync(pidFile)) {
    if (exited) throw fail(`its boot script stopped (${exited})`);
    if (Date.now() > deadlineAt) throw fail("timed out before it mounted its root");
    await sleep(25);
  }
  for (;;) {
    if (exited) throw fail(`its boot script stopped (${exited})`);
    const banner = record.bastion?.behind.includes(h.name)
      ? await readSshBannerInside(h.netns, h.address, record.port, 2000)
      : await readSshBanner(h.address, record.port, 2000);
    if (banner?.startsWith("SSH-")) break;
    if (Date.now() > deadlineAt) throw fail(`no SSH banner on ${h.address}:${record.port}`);
    await sleep(50);
  }
  h.pid = Number(fs.readFileSync(pidFile, "utf8").trim());
  const pub = fs.readFileSync(path.join(dir, "upper/etc/ssh/ssh_host_ed25519_key.pub"), "utf8");
  h.hostKey = pub.trim().split(/\s+/).slice(0, 2).join(" ");
  h.hostKeys = ["rsa", "ecdsa", "ed25519"].flatMap((type) => {
    const file = path.join(dir, `upper/etc/ssh/ssh_host_${type}_key.pub`);
    return fs.existsSync(file) ? [fs.readFileSync(file, "utf8").trim().split(/\s+/).slice(0, 2).join(" ")] : [];
  });
  h.provisioned = true;
}

/** The first line the server sends, or undefined when nothing answers yet. */
export function readSshBanner(address: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let data = "";
    const socket = net.connect({ host: address, port });
    const done = (value: string | undefined) => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.on("error", () => done(undefined));
    socket.on("data", (b: Buffer) => {
      data += b.toString("latin1");
      const end = data.indexOf("\n");
      if (end >= 0) done(data.slice(0, end).trim());
    });
    socket.on("end", () => done(data ? data.trim() : undefined));
  });
}

function toLab(record: LabRecord): Lab {
  return {
    name: record.name,
    network: record.network,
    gateway: record.gateway,
    privateKeyPath: record.privateKeyPath,
    knownHostsPath: knownHostsPath(record),
    knownHosts: record.knownHosts ?? "pinned",
    hosts: record.hosts.map((h) => toLabHost(record, h)),
    bridge: record.bridge,
    dir: record.dir,
    firewall: record.firewall,
    slots: record.slots,
    ...(record.bastion ? { bastion: record.bastion } : {}),
  };
}

function toLabHost(record: LabRecord, h: HostRecord): LabHost {
  const up = isAliveIn(h.pid, h.netns);
  return {
    name: h.name,
    address: h.address,
    port: record.port,
    user: record.user,
    release: h.release,
    hostKey: h.hostKey,
    hostKeys: h.hostKeys,
    netns: h.netns,
    pid: up ? h.pid : 0,
    up,
    firewall: h.firewall,
  };
}

function knownHostsPath(record: LabRecord): string {
  return path.join(record.dir, "known_hosts");
}

/** Host keys survive stopHost/startHost, so this only changes when the lab is made anew. */
async function writeKnownHosts(record: LabRecord): Promise<void> {
  if (record.knownHosts === "keyscan") {
    fs.writeFileSync(knownHostsPath(record), await keyscan(record));
    return;
  }
  const lines = record.hosts.filter((h) => h.hostKey).map((h) => `[${h.name}]:${record.port},[${h.address}]:${record.port} ${h.hostKey}`);
  fs.writeFileSync(knownHostsPath(record), `${lines.join("\n")}\n`);
}

/**
 * What `ssh-keyscan -p 2400 ADDRESS >> ~/.ssh/known_hosts` gives a user, for every host that is up: every key type,
 * one line each, `[address]:2400 type base64`. Run from the network namespace of a lab host (any host reaches every
 * host, hosts behind a bastion too, while this machine may have no route to them); the keys are the same from anywhere.
 */
async function keyscan(record: LabRecord): Promise<string> {
  const up = record.hosts.filter((h) => isAliveIn(h.pid, h.netns));
  if (!up.length) return "";
  // One type at a time: with several, ssh-keyscan prints each key as its connection finishes (ecdsa came before rsa
  // in one run of two), and the lab should give the order users meet most, rsa first, every time.
  let text = "";
  for (const type of KEYSCAN_TYPES) {
    const args = ["-p", String(record.port), "-t", type, ...up.map((h) => h.address)];
    text += await runOk("ip", ["netns", "exec", up[0].netns, "ssh-keyscan", ...args]);
  }
  return text;
}

function findHost(record: LabRecord, host: string): HostRecord {
  const h = record.hosts.find((x) => x.name === host);
  if (!h) throw new Error(`lab '${record.name}' has no host '${host}' (it has ${record.hosts.map((x) => x.name).join(", ")})`);
  return h;
}

function mustReadRecord(name: string): LabRecord {
  const record = readRecord(labDir(name));
  if (!record) throw new Error(`no lab named '${name}' is running (no ${labDir(name)}/lab.json); start one with \`npm run lab -- up\``);
  return record;
}

function readRecordQuietly(dir: string): LabRecord | undefined {
  try {
    return readRecord(dir);
  } catch {
    return undefined;
  }
}

function otherLabRecords(self: string): LabRecord[] {
  let names: string[];
  try {
    names = fs.readdirSync(labsRoot());
  } catch {
    return [];
  }
  return names
    .filter((n) => n !== self)
    .map((n) => readRecordQuietly(path.join(labsRoot(), n)))
    .filter((r): r is LabRecord => r !== undefined);
}

function otherLabIndexes(self: string): number[] {
  return otherLabRecords(self).map((r) => r.index);
}

/** A lab of 50 hosts overflows the machine's default neighbour table: see lab/neighbours.ts. */
function fitNeighbourTableFor(record: LabRecord, log: (line: string) => void): void {
  const sizes = [record.hosts.length, ...otherLabRecords(record.name).map((r) => r.hosts.length)];
  try {
    const changed = fitNeighbourTable(sizes);
    if (changed) log(changed);
  } catch (e) {
    log(
      `lab: warning: could not fit the neighbour table to ${sizes.reduce((a, b) => a + b, 0)} hosts (${(e as Error).message}); large labs may time out between hosts`,
    );
  }
}

/**
 * Serializes subnet allocation between processes: a directory made with mkdir (atomic) is the lock. A lock older
 * than 30 s belongs to a process that died holding it.
 */
async function withLabsLock<T>(fn: () => Promise<T>): Promise<T> {
  const lock = path.join(labsRoot(), ".allocate.lock");
  fs.mkdirSync(labsRoot(), { recursive: true, mode: 0o755 });
  const giveUp = Date.now() + 60000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const age = Date.now() - (fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 30000) fs.rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > giveUp) throw new Error(`${lock} has been held for a minute; remove it if no lab is starting`);
      else await sleep(50);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/** Leftover veth ends (mhv<index>-<n>) of a lab whose state is gone still claim their index. */
function vethIndexAddresses(): string[] {
  let links: string[] = [];
  try {
    links = fs.readdirSync("/sys/class/net");
  } catch {
    return [];
  }
  return links.map((l) => /^mhv(\d+)-\d+$/.exec(l)).flatMap((m) => (m ? [`10.213.${m[1]}.0`] : []));
}

async function addressesInUse(): Promise<string[]> {
  const out = await runOk("ip", ["-o", "-4", "addr", "show"]);
  return [...out.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]);
}

function readTail(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

function checkOrThrow(problem: string | undefined): void {
  if (problem) throw new Error(problem);
}
