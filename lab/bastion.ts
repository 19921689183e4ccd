/**
 * Lab hosts reachable only through another lab host (a bastion), as on a private network behind a gateway: this
 * machine (the controller: Pulumi, the CLI, the tests) has no route to them (an `unreachable` route for each address,
 * so a direct connection fails at once with "No route to host"), while the other lab hosts still reach them on the
 * bridge (MPI needs that, and so does the bastion). Nothing on the hidden host changes: its sshd and firewall are the
 * same as every other host's.
 */
import type { JumpConnection } from "../components/provider/remote";
import { run, runOk } from "./run";
import type { BastionPlan, Lab } from "./types";

export type { BastionPlan } from "./types";

/** Checks the option against the lab's host names; the bastion defaults to the first host that is not behind it. */
export function planBastion(hostNames: string[], behind: string[] | undefined, bastion?: string): BastionPlan | undefined {
  if (!behind || behind.length === 0) {
    if (bastion) throw new Error(`bastion ${bastion} is given, but no host is behind it (behindBastion)`);
    return undefined;
  }
  for (const h of behind) {
    if (!hostNames.includes(h)) throw new Error(`behindBastion names ${h}, which is not a host of this lab (${hostNames.join(", ")})`);
  }
  const host = bastion ?? hostNames.find((h) => !behind.includes(h));
  if (!host) throw new Error(`every host is behind the bastion (${behind.join(", ")}); leave at least one reachable`);
  if (!hostNames.includes(host)) throw new Error(`bastion ${host} is not a host of this lab (${hostNames.join(", ")})`);
  if (behind.includes(host)) throw new Error(`${host} cannot be both the bastion and behind it`);
  return { host, behind: [...new Set(behind)] };
}

/** Takes away this machine's route to each hidden address (kept across host reboots: it lives on this machine). */
export async function hideFromController(addresses: string[]): Promise<void> {
  for (const a of addresses) await runOk("ip", ["route", "replace", "unreachable", `${a}/32`]);
}

/** Removes every `unreachable` route into the lab's network (all a lab made, and leftovers of one that crashed). */
export async function unhideLabNetwork(network: string): Promise<void> {
  const prefix = network.replace(/\.0\/24$/, ".");
  const routes = await runOk("ip", ["-o", "-4", "route", "show", "type", "unreachable"]);
  for (const line of routes.split("\n")) {
    const address = /^unreachable (\d+\.\d+\.\d+\.\d+)(\/32)?\b/.exec(line.trim())?.[1];
    if (address?.startsWith(prefix)) await run("ip", ["route", "del", "unreachable", `${address}/32`]);
  }
}

/**
 * The first line a hidden host's sshd sends, read from inside the host's own network namespace (this machine cannot
 * connect to it), or undefined when nothing answers yet.
 */
export async function readSshBannerInside(netns: string, address: string, port: number, timeoutMs: number): Promise<string | undefined> {
  const script = 'exec 3<>"/dev/tcp/$1/$2" || exit 1; IFS= read -r line <&3; printf "%s" "$line"';
  const result = await run("nsenter", [`--net=/run/netns/${netns}`, "--", "/bin/bash", "-c", script, "banner", address, String(port)], {
    timeoutMs,
  });
  return result.code === 0 && result.stdout ? result.stdout.trim() : undefined;
}

/** A lab host's bastion as a Connection's `jump` takes it (the tests' connections): `{ jump }` behind one, else `{}`. */
export function labJump(lab: Pick<Lab, "bastion" | "hosts">, host: string): { jump?: JumpConnection } {
  if (!lab.bastion?.behind.includes(host)) return {};
  const b = lab.hosts.find((h) => h.name === lab.bastion!.host)!;
  return { jump: { name: b.name, address: b.address, port: b.port, user: b.user, hostKeys: b.hostKeys } };
}
