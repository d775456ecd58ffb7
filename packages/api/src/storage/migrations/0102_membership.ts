/**
 * One truth from many views (docs/detection.md): every reporter's latest view of its cluster, and
 * per node what its own agent last said and the state derived from all views with since when it
 * holds. Stored, not kept in memory, so replicas and restarts agree on states and their `since`.
 */
import type { Kysely } from 'kysely';
import type { Migration } from './types.ts';

export const membership0102: Migration = {
  name: '0102_membership',
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the schema as it was then
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('membership_views')
      .addColumn('cluster_id', 'text', (c) => c.notNull())
      .addColumn('reporter', 'text', (c) => c.notNull())
      .addColumn('received_at', 'text', (c) => c.notNull())
      .addColumn('quorate', 'integer', (c) => c.notNull())
      // [{"name": "pve1", "online": true}, ...] as the reporter's partition sees them
      .addColumn('members', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('membership_views_pk', ['cluster_id', 'reporter'])
      .execute();
    await db.schema
      .createTable('membership_nodes')
      .addColumn('cluster_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('last_report_at', 'text')
      .addColumn('interval_seconds', 'integer')
      .addColumn('heartbeat_seconds', 'integer')
      .addColumn('state', 'text')
      .addColumn('since', 'text')
      .addPrimaryKeyConstraint('membership_nodes_pk', ['cluster_id', 'name'])
      .execute();
  },
};
