/**
 * The key a per-client limit counts under (rate limit per address, login backoff per address,
 * connection cap). An IPv4 client has one address; an IPv6 client is normally given a whole /64
 * (SLAAC, privacy addresses) and can use any of its 2^64 addresses, so keying on the full address
 * gave every request its own bucket. IPv6 clients are counted per /64; an IPv4-mapped address
 * (`::ffff:192.0.2.1`, a dual-stack listener) is its IPv4 address.
 */
import { ipBytes } from './notify/guard.ts';

export function clientKey(address: string): string {
  const b = ipBytes(address);
  if (!b) return address;
  if (b.length === 4) return b.join('.');
  if (b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return b.slice(12).join('.');
  const hex = (i: number) => ((b[i]! << 8) | b[i + 1]!).toString(16);
  return `${hex(0)}:${hex(2)}:${hex(4)}:${hex(6)}::/64`;
}
