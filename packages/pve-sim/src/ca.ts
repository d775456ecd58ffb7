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

/** PEM of a self-signed CA certificate; same (seed, notBefore) → byte-identical PEM. */
export function clusterCaPem(seed: number, notBefore: number): string {
  const material = createHash('sha256').update(`pve-sim-ca:${seed}`).digest();
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), material]);
  const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  const ouHex = createHash('sha256').update(`pve-sim-ou:${seed}`).digest('hex');
  const ou = `${ouHex.slice(0, 8)}-${ouHex.slice(8, 12)}-4${ouHex.slice(13, 16)}-8${ouHex.slice(17, 20)}-${ouHex.slice(20, 32)}`;
  const name = seq(
    set(seq(oid('2.5.4.3'), utf8('Proxmox Virtual Environment'))),
    set(seq(oid('2.5.4.11'), utf8(ou))),
    set(seq(oid('2.5.4.10'), utf8('PVE Cluster Manager CA'))),
  );
  const serial = Buffer.from(createHash('sha256').update(`pve-sim-serial:${seed}`).digest().subarray(0, 16));
  serial[0] = serial[0]! & 0x7f;
  const algo = seq(oid('1.3.101.112'));
  const extensions = tlv(
    0xa3,
    seq(
      seq(oid('2.5.29.19'), tlv(0x01, Buffer.from([0xff])), tlv(0x04, seq(tlv(0x01, Buffer.from([0xff]))))),
      seq(oid('2.5.29.15'), tlv(0x01, Buffer.from([0xff])), tlv(0x04, tlv(0x03, Buffer.from([0x01, 0x06])))),
    ),
  );
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))),
    tlv(0x02, serial),
    algo,
    name,
    seq(time(notBefore), time(notBefore + 10 * 365 * 86400)),
    name,
    Buffer.from(spki),
    extensions,
  );
  const signature = sign(null, tbs, key);
  const der = seq(tbs, algo, tlv(0x03, Buffer.from([0]), signature));
  const b64 = der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}
