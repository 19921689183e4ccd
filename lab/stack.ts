/** The Pulumi stack config that points mpi-hosts at a running lab. */
import { Document } from "yaml";
import type { Lab } from "./types";

export const STACK_HEADER = "Written by `npm run lab -- up`: the local lab of test hosts. Regenerated on every `lab up`.";

export function renderLabStack(lab: Lab): string {
  const first = lab.hosts[0];
  if (!first) throw new Error(`lab '${lab.name}' has no hosts`);
  const config = {
    "mpi-hosts:ssh": {
      user: first.user,
      port: first.port,
      privateKeyPath: lab.privateKeyPath,
      // As a user with a filled ~/.ssh/known_hosts: no pins, every key listed for the host is accepted.
      ...(lab.knownHosts === "keyscan" ? { knownHostsPath: lab.knownHostsPath } : {}),
    },
    "mpi-hosts:hosts": lab.hosts.map((h) => ({
      name: h.name,
      address: h.address,
      os: "linux",
      slots: lab.slots,
      ...(lab.knownHosts === "keyscan" ? {} : { hostKey: h.hostKey }),
      // This machine has no route to a host behind the bastion: Pulumi reaches it through the bastion (ProxyJump).
      ...(lab.bastion?.behind.includes(h.name) ? { jump: lab.bastion.host } : {}),
    })),
    "mpi-hosts:python": { kind: "system" },
    "mpi-hosts:mpi": { network: lab.network, btlPorts: "50000-50099", oobPorts: "ephemeral" },
    "mpi-hosts:firewall": { backend: "auto", allowFrom: [lab.network] },
    "mpi-hosts:verify": { from: first.name, tests: ["helloworld", "ringtest"], timeoutSeconds: 60 },
  };
  const doc = new Document({ config });
  // The short list of tests reads better inline, as in the brief.
  const tests = doc.getIn(["config", "mpi-hosts:verify", "tests"], true) as { flow?: boolean } | undefined;
  if (tests) tests.flow = true;
  return `# ${STACK_HEADER}\n${doc.toString({ lineWidth: 0, flowCollectionPadding: false })}`;
}
