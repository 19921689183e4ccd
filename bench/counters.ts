/**
 * Counts, on every lab host, what one operation cost it in SSH terms:
 *  - connections: TCP SYNs to the SSH port, counted by an iptables rule without a target in the
 *    mangle table's PREROUTING chain (it only counts; it cannot change what the filter table does, and
 *    it stays out of INPUT, where the firewall facet insists on its jump being rule 1);
 *  - sessions (round trips): every session channel sshd starts for the login user (exec, shell or a
 *    subsystem such as sftp) runs the user's login shell, so the user's shell becomes a wrapper that
 *    appends one line to a log and then execs bash with the same arguments. One `exec` request = one
 *    line, whatever the client (ssh2, OpenSSH with ControlMaster, mpirun's own ssh).
 * Both are read and zeroed together after each operation, outside its timing.
 * Cross-check: sshd's own "Accepted publickey" lines in the host's console.log (see lab/README.md).
 */
import * as fs from "fs";
import * as path from "path";
import { Lab, rootExec } from "../lab/lab";

const SHELL = "/usr/local/bin/mpi-hosts-bench-shell";
const LOG = "/run/mpi-hosts-bench-sessions.log";
const MARK = "@session ";

export interface HostCount {
  host: string;
  connections: number;
  sessions: number;
  /** sshd's "Accepted publickey" lines since the last read (an independent count of connections). */
  accepted: number;
  /** The first 70 characters of each session's command, for the curious (e.g. "sh -s", "/bin/sh -c '/usr/bin/python3 && sleep 0'"). */
  commands: string[];
}

function installScript(user: string, port: number): string {
  return `set -eu
cat >${SHELL} <<'EOF'
#!/bin/sh
# mpi-hosts bench: counts session channels (one line each), then runs the real login shell.
printf '${MARK}%.70s\\n' "\${2:-(no command)}" >>${LOG} 2>/dev/null || true
exec /bin/bash "$@"
EOF
chmod 755 ${SHELL}
: >${LOG}
chmod 666 ${LOG}
usermod -s ${SHELL} ${user}
iptables -w -t mangle -C PREROUTING -p tcp --dport ${port} --syn 2>/dev/null || iptables -w -t mangle -A PREROUTING -p tcp --dport ${port} --syn
iptables -w -t mangle -Z PREROUTING
`;
}

function readScript(port: number): string {
  return `set -eu
# Listed, then zeroed: nothing runs in between (the operation has finished).
listing=$(iptables -w -t mangle -L PREROUTING -v -x -n)
iptables -w -t mangle -Z PREROUTING
printf '%s\\n' "$listing" | awk '$3 == "tcp" && /dpt:${port} / && /flags:/ { print "connections", $1 }'
grep -F '${MARK}' ${LOG} | sed 's/^/command /' || true
: >${LOG}
`;
}

export async function installCounters(lab: Lab): Promise<void> {
  await Promise.all(
    lab.hosts.map(async (h) => {
      const r = await rootExec(lab, h.name, installScript(h.user, h.port));
      if (r.code !== 0) throw new Error(`bench: cannot install the SSH counters on ${h.name}: ${r.stderr.trim()}`);
    }),
  );
  acceptedSoFar.clear();
  for (const h of lab.hosts) acceptedSoFar.set(`${lab.name}/${h.name}`, countAccepted(lab, h.name));
}

const acceptedSoFar = new Map<string, number>();

function countAccepted(lab: Lab, host: string): number {
  try {
    const text = fs.readFileSync(path.join(lab.dir, "hosts", host, "console.log"), "utf8");
    return text.split("\n").filter((l) => l.startsWith("Accepted publickey for ")).length;
  } catch {
    return 0;
  }
}

/** What every host saw since the last read (or the install), and zeroes the counts. */
export async function readCounters(lab: Lab): Promise<HostCount[]> {
  return Promise.all(
    lab.hosts.map(async (h) => {
      const r = await rootExec(lab, h.name, readScript(h.port));
      if (r.code !== 0) throw new Error(`bench: cannot read the SSH counters on ${h.name}: ${r.stderr.trim()}`);
      const lines = r.stdout.split("\n");
      const connections = Number(lines.find((l) => l.startsWith("connections "))?.split(" ")[1] ?? NaN);
      const commands = lines.filter((l) => l.startsWith(`command ${MARK}`)).map((l) => l.slice(`command ${MARK}`.length));
      const key = `${lab.name}/${h.name}`;
      const now = countAccepted(lab, h.name);
      const accepted = now - (acceptedSoFar.get(key) ?? 0);
      acceptedSoFar.set(key, now);
      return { host: h.name, connections, sessions: commands.length, accepted, commands };
    }),
  );
}
