// Generated from schemas/cluster.schema.json by `npm run docs` (components/config/schemaTypes.ts): edit the schema, not this file.

/** The `mpi-hosts:*` config after the schema pass: every value has its schema's shape, and every default is filled in. */
export interface RawConfig {
  /** How mpi-hosts reaches every host; per-host `user` and `port` override these. */
  ssh: {
    /** Login user on every host (an ordinary user; privileged steps use sudo -n). */
    user?: string;
    /** SSH port used when a host does not set its own. */
    port: number;
    /** Private key file used to reach the hosts, on the machine that runs Pulumi, tried after the keys of ssh-agent (SSH_AUTH_SOCK); passphrase-protected: give `mpi-hosts:sshKeyPassphrase` or load it into the agent. The secret `mpi-hosts:sshPrivateKey` takes precedence. */
    privateKeyPath: string;
    /** Where host keys are looked up for hosts that do not pin `hostKey`. */
    knownHostsPath: string;
    /** How long to wait for a host to answer before reporting it unreachable. */
    connectTimeoutSeconds: number;
    /** Default jump host (bastion, as OpenSSH's ProxyJump) through which the machine running Pulumi reaches every host that does not set its own `jump`: a host of this stack by name, or `{ address, port, user, hostKey }`. The hosts still reach each other directly. */
    jump?: RawJump;
    /** Generation of the cluster key (the key pair with which the hosts start MPI daemons on each other). Any change, to any value not in use now (an earlier one too), makes a new key pair at the next `pulumi up`: every host gets the new private key, and its authorized_keys accepts the new public key only (the old one taken out). A number or letters, digits and . _ : -, e.g. 2 or 2026-12-01 (2 and "2" are the same generation). */
    clusterKeyRotation: string | number;
    /** Read each host's Host entry from the ssh config of the machine running Pulumi (`ssh -G ALIAS`: Include and Match resolved): HostName, Port, User and ProxyJump fill the host's address, port, user and jump where the stack config leaves them unset (what it says wins). IdentityFile is not read. */
    useSshConfig: boolean;
  };
  /** The machines of the cluster. `name` is the alias used everywhere (hostfile, ssh Host, MPI); `address` is how it is reached. */
  hosts: Array<{
    /** Alias of the host: an RFC 1123 label (letters, digits, hyphens; 1-63 characters). */
    name: string;
    /** DNS name or IP address the other hosts and Pulumi use to reach it (required, unless ssh.useSshConfig finds a HostName for the host's alias). */
    address?: string;
    /** Operating system family; picks the firewall backend and file locations. */
    os: Os;
    /** SSH port of this host (default: ssh.port). */
    port?: number;
    /** Login user on this host (default: ssh.user). */
    user?: string;
    /** MPI slots (ranks) this host runs; written to the hostfile. */
    slots: number;
    /** Pinned SSH host public key, as `ssh-ed25519 AAAA...` (a line of `ssh-keyscan -p PORT ADDRESS` without the host), or a list of them: any listed key is accepted, and only their algorithms are negotiated. Without it, every key ssh.knownHostsPath lists for the host is accepted (as OpenSSH reads it). */
    hostKey?: string | string[];
    /** Jump host (bastion) for this host, overriding ssh.jump: a host of this stack by name, `{ address, port, user, hostKey }`, or `none` to connect directly. */
    jump?: RawJump;
    /** The Host alias looked up in your ssh config when ssh.useSshConfig is on (default: the host's name). */
    sshAlias?: string;
    /** Conda prefix on this host when it differs from python.prefix (for example /Applications/anaconda on a Mac). */
    pythonPrefix?: string;
    /** Firewall backend for this host (default: firewall.backend). */
    firewallBackend?: FirewallBackend;
    /** Whether this host's MPI port rules come back after a reboot (default: firewall.persist). */
    firewallPersist?: boolean;
    /** The nftables chain of this host's own firewall that jumps to the MPI rules (default: firewall.nftables). */
    firewallNftables?: RawNftablesChain;
  }>;
  /** Where mpi4py and Open MPI come from. */
  python: {
    /** `conda`: a conda environment with pinned mpi4py and openmpi at `prefix`; `system`: the distribution's packages (Linux only). */
    kind: PythonKind;
    /** Conda prefix (absolute path, the same on every host unless a host sets pythonPrefix). */
    prefix: string;
    /** Conda channel to install from. */
    channel: string;
    /** mpi4py version pin (conda match spec). */
    mpi4py: string;
    /** Open MPI version pin (conda match spec). */
    openmpi: string;
    /** The /opt/anaconda1anaconda2anaconda3 symlink: `auto` creates it only where the install still carries that placeholder prefix. */
    prefixLink: PrefixLink;
  };
  /** Where MPI traffic may go. */
  mpi: {
    /** The cluster network (IPv4 CIDR); MPI and runtime traffic is confined to the interface on it. */
    network: string;
    /** Ports for rank-to-rank traffic (TCP BTL); at least as many as the most slots on one host. */
    btlPorts: string;
    /** Ports for the runtime's own traffic (ORTE in Open MPI 4.x, PRRTE in 5.x). ephemeral: the ports the system hands out (32768-65535 opened to allowFrom), so that any number of mpiruns can run at once on a host. A FIRST-LAST range confines the runtime exactly, but then only one mpirun at a time can start on each host: mpirun listens on every free port of the range. */
    oobPorts: string;
    /** More MCA parameters written to ~/.openmpi/mca-params.conf, by name (values on one line). Keys that would undo what mpi-hosts manages are refused unless named in allowUnsafeMca. */
    extraMca: Record<string, string | number | boolean>;
    /** extraMca keys allowed to undo what mpi-hosts manages: the ports and interfaces of MPI and runtime traffic (btl_tcp_port_*, *_if_include/exclude, oob_tcp_*_ports), or ssh host key checking (StrictHostKeyChecking=no in plm_rsh_args). Without this, `npm run validate` refuses such a key; with it, it still warns. */
    allowUnsafeMca: string[];
  };
  /** Firewall rules that open exactly the MPI port ranges, only to allowFrom. */
  firewall: {
    backend: FirewallBackend;
    /** Source networks allowed to reach the MPI ports (default: [mpi.network]). 0.0.0.0/0 is refused unless allowAnywhere is true. */
    allowFrom?: string[];
    /** Spell out that allowFrom may contain 0.0.0.0/0. */
    allowAnywhere: boolean;
    /** Make the MPI port rules come back after a reboot, the way the host's boot loads its firewall (nftables: /etc/nftables.conf or a unit of mpi-hosts; iptables: /etc/iptables/rules.v4 or a unit of mpi-hosts; pf: a block in /etc/pf.conf and a LaunchDaemon of mpi-hosts that enables pf). false: the rules are loaded at run time only and apply takes out any boot-time file of mpi-hosts, for hosts where the rules cannot persist (no netfilter-persistent, no nftables.service, no systemd); ufw and firewalld keep their rules by themselves either way. Per host: hosts[].firewallPersist. */
    persist: boolean;
    /** The chain of an nftables table of the admin's own that jumps to the MPI rules, for rulesets where mpi-hosts cannot choose (several input chains that drop in one table, an input chain that jumps into others). Without it, every other table whose input chain drops gets the jump in that chain. Per host: hosts[].firewallNftables. */
    nftables?: RawNftablesChain;
  };
  /** The verification job: mpirun across every host after a change. */
  verify: {
    enabled: boolean;
    /** Host that launches the job (default: the first host). */
    from?: string;
    tests: VerifyTest[];
    timeoutSeconds: number;
  };
  /** Secret: the private key used to reach the hosts (set with `pulumi config set --secret mpi-hosts:sshPrivateKey < key`). */
  sshPrivateKey?: string;
  /** Secret: the passphrase of a passphrase-protected key (the file of `ssh.privateKeyPath`, or `mpi-hosts:sshPrivateKey`), for machines without ssh-agent (set with `pulumi config set --secret mpi-hosts:sshKeyPassphrase`). An agent's keys are tried first. */
  sshKeyPassphrase?: string;
}

export const OS_VALUES = ["linux", "macos"] as const;
export type Os = (typeof OS_VALUES)[number];

export const FIREWALL_BACKEND_VALUES = ["auto", "nftables", "iptables", "ufw", "firewalld", "pf", "none"] as const;
export type FirewallBackend = (typeof FIREWALL_BACKEND_VALUES)[number];

export const PYTHON_KIND_VALUES = ["conda", "system"] as const;
export type PythonKind = (typeof PYTHON_KIND_VALUES)[number];

export const PREFIX_LINK_VALUES = ["auto", "always", "never"] as const;
export type PrefixLink = (typeof PREFIX_LINK_VALUES)[number];

export const VERIFY_TEST_VALUES = ["helloworld", "ringtest", "pingpong"] as const;
export type VerifyTest = (typeof VERIFY_TEST_VALUES)[number];

export interface RawNftablesChain {
  /** Family and name, as `nft list tables` prints them: `inet filter`. */
  table: string;
  /** A chain of that table: its input base chain, or a chain it jumps to. */
  chain: string;
}

/** A jump host: the name of a host of this stack (or `none`), or a bastion of its own. */
export type RawJump =
  | string
  | {
      /** DNS name or IP address of the bastion, as the machine running Pulumi reaches it. */
      address: string;
      /** SSH port of the bastion. */
      port: number;
      /** Login user on the bastion (default: the login user of the host behind it). */
      user?: string;
      /** Pinned SSH host public key of the bastion (or a list of them); without it the bastion's keys must be in ssh.knownHostsPath. */
      hostKey?: string | string[];
    };
