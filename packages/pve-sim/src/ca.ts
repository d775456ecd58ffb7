// pve-root-ca.pem: a real, self-signed X.509 CA certificate, derived from a seed so that a layout is
// reproducible. The subject follows PVE's gen_pveca_cert (CN=Proxmox Virtual Environment,
// OU=<random UUID>, O=PVE Cluster Manager CA). Deliberate difference: real PVE uses an RSA-4096 key;
// RSA key generation cannot be seeded with node:crypto, so we use Ed25519 (signatures are
// deterministic), which keeps "same cluster = same PEM, other cluster = other PEM" exact.
import { createHash, createPrivateKey, createPublicKey, sign } from 'node:crypto';

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  while (n > 0) {
    bytes.unshift(n & 0xff);
    n >>= 8;
  }
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, ...body: Buffer[]): Buffer => {
  const b = Buffer.concat(body);
  return Buffer.concat([Buffer.from([tag]), len(b.length), b]);
};
const seq = (...b: Buffer[]): Buffer => tlv(0x30, ...b);
const set = (...b: Buffer[]): Buffer => tlv(0x31, ...b);
const utf8 = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));
function oid(dotted: string): Buffer {
  const p = dotted.split('.').map(Number);
  const out: number[] = [40 * p[0]! + p[1]!];
  for (const v of p.slice(2)) {
    const chunk: number[] = [v & 0x7f];
    let x = v >> 7;
    while (x > 0) {
      chunk.unshift((x & 0x7f) | 0x80);
      x >>= 7;
    }
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}
function time(epoch: number): Buffer {
  const iso = new Date(epoch * 1000).toISOString(); // 2025-11-24T16:00:00.000Z
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '');
  const year = Number(digits.slice(0, 4));
  return year < 2050 ? tlv(0x17, Buffer.from(digits.slice(2) + 'Z')) : tlv(0x18, Buffer.from(digits + 'Z'));
}

function caKey(seed: number): ReturnType<typeof createPrivateKey> {
  const material = createHash('sha256').update(`pve-sim-ca:${seed}`).digest();
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), material]);
  return createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
}

/** A node key's SubjectPublicKeyInfo (DER), derived from a seed (pve-ssl.key stand-in). */
export function nodeKeySpki(seed: number): Buffer {
  return Buffer.from(createPublicKey(caKey(seed ^ 0x5a5a5a5a)).export({ format: 'der', type: 'spki' }));
}

function caName(seed: number): Buffer {
  const ouHex = createHash('sha256').update(`pve-sim-ou:${seed}`).digest('hex');
  const ou = `${ouHex.slice(0, 8)}-${ouHex.slice(8, 12)}-4${ouHex.slice(13, 16)}-8${ouHex.slice(17, 20)}-${ouHex.slice(20, 32)}`;
  return seq(
    set(seq(oid('2.5.4.3'), utf8('Proxmox Virtual Environment'))),
    set(seq(oid('2.5.4.11'), utf8(ou))),
    set(seq(oid('2.5.4.10'), utf8('PVE Cluster Manager CA'))),
  );
}

function serialOf(label: string): Buffer {
  const serial = Buffer.from(createHash('sha256').update(label).digest().subarray(0, 16));
  // DER INTEGER: positive (top bit clear) and minimal (no leading zero byte), or OpenSSL rejects
  // the certificate with 'illegal padding' — 0x40..0x7f as the first byte satisfies both.
  serial[0] = (serial[0]! & 0x3f) | 0x40;
  return serial;
}

function toPem(der: Buffer): string {
  const b64 = der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

const ED25519 = (): Buffer => seq(oid('1.3.101.112'));
const critical = (): Buffer => tlv(0x01, Buffer.from([0xff]));

/** PEM of a self-signed CA certificate; same (seed, notBefore) → byte-identical PEM. */
export function clusterCaPem(seed: number, notBefore: number): string {
  const key = caKey(seed);
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  const name = caName(seed);
  const extensions = tlv(
    0xa3,
    seq(
      seq(oid('2.5.29.19'), critical(), tlv(0x04, seq(tlv(0x01, Buffer.from([0xff]))))),
      seq(oid('2.5.29.15'), critical(), tlv(0x04, tlv(0x03, Buffer.from([0x01, 0x06])))),
    ),
  );
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))),
    tlv(0x02, serialOf(`pve-sim-serial:${seed}`)),
    ED25519(),
    name,
    seq(time(notBefore), time(notBefore + 10 * 365 * 86400)),
    name,
    Buffer.from(spki),
    extensions,
  );
  return toPem(seq(tbs, ED25519(), tlv(0x03, Buffer.from([0]), sign(null, tbs, key))));
}

/**
 * A node certificate signed by the cluster CA, as pveproxy serves it (pve-ssl.pem: subject
 * OU=PVE Cluster Node, O=Proxmox Virtual Environment, CN=<node>; SAN with the node name, its IP,
 * localhost and 127.0.0.1). `publicKeySpki` is the DER SubjectPublicKeyInfo of the server key.
 */
export function issueNodeCertPem(
  caSeed: number,
  node: string,
  ips: string[],
  publicKeySpki: Buffer,
  notBefore: number,
  days = 2 * 365,
): string {
  const subject = seq(
    set(seq(oid('2.5.4.11'), utf8('PVE Cluster Node'))),
    set(seq(oid('2.5.4.10'), utf8('Proxmox Virtual Environment'))),
    set(seq(oid('2.5.4.3'), utf8(node))),
  );
  const ipBytes = (ip: string): Buffer => Buffer.from(ip.split('.').map(Number));
  const san = seq(
    tlv(0x82, Buffer.from('localhost', 'ascii')),
    tlv(0x82, Buffer.from(node, 'ascii')),
    ...[...new Set(['127.0.0.1', ...ips])]
      .filter((ip) => /^\d+\.\d+\.\d+\.\d+$/.test(ip))
      .map((ip) => tlv(0x87, ipBytes(ip))),
  );
  const extensions = tlv(
    0xa3,
    seq(
      seq(oid('2.5.29.19'), tlv(0x04, seq())),
      seq(oid('2.5.29.15'), critical(), tlv(0x04, tlv(0x03, Buffer.from([0x05, 0xa0])))),
      seq(oid('2.5.29.37'), tlv(0x04, seq(oid('1.3.6.1.5.5.7.3.1')))),
      seq(oid('2.5.29.17'), tlv(0x04, san)),
    ),
  );
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))),
    tlv(0x02, serialOf(`pve-sim-node:${caSeed}:${node}:${notBefore}`)),
    ED25519(),
    caName(caSeed),
    seq(time(notBefore), time(notBefore + days * 86400)),
    subject,
    publicKeySpki,
    extensions,
  );
  return toPem(seq(tbs, ED25519(), tlv(0x03, Buffer.from([0]), sign(null, tbs, caKey(caSeed)))));
}
