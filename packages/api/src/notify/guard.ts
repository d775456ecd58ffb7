/**
 * Which addresses a notification channel may connect to (SSRF defence, docs/security.md).
 *
 * Anyone who can add a channel chooses where the server connects, so without this a write token
 * reaches the server's own loopback services, the LAN and the cloud metadata endpoint. Every address
 * is checked as bytes after parsing, so the spellings that name the same host (`2130706433`,
 * `0x7f.1`, `::ffff:7f00:1`, `[::1]`) cannot slip past a string comparison. Addresses inside the
 * operator's allow-list (NANNYAPI_ALLOWED_CHANNEL_NETWORKS) are let through whatever their class.
 * Pure: no I/O here; outbound.ts resolves names and calls `check` on what it is about to connect to.
 */
import { isIP } from 'node:net';

type Bytes = number[];

export interface Cidr {
  /** 4 or 16 bytes */
  bytes: Bytes;
  prefix: number;
  text: string;
}

/** Parses an IPv4 or IPv6 literal (zone id dropped) into bytes; undefined if it is not one. */
export function ipBytes(ip: string): Bytes | undefined {
  const bare = ip.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 4) return bare.split('.').map(Number);
  if (family !== 6) return undefined;
  let tail: Bytes = [];
  let text = bare;
  // a dotted IPv4 tail (::ffff:1.2.3.4) is the last 32 bits
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  if (dotted) {
    text = `${dotted[1]}0:0`;
    tail = dotted[2]!.split('.').map(Number);
  }
  const [head = '', rest] = text.split('::');
  const groups = (s: string | undefined): number[] =>
    s === undefined || s === '' ? [] : s.split(':').map((g) => parseInt(g, 16));
  const h = groups(head);
  const r = groups(rest);
  const words = rest === undefined ? h : [...h, ...new Array<number>(8 - h.length - r.length).fill(0), ...r];
  const out: Bytes = [];
  for (const w of words) out.push(w >> 8, w & 0xff);
  if (tail.length) out.splice(12, 4, ...tail);
  return out;
}

const v4 = (b: Bytes): string => b.join('.');

function inPrefix(b: Bytes, net: Bytes, prefix: number): boolean {
  if (b.length !== net.length) return false;
  for (let i = 0; i < prefix; i++) {
    const bit = 7 - (i % 8);
    if (((b[i >> 3]! >> bit) & 1) !== ((net[i >> 3]! >> bit) & 1)) return false;
  }
  return true;
}

/** IPv4-mapped (::ffff:a.b.c.d) is the IPv4 host itself for every purpose here. */
function unmap(b: Bytes): Bytes {
  if (b.length === 16 && b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff)
    return b.slice(12);
  return b;
}

const V4_RANGES: readonly [string, number, string][] = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'shared (CGNAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'],
  ['192.0.2.0', 24, 'reserved'],
  ['192.88.99.0', 24, 'reserved'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'reserved'],
  ['198.51.100.0', 24, 'reserved'],
  ['203.0.113.0', 24, 'reserved'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];
const V6_RANGES: readonly [string, number, string][] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['64:ff9b:1::', 48, 'private'],
  ['100::', 64, 'reserved'],
  ['2001::', 32, 'reserved'], // Teredo: hides an IPv4 address we cannot check
  ['2001:db8::', 32, 'reserved'],
  ['fc00::', 7, 'unique-local'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'private'], // deprecated site-local
  ['ff00::', 8, 'multicast'],
  ['::', 8, 'reserved'], // the rest of ::/8, e.g. IPv4-compatible ::a.b.c.d
];
/** cloud instance-metadata services (AWS, GCP, Azure, OCI, Alibaba): named for a clearer refusal */
const METADATA = new Set(['169.254.169.254', '169.254.170.2', '192.0.0.192', '100.100.100.200']);
const METADATA_V6 = ['fd00:ec2::254'].map((s) => ipBytes(s)!.join(','));

const table = (rows: readonly [string, number, string][]) =>
  rows.map(([net, prefix, label]) => ({ bytes: ipBytes(net)!, prefix, label }));
const V4 = table(V4_RANGES);
const V6 = table(V6_RANGES);

/** Why an address is internal ("loopback", "private", "metadata", …), or undefined when it is public. */
export function classify(ip: string): string | undefined {
  const raw = ipBytes(ip);
  if (!raw) return 'not an IP address';
  let b = unmap(raw);
  if (b.length === 16) {
    if (METADATA_V6.includes(b.join(','))) return 'metadata';
    // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address that the path leads to
    if (inPrefix(b, ipBytes('64:ff9b::')!, 96)) b = b.slice(12);
    else if (inPrefix(b, ipBytes('2002::')!, 16)) b = b.slice(2, 6);
  }
  if (b.length === 4) {
    if (METADATA.has(v4(b))) return 'metadata';
    if (v4(b) === '255.255.255.255') return 'broadcast';
    return V4.find((r) => inPrefix(b, r.bytes, r.prefix))?.label;
  }
  return V6.find((r) => inPrefix(b, r.bytes, r.prefix))?.label;
}

/** Parses "10.0.0.0/8, ::1/128, 192.168.1.7" (a bare address is a single host). */
export function parseCidrs(list: readonly string[]): { cidrs: Cidr[]; errors: string[] } {
  const cidrs: Cidr[] = [];
  const errors: string[] = [];
  for (const item of list.map((s) => s.trim()).filter((s) => s !== '')) {
    const [addr = '', len, extra] = item.split('/');
    const bytes = ipBytes(addr);
    const max = bytes ? bytes.length * 8 : 0;
    const prefix = len === undefined ? max : /^\d{1,3}$/.test(len) ? Number(len) : NaN;
    if (!bytes || extra !== undefined || !(prefix >= 0 && prefix <= max)) {
      errors.push(`${item}: not an IP network (e.g. 10.0.0.0/8 or fd00::/8)`);
      continue;
    }
    // an IPv4-mapped network is the IPv4 network
    const v4mapped = bytes.length === 16 && unmap(bytes).length === 4 && prefix >= 96;
    cidrs.push(
      v4mapped ? { bytes: unmap(bytes), prefix: prefix - 96, text: item } : { bytes, prefix, text: item },
    );
  }
  return { cidrs, errors };
}

export interface AddressGuard {
  /** undefined when the address may be connected to, else its class ("loopback", "private", …) */
  refusal(ip: string): string | undefined;
  /** the same as a sentence: "127.0.0.1 is loopback" */
  check(ip: string): string | undefined;
}

export function createAddressGuard(allowed: readonly Cidr[]): AddressGuard {
  const refusal = (ip: string): string | undefined => {
    const raw = ipBytes(ip);
    if (!raw) return 'not an IP address';
    const b = unmap(raw);
    if (allowed.some((c) => inPrefix(b, c.bytes, c.prefix))) return undefined;
    return classify(ip);
  };
  return {
    refusal,
    check(ip) {
      const why = refusal(ip);
      return why === undefined ? undefined : `${ip.replace(/^\[(.*)\]$/, '$1')} is ${why}`;
    },
  };
}
