/**
 * Did the Ansible playbook make the same changes as `pulumi up`? A plain-tools snapshot of one host
 * (file bytes and modes, the iptables INPUT and MPI-HOSTS chains, the prefix link), taken as root through
 * rootExec, not through either tool. Values that differ between two labs by construction (addresses of
 * the lab subnet, host keys, the cluster key) are masked before the two snapshots are compared.
 */
import { HOSTFILE_PATH } from "../components/facets/hostfile";
import { Lab, rootExec } from "../lab/lab";

const FILES = [
  ".ssh/config",
  ".ssh/authorized_keys",
  ".ssh/mpi-hosts_ed25519.pub",
  ".ssh/mpi-hosts_known_hosts",
  ".openmpi/mca-params.conf",
  ".prte/mca-params.conf",
  HOSTFILE_PATH,
];
const MODES = [".ssh", ".ssh/mpi-hosts_ed25519", ...FILES, ".mpi-hosts"];

export async function snapshotHost(lab: Lab, host: string): Promise<string> {
  const h = lab.hosts.find((x) => x.name === host);
  if (!h) throw new Error(`no host ${host} in lab ${lab.name}`);
  const home = `/home/${h.user}`;
  const script = [
    `cd ${home}`,
    ...FILES.map((f) => `echo "=== ${f}"; cat ${f} 2>&1 || true`),
    `echo "=== modes"`,
    ...MODES.map((f) => `stat -c '%a %U %n' ${f} 2>&1 || true`),
    `echo "=== iptables INPUT"; iptables -w -S INPUT`,
    `echo "=== iptables MPI-HOSTS"; iptables -w -S MPI-HOSTS 2>&1 || true`,
    `echo "=== prefix link"; readlink /opt/anaconda1anaconda2anaconda3 || echo absent`,
    `echo "=== packages"; dpkg-query -W -f '\${Package} \${Status}\\n' openmpi-bin python3-mpi4py`,
  ].join("\n");
  const r = await rootExec(lab, host, script);
  if (r.code !== 0) throw new Error(`bench: snapshot of ${host} failed: ${r.stderr.trim()}`);
  return normalize(r.stdout, lab);
}

/** Masks what two labs always differ in: the subnet, host keys and key material. */
export function normalize(text: string, lab: Pick<Lab, "network">): string {
  const prefix = lab.network.replace(/\.0\/\d+$/, ".");
  return text
    .split(prefix)
    .join("LAB.")
    .replace(/(ssh-ed25519) [A-Za-z0-9+/=]+/g, "$1 KEY")
    .replace(/mpi-hosts (cluster|lab) \S+/g, "mpi-hosts $1 NAME");
}

/** The differing lines ("- pulumi", "+ ansible"), by longest common subsequence; empty when the same. */
export function compareSnapshots(pulumi: string, ansible: string): string[] {
  const a = pulumi.split("\n");
  const b = ansible.split("\n");
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      i++;
      j++;
    } else if (j >= b.length || (i < a.length && lcs[i + 1][j] >= lcs[i][j + 1])) out.push(`- ${a[i++]}`);
    else out.push(`+ ${b[j++]}`);
  }
  return out;
}
