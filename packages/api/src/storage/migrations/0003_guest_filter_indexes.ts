/**
 * Indexes for the common guest filters (by node, by status), so a filtered page over 100,000
 * guests walks only the matching rows in VMID order. Cheap on ingest: guest updates SET only
 * changed columns, so these are touched only when a guest moves or changes status.
 */
import type { Kysely } from 'kysely';
import type { Migration } from './types.ts';

export const guestFilterIndexes0003: Migration = {
  name: '0003_guest_filter_indexes',
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the schema as it was then
  async up(db: Kysely<any>) {
    await db.schema
      .createIndex('guests_by_node')
      .on('guests')
      .columns(['tenant_id', 'node_name', 'gone_at', 'vmid'])
      .execute();
    await db.schema
      .createIndex('guests_by_status')
      .on('guests')
      .columns(['tenant_id', 'status', 'gone_at', 'vmid'])
      .execute();
  },
};
