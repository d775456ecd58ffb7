/**
 * What of a report is stored (issue 13, M7). The wire keeps the spec's rule "extra fields accepted"
 * (a newer agent may send more), but storage keeps only the fields the payload schema knows plus a
 * bounded `extra` map of unknown scalars: 100 reports carrying 1 MB of unknown fields each must not
 * become 100 MB of database.
 */
import { OPS_SCHEMAS, PAYLOAD_SCHEMAS, type OpsKind, type PayloadKind } from '@nanny/schema';
import { Value } from '@sinclair/typebox/value';

export const EXTRA_MAX_KEYS = 32;
export const EXTRA_MAX_BYTES = 4096;

const KNOWN: Record<PayloadKind, ReadonlySet<string>> = {
  cluster: new Set(Object.keys(PAYLOAD_SCHEMAS.cluster.properties)),
  node: new Set(Object.keys(PAYLOAD_SCHEMAS.node.properties)),
  lxc: new Set(Object.keys(PAYLOAD_SCHEMAS.lxc.properties)),
  qemu: new Set(Object.keys(PAYLOAD_SCHEMAS.qemu.properties)),
  storage: new Set(Object.keys(PAYLOAD_SCHEMAS.storage.properties)),
};

export interface BoundedReport {
  payload: Record<string, unknown>;
  /** unknown fields left out (not scalars, or past the key or byte budget) */
  dropped: number;
}

export function boundReport(kind: PayloadKind, body: Record<string, unknown>): BoundedReport {
  const known = KNOWN[kind];
  const payload: Record<string, unknown> = {};
  const extra: Record<string, string | number | boolean | null> = {};
  let keys = 0;
  let bytes = 0;
  let dropped = 0;
  for (const [k, v] of Object.entries(body)) {
    if (known.has(k)) {
      payload[k] = v;
      continue;
    }
    const scalar = v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
    const size = k.length + (scalar ? JSON.stringify(v).length : 0);
    if (!scalar || keys >= EXTRA_MAX_KEYS || bytes + size > EXTRA_MAX_BYTES) {
      dropped++;
      continue;
    }
    extra[k] = v;
    keys++;
    bytes += size;
  }
  if (keys > 0) payload['extra'] = extra;
  return { payload, dropped };
}

/**
 * An operations report (backups, ha, replication) keeps only what its schema knows, nested objects
 * included: it is stored whole as the node's latest report and nothing reads more of it, while a
 * body could carry a megabyte of unknown fields beside a few known ones.
 */
export function boundOpsReport(kind: OpsKind, body: Record<string, unknown>): BoundedReport {
  const schema = OPS_SCHEMAS[kind];
  const dropped = Object.keys(body).filter((k) => !(k in schema.properties)).length;
  return { payload: Value.Clean(schema, structuredClone(body)) as Record<string, unknown>, dropped };
}
