/** Parsing of the network values in the config: port ranges and IPv4 CIDRs. */
import { PortRange } from "./types";

/**
 * The ports the runtime may get from the system when no fixed range is set (`oobPorts: ephemeral`): the ephemeral
 * ports of Linux (net.ipv4.ip_local_port_range, 32768-60999 by default) and of macOS (net.inet.ip.portrange.first
 * and .last, 49152-65535), together. The verification job checks that a host really hands out ports in here.
 */
export const EPHEMERAL_PORTS: PortRange = { first: 32768, last: 65535 };

export const EPHEMERAL = "ephemeral";

export function parsePortRange(text: string): PortRange {
  const [first, last] = text.split("-").map(Number);
  return { first, last };
}

export function formatPortRange(range: PortRange): string {
  return `${range.first}-${range.last}`;
}

export function portCount(range: PortRange): number {
  return range.last - range.first + 1;
}

export function rangesOverlap(a: PortRange, b: PortRange): boolean {
  return a.first <= b.last && b.first <= a.last;
}

export function rangeContains(range: PortRange, port: number): boolean {
  return range.first <= port && port <= range.last;
}

export interface Cidr {
  address: number;
  prefix: number;
}

/** Returns the CIDR, or a reason why the text is not one. */
export function parseCidr(text: string): Cidr | string {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text);
  if (!match) return "not an IPv4 CIDR";
  const octets = match.slice(1, 5).map(Number);
  if (octets.some((o) => o > 255)) return "has an octet above 255";
  const prefix = Number(match[5]);
  if (prefix > 32) return "has a prefix length above 32";
  const address = octets.reduce((acc, o) => acc * 256 + o, 0);
  const hostBits = prefix === 32 ? 0 : address % 2 ** (32 - prefix);
  if (hostBits !== 0) {
    return `has host bits set (did you mean ${formatIpv4(address - hostBits)}/${prefix}?)`;
  }
  return { address, prefix };
}

export function formatIpv4(address: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(address / 2 ** shift) % 256).join(".");
}

export function isIpv4(text: string): boolean {
  const parts = text.split(".");
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

export function cidrContains(cidr: Cidr, ipv4: string): boolean {
  const address = ipv4.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
  const size = 2 ** (32 - cidr.prefix);
  return Math.floor(address / size) === Math.floor(cidr.address / size);
}
