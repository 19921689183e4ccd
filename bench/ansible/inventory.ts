/**
 * Writes an Ansible project for bench/ansible/site.yml from a stack config: inventory, group_vars,
 * ansible.cfg and a cluster key pair. The managed blocks and whole files come from mpi-hosts' own
 * renderer (renderHost), so the playbook writes byte-for-byte what `pulumi up` writes: the benchmark
 * compares two tools doing the same changes, not two different configurations.
 *
 * Scope: what the lab runs (python kind system, an iptables firewall, Linux hosts). Anything else is
 * refused with a clear message rather than compared unfairly.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { Cluster } from "../../components/config/types";
import { renderHost } from "../../components/facets/index";
import { RenderedFacet } from "../../components/facets/facet";

export interface AnsibleProjectOptions {
  cluster: Cluster;
  /** Directory to write (created; existing files are overwritten). */
  dir: string;
  /** known_hosts with every host's key, for StrictHostKeyChecking yes. */
  knownHostsPath: string;
  /** Comment of the generated cluster key ("mpi-hosts cluster <stack>", as Pulumi's ClusterKey). */
  keyComment: string;
  /** Home directory of the login user on the hosts (absolute: a `~` path costs Ansible an extra round trip per copy task). */
  home?: string;
}

export interface AnsibleProject {
  dir: string;
  playbook: string;
  inventory: string;
  config: string;
}

const PLAYBOOK = path.join(__dirname, "site.yml");

/** The text between the BEGIN and END markers of a managed block (blockinfile adds the markers itself). */
export function blockBody(block: string): string {
  const lines = block.replace(/\n$/, "").split("\n");
  if (!/^# BEGIN /.test(lines[0] ?? "") || !/^# END /.test(lines[lines.length - 1] ?? "")) {
    throw new Error(`not a managed block (expected BEGIN and END marker lines):\n${block}`);
  }
  return lines.slice(1, -1).join("\n");
}

function facetOf(facets: RenderedFacet[], name: string): RenderedFacet {
  const facet = facets.find((f) => f.facet === name);
  if (!facet) throw new Error(`the renderer gave no ${name} facet (facets: ${facets.map((f) => f.facet).join(", ")})`);
  return facet;
}

/** The playbook's variables for one host, from mpi-hosts' rendering of that host. */
export function hostVars(cluster: Cluster, hostName: string, publicKey: string, privateKey: string, home: string): Record<string, unknown> {
  const host = cluster.hosts.find((h) => h.name === hostName);
  if (!host) throw new Error(`no host ${hostName} in the stack config`);
  const facets = renderHost(cluster, host, publicKey);
  const file = (facet: string, name: string) => {
    const content = facetOf(facets, facet).files[name];
    if (content === undefined) throw new Error(`the ${facet} facet renders no file ${name}`);
    return content;
  };
  const python = facetOf(facets, "python");
  return {
    mh_home: home,
    mh_python_kind: cluster.python.kind,
    mh_prefix: host.pythonPrefix,
    mh_packages: String(python.desired.packages)
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split(" ")[0]),
    mh_first_host: cluster.hosts[0].name,
    mh_ssh_config_block: blockBody(file("sshConfig", "ssh_config.block")),
    mh_cluster_private_key: privateKey,
    mh_cluster_public_key_file: file("clusterTrust", "mpi-hosts_ed25519.pub"),
    mh_known_hosts: file("clusterTrust", "mpi-hosts_known_hosts"),
    mh_authorized_keys_block: blockBody(file("clusterTrust", "authorized_keys.block")),
    mh_openmpi_block: blockBody(file("mcaParams", "openmpi-mca-params.conf.block")),
    mh_prte_block: blockBody(file("mcaParams", "prte-mca-params.conf.block")),
    mh_fw_chain: "MPI-HOSTS",
    mh_fw_rules: file("firewall", "iptables/MPI-HOSTS.rules").replace(/\n$/, ""),
    mh_hostfile: file("hostfile", "hostfile"),
  };
}

function checkScope(cluster: Cluster): void {
  if (cluster.python.kind !== "system") {
    throw new Error(`the bench playbook covers python.kind system (the lab's); this stack uses ${cluster.python.kind}`);
  }
  for (const h of cluster.hosts) {
    if (h.os !== "linux") throw new Error(`the bench playbook covers Linux hosts; ${h.name} is ${h.os}`);
    if (h.firewallBackend !== "auto" && h.firewallBackend !== "iptables") {
      throw new Error(`the bench playbook covers the iptables firewall (the lab's); ${h.name} uses ${h.firewallBackend}`);
    }
  }
}

/** An ed25519 key pair made with ssh-keygen, as Pulumi's ClusterKey makes one with ssh2. */
function makeKeyPair(dir: string, comment: string): { publicKey: string; privateKey: string } {
  const file = path.join(dir, "cluster_ed25519");
  fs.rmSync(file, { force: true });
  fs.rmSync(`${file}.pub`, { force: true });
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
  return { publicKey: fs.readFileSync(`${file}.pub`, "utf8").trim(), privateKey: fs.readFileSync(file, "utf8") };
}

export function writeAnsibleProject(opts: AnsibleProjectOptions): AnsibleProject {
  const { cluster, dir } = opts;
  checkScope(cluster);
  fs.mkdirSync(path.join(dir, "group_vars"), { recursive: true });
  fs.mkdirSync(path.join(dir, "host_vars"), { recursive: true });
  const { publicKey, privateKey } = makeKeyPair(dir, opts.keyComment);
  const home = opts.home ?? `/home/${cluster.hosts[0].user}`;
  const perHost = cluster.hosts.map((h) => hostVars(cluster, h.name, publicKey, privateKey, home));
  // Values the same on every host go to group_vars, the rest to host_vars (smaller inventory to load).
  const shared: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(perHost[0])) {
    if (perHost.every((v) => JSON.stringify(v[key]) === JSON.stringify(value))) shared[key] = value;
  }
  fs.writeFileSync(path.join(dir, "group_vars", "mpi.yml"), stringify(shared, { lineWidth: 0 }));
  cluster.hosts.forEach((h, i) => {
    const own = Object.fromEntries(Object.entries(perHost[i]).filter(([k]) => !(k in shared)));
    const file = path.join(dir, "host_vars", `${h.name}.yml`);
    if (Object.keys(own).length) fs.writeFileSync(file, stringify(own, { lineWidth: 0 }));
    else fs.rmSync(file, { force: true });
  });
  const inventory = path.join(dir, "inventory.ini");
  const lines = cluster.hosts.map((h) => `${h.name} ansible_host=${h.address} ansible_port=${h.port} ansible_user=${h.user}`);
  fs.writeFileSync(inventory, `[mpi]\n${lines.join("\n")}\n`);
  const config = path.join(dir, "ansible.cfg");
  // Fair settings, as an experienced user would set them: pipelining, ControlPersist (Ansible's default
  // ssh_args), no fact gathering (the playbook needs none), a fixed interpreter (no discovery round trip),
  // and as many forks as hosts (the bench passes -f N; Ansible's default of 5 would serialize 20 hosts).
  fs.writeFileSync(
    config,
    [
      "[defaults]",
      `inventory = ${inventory}`,
      "gathering = explicit",
      "interpreter_python = /usr/bin/python3",
      "host_key_checking = True",
      "retry_files_enabled = False",
      `private_key_file = ${cluster.ssh.privateKeyPath}`,
      "",
      "[ssh_connection]",
      "pipelining = True",
      `ssh_args = -C -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=${opts.knownHostsPath} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes`,
      "",
    ].join("\n"),
  );
  return { dir, playbook: PLAYBOOK, inventory, config };
}
