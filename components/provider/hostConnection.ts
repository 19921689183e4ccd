/**
 * How the controller reaches a host of the stack config, as the SSH layer (./remote) takes it: address, port, login
 * user, the host keys to accept and where they came from, the bastion. No credential: the plugin logs in with what its
 * machine has (credentials.ts), so the facets' records and the verification job's inputs hold none.
 */
import { hostKeysFrom } from "../config/knownHosts";
import { jumpOf } from "../config/jump";
import { Cluster, Host } from "../config/types";
import type { Connection } from "./remote";

export type HostConnection = Omit<Connection, "login">;

export function hostConnection(cluster: Pick<Cluster, "ssh">, host: Host): HostConnection {
  return {
    name: host.name,
    address: host.address,
    port: host.port,
    user: host.user,
    hostKeys: host.hostKeys,
    revokedKeys: host.revokedKeys,
    hostKeysFrom: hostKeysFrom(cluster, host),
    connectTimeoutSeconds: cluster.ssh.connectTimeoutSeconds,
    ...jumpOf(host),
  };
}
