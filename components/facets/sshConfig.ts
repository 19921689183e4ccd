/** sshConfig: a managed block in ~/.ssh/config giving every cluster host its alias, address, port and user. */
import { templates } from "../templates/templates";
import { FacetDefinition } from "./facet";
import { renderScripts } from "./scripts";

export const sshConfig: FacetDefinition = {
  name: "sshConfig",
  appliesTo: () => true,
  render({ cluster, host }) {
    const block = templates().render("sshConfig/block.conf", {
      hosts: cluster.hosts,
      connectTimeout: cluster.ssh.connectTimeoutSeconds,
    });
    const vars = { block: block.replace(/\n$/, ""), firstHost: cluster.hosts[0].name, hostCount: cluster.hosts.length };
    return {
      facet: "sshConfig",
      host: host.name,
      privileged: false,
      probePrivileged: false,
      desired: { block },
      files: { "ssh_config.block": block },
      scripts: renderScripts("sshConfig", host, "sshConfig", vars),
      secretEnv: [],
    };
  },
};
