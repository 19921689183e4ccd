/**
 * What a running lab is, as every lab module and test sees it: plain data, no behaviour. A leaf module, so that
 * lab.ts and the modules it uses (stack.ts, bastion.ts, login.ts) all read these types without importing each other.
 */
import type { FirewallKind } from "./firewallKinds";
import type { KnownHostsMode } from "./state";

export interface BastionPlan {
  /** The host the others are reached through. */
  host: string;
  /** Hosts this machine reaches only through `host`. */
  behind: string[];
}

export interface LabHost {
  name: string;
  address: string;
  port: number;
  user: string;
  release: string;
  /** Public host key, "ssh-ed25519 AAAA...". */
  hostKey: string;
  /** Every public host key it has ("type base64": rsa, ecdsa, ed25519). */
  hostKeys: string[];
  netns: string;
  /** PID of the host's init (its sshd) as this machine sees it; 0 when the host is down. */
  pid: number;
  up: boolean;
  /** The firewall its admin left on it. */
  firewall: FirewallKind;
}

export interface Lab {
  name: string;
  /** CIDR of the lab bridge. */
  network: string;
  /** The machine's own address on the bridge (where Pulumi and the tests connect from). */
  gateway: string;
  privateKeyPath: string;
  /**
   * known_hosts for the hosts: "pinned" (default) `[name]:2400,[address]:2400 ssh-ed25519 ...` per host; "keyscan" what
   * `ssh-keyscan -p 2400 ADDRESS` prints (every key type, rsa first), as a user writes it.
   */
  knownHostsPath: string;
  knownHosts: KnownHostsMode;
  hosts: LabHost[];
  bridge: string;
  /** State directory: key pair, lab.json, per-host overlay upper dirs and boot logs. */
  dir: string;
  /** The hosts' firewall kinds in one word: the kind they share, or each host's, comma separated. */
  firewall: string;
  slots: number;
  /** Hosts reachable only through another (LabOptions.behindBastion). */
  bastion?: BastionPlan;
  /** The admin key's passphrase, when startLab was asked for one (LabOptions.keyPassphrase). */
  keyPassphrase?: string;
}
