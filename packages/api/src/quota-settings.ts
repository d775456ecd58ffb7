/**
 * Per-organisation quotas (issue 13, M7): how many clusters, nodes and guests one organisation's
 * agents may make the server store. Part of API_SETTINGS (config.ts); enforced at ingest
 * (storage/ingest-quota.ts).
 */
import { integer, type Schema } from '@nanny/settings';
import type { Quotas } from './storage/storage.ts';

const quota = (key: string, what: string, env: string, flag: string, def: string) => ({
  key,
  env,
  flag,
  arg: 'N',
  kind: integer(0, 100_000_000),
  default: def,
  doc: `${what} one organisation may hold; a report that would add one more answers 403 \`quota_exceeded\` (the ones already stored keep updating); \`0\` = no limit`,
});

export const QUOTA_SETTINGS: Schema = [
  quota(
    'quotaClusters',
    'Clusters (a standalone node is one)',
    'NANNYAPI_QUOTA_CLUSTERS',
    'quota-clusters',
    '1000',
  ),
  quota('quotaNodes', 'Nodes', 'NANNYAPI_QUOTA_NODES', 'quota-nodes', '5000'),
  quota(
    'quotaGuests',
    'Guests (LXC and QEMU, gone ones included until retention removes them)',
    'NANNYAPI_QUOTA_GUESTS',
    'quota-guests',
    '100000',
  ),
];

export function quotasOf(v: Record<string, unknown>): Quotas {
  return {
    clusters: v['quotaClusters'] as number,
    nodes: v['quotaNodes'] as number,
    guests: v['quotaGuests'] as number,
  };
}
