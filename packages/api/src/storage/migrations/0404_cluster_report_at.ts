/**
 * A cluster row remembers when its last cluster report was received (`last_report_at`), apart from
 * `last_seen_at` (which every node and guest report of the cluster moves too), so a cluster report
 * received before the stored one does not replace its quorate, node count and version when a
 * stalled replica commits it late (storage/ingest-cluster.ts). Older rows keep NULL: the next
 * cluster report is taken.
 */
import type { Kysely } from 'kysely';
import type { Migration } from './types.ts';

export const clusterReportAt0404: Migration = {
  name: '0404_cluster_report_at',
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the schema as it was then
  async up(db: Kysely<any>) {
    await db.schema.alterTable('clusters').addColumn('last_report_at', 'text').execute();
  },
};
