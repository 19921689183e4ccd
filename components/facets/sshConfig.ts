/** sshConfig: a managed block in ~/.ssh/config giving every cluster host its alias, address, port and user. */
import { templates } from "../templates/templates";
import { defineFacet, FACET_TIMEOUT_SECONDS, managedBlock } from "./facet";
import { facetInputsRef } from "./inputSchemas";
import { renderScripts } from "./scripts";

export const sshConfig = defineFacet({
  name: "sshConfig",
  appliesTo: () => true,
  privileged: false,
  probePrivileged: false,
  timeoutSeconds: FACET_TIMEOUT_SECONDS,
  secretEnv: [],
  inputs: ({ cluster, host }) => ({
    host: host.name,
    hosts: cluster.hosts.map(({ name, address, port, user }) => ({ name, address, port, user })),
    connectTimeout: cluster.ssh.connectTimeoutSeconds,
  }),
  inputSchema: facetInputsRef("sshConfigInputs"),
  // The probe reads only the header; `hosts` keeps the own entry so that the reduced inputs still render.
  probeInputs: (i) => ({ ...i, hosts: i.hosts.filter((h) => h.name === i.host) }),
  render({ host, hosts, connectTimeout }) {
    const block = managedBlock(templates().render("sshConfig/block.conf", { hosts, connectTimeout }));
    const vars = { block: block.replace(/\n$/, ""), firstHost: hosts[0].name, hostCount: hosts.length };
    return {
      desired: { block },
      files: { "ssh_config.block": block },
      scripts: renderScripts("sshConfig", host, "sshConfig", vars),
    };
  },
});
