/** What a running lab remembers about itself: `lab.json` in its state directory, written atomically. */
import * as fs from "fs";
import * as path from "path";
import type { FirewallKind } from "./firewallKinds";

/** "pinned": mpi-hosts' own lines, names and addresses, the ed25519 key; "keyscan": `ssh-keyscan` output, as a user writes it. */
export type KnownHostsMode = "pinned" | "keyscan";

export interface HostRecord {
  name: string;
  address: string;
  release: string;
  /** Overlay lower dir. */
  image: string;
  netns: string;
  veth: string;
  /** "ssh-ed25519 AAAA..."; empty until the host first booted. */
  hostKey: string;
  /** Every host key it has ("type base64": rsa, ecdsa, ed25519); empty until the host first booted. */
  hostKeys: string[];
  /** PID of the host's init (sshd) as the machine sees it; 0 when the host is down. */
  pid: number;
  /** Set after the first successful boot: later boots keep the disk (users, keys, files) as it is. */
  provisioned: boolean;
  /** The firewall this host came with. */
  firewall: FirewallKind;
}

export interface LabRecord {
  name: string;
  index: number;
  network: string;
  gateway: string;
  prefixLength: number;
  bridge: string;
  dir: string;
  privateKeyPath: string;
  /** The hosts' firewall kinds in one word (lab/firewallKinds.ts describeFirewalls). */
  firewall: string;
  slots: number;
  /** Hosts reachable only through another (lab/bastion.ts). */
  bastion?: { host: string; behind: string[] };
  port: number;
  user: string;
  hosts: HostRecord[];
  /** How known_hosts was written (LabOptions.knownHosts); absent: "pinned". */
  knownHosts?: KnownHostsMode;
}

export function recordPath(dir: string): string {
  return path.join(dir, "lab.json");
}

export function readRecord(dir: string): LabRecord | undefined {
  let text: string;
  try {
    text = fs.readFileSync(recordPath(dir), "utf8");
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as LabRecord;
  } catch (e) {
    throw new Error(`${recordPath(dir)} is not valid JSON (${(e as Error).message}); remove the lab with \`npm run lab -- down\``);
  }
}

export function writeRecord(record: LabRecord): void {
  const file = recordPath(record.dir);
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
}

export function hostDir(record: LabRecord, host: string): string {
  return path.join(record.dir, "hosts", host);
}
