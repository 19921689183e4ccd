/**
 * Which firewall backend exists on which OS. The backends themselves are the schema's (FIREWALL_BACKEND_VALUES):
 * a backend the schema gains does not compile until it is placed here.
 */
import { FIREWALL_BACKEND_VALUES, FirewallBackend, Os } from "./rawConfig";

/** The OS each backend exists on; `auto` and `none` fit every OS. */
export const BACKEND_OS = {
  auto: "any",
  nftables: "linux",
  iptables: "linux",
  ufw: "linux",
  firewalld: "linux",
  pf: "macos",
  none: "any",
} as const satisfies Record<FirewallBackend, Os | "any">;

/** The backends of one OS only: BackendOn<"linux"> is nftables | iptables | ufw | firewalld. */
export type BackendOn<O extends Os> = { [B in FirewallBackend]: (typeof BACKEND_OS)[B] extends O ? B : never }[FirewallBackend];

export function backendExistsOn(backend: FirewallBackend, os: Os): boolean {
  return BACKEND_OS[backend] === "any" || BACKEND_OS[backend] === os;
}

/** The backends an OS has, in the schema's order, for messages: "auto, pf or none". */
export function backendsOn(os: Os): string {
  const names = FIREWALL_BACKEND_VALUES.filter((b) => backendExistsOn(b, os));
  return `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}`;
}
