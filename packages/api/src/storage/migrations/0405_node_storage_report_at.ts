/**
 * A node row remembers when the last storage report it took was received (`storage_report_at`),
 * so a storage report received before it does not set the node's storage pools back, bring back a
 * storage the newer report no longer listed, or remove one it added, when a stalled replica commits
 * it late (storage/ingest-storage.ts). Older rows keep NULL: the next storage report is taken.
 */
import type { Kysely } from 'kysely';
import type { Migration } from './types.ts';

export const nodeStorageReportAt0405: Migration = {
  name: '0405_node_storage_report_at',
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the schema as it was then
  async up(db: Kysely<any>) {
    await db.schema.alterTable('nodes').addColumn('storage_report_at', 'text').execute();
  },
};
