/**
 * The cluster as the rest of the program sees it: validated, defaults applied, per-host values resolved. What the config
 * says (its enums, the python section) is typed from the schema (rawConfig.ts, generated); this file adds what the
 * loader works out.
 */
import { FirewallBackend, Os, RawConfig, VerifyTest } from "./rawConfig";

export type { FirewallBackend, Os, PrefixLink, PythonKind, VerifyTest } from "./rawConfig";
export { FIREWALL_BACKEND_VALUES, OS_VALUES, PREFIX_LINK_VALUES, PYTHON_KIND_VALUES, VERIFY_TEST_VALUES } from "./rawConfig";

export interface PortRange {
  first: number;
  last: number;
}

export interface Host {
  name: string;
  address: string;
  os: Os;
  port: number;
  user: string;
  slots: number;
  /**
   * "type base64" of every key the host may present: the pinned ones (config), or every key the controller's
   * known_hosts lists for it. Never empty once loaded.
   */
  hostKeys: string[];
  /** Where the keys came from, for messages. */
  hostKeySource: "config" | "known_hosts";
  /** Keys known_hosts marks `@revoked` for this host: refused even if listed elsewhere, named as revoked. */
  revokedKeys: RevokedKey[];
  pythonPrefix: string;
  firewallBackend: FirewallBackend;
  /**
   * Whether apply makes the firewall rules come back after a reboot (hosts[].firewallPersist, else firewall.persist).
   * false: run time only, for a host whose boot has no way to load them.
   */
  firewallPersist: boolean;
  /**
   * The nftables chain of the admin's own that jumps to our rules (hosts[].firewallNftables, else firewall.nftables):
   * it replaces what the probe would choose in that table. Undefined: chosen from the ruleset.
   */
  firewallNftables?: NftablesChain;
  /** The bastion the machine running Pulumi reaches this host through (ProxyJump); undefined: directly. */
  jump?: Jump;
}

/** A chain of an nftables table, as `nft list chain FAMILY TABLE CHAIN` names it. */
export interface NftablesChain {
  family: "ip" | "ip6" | "inet";
  table: string;
  chain: string;
}

/** A jump host (bastion), resolved: see config/jump.ts. */
export interface Jump {
  /** For messages: the stack host it is, or its address. */
  name: string;
  address: string;
  port: number;
  user: string;
  /** As Host.hostKeys: the pinned keys, or every key known_hosts lists for it. */
  hostKeys: string[];
  revokedKeys: RevokedKey[];
  /** Where hostKeys came from, for messages ("pinned in the stack config", "listed in ~/.ssh/known_hosts"). */
  hostKeysFrom: string;
  /** Where the jump is set ("mpi-hosts:ssh.jump", "mpi-hosts:hosts[2].jump"), for messages. */
  configPath: string;
}

/** A revoked host key and the known_hosts line that revokes it ("FILE:LINE"). */
export interface RevokedKey {
  key: string;
  where: string;
}

/** mpi-hosts:python as the schema shapes it (every key has a default). */
export type Python = RawConfig["python"];

export interface Mpi {
  network: string;
  btlPorts: PortRange;
  /** The runtime's ports: the configured range, or EPHEMERAL_PORTS when oobEphemeral. */
  oobPorts: PortRange;
  /**
   * The runtime listens where the system puts it (no oob_tcp_dynamic_ipv4_ports). mpirun binds every free port of a
   * fixed range (PRRTE and ORTE oob_tcp_listener.c, create_listen), so a fixed range admits one mpirun per host.
   */
  oobEphemeral: boolean;
  extraMca: Record<string, string | number | boolean>;
}

export interface Cluster {
  ssh: {
    privateKeyPath: string;
    knownHostsPath: string;
    connectTimeoutSeconds: number;
    /**
     * The cluster key's generation (ssh.clusterKeyRotation, numbers as text): any change makes a new key pair, which
     * replaces the old one on every host (ClusterKey's `rotation`).
     */
    clusterKeyRotation: string;
  };
  hosts: Host[];
  python: Python;
  mpi: Mpi;
  firewall: { allowFrom: string[] };
  verify: { enabled: boolean; from: string; tests: VerifyTest[]; timeoutSeconds: number };
  /** Set when the key comes from the secret mpi-hosts:sshPrivateKey rather than a file. */
  sshPrivateKey?: string;
  /** The secret mpi-hosts:sshKeyPassphrase: decrypts a passphrase-protected key file or secret key. */
  sshKeyPassphrase?: string;
}

/** One problem with the config, at a config path such as `mpi-hosts:hosts[2].port`. */
export interface ConfigProblem {
  path: string;
  message: string;
  severity: "error" | "warning";
}
