/** IPv4 arithmetic for validation and rendering; no lookups, no I/O. */

export interface Ipv4Net {
  /** Network address, e.g. 10.0.0.0 */
  readonly network: string;
  readonly prefix: number;
  /** As written in the spec, normalized to the network address: 10.0.0.0/12 */
  readonly cidr: string;
  readonly base: number;
  readonly size: number;
}

export function ipToInt(ip: string): number {
  const parts = ip.split(".").map(Number);
  return (((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!) >>> 0;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

export function parseCidr(cidr: string): Ipv4Net {
  const [ip, p] = cidr.split("/");
  const prefix = Number(p);
  const size = 2 ** (32 - prefix);
  const base = prefix === 0 ? 0 : (ipToInt(ip!) & (~(size - 1) >>> 0)) >>> 0;
  return { network: intToIp(base), prefix, cidr: `${intToIp(base)}/${prefix}`, base, size };
}

export function contains(net: Ipv4Net, ip: string): boolean {
  const n = ipToInt(ip);
  return n >= net.base && n < net.base + net.size;
}

/** The network or broadcast address of a net with room for hosts (prefix ≤ 30). */
export function isReserved(net: Ipv4Net, ip: string): boolean {
  if (net.prefix > 30) return false;
  const n = ipToInt(ip);
  return n === net.base || n === net.base + net.size - 1;
}

/** True when the CIDR was written with host bits set (10.15.253.163/12). */
export function hasHostBits(cidr: string): boolean {
  const [ip] = cidr.split("/");
  return ipToInt(ip!) !== parseCidr(cidr).base;
}

export function overlaps(a: Ipv4Net, b: Ipv4Net): boolean {
  return a.base < b.base + b.size && b.base < a.base + a.size;
}
