/**
 * Issue 15: the latest operations report (backups, ha, replication, …) per cluster, node and kind.
 * Cluster-wide kinds (ha) are kept once per cluster under node ''. The payload is the validated
 * report as JSON; the read API (GET /api/backups, /api/ha, /api/replication) flattens it.
 */
import type { Kysely } from 'kysely';
import type { Migration } from './types.ts';

export const opsReports0310: Migration = {
  name: '0310_ops_reports',
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the schema as it was then
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('ops_reports')
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('cluster_id', 'text', (c) => c.notNull())
      .addColumn('node', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('reporter', 'text', (c) => c.notNull())
      .addColumn('received_at', 'text', (c) => c.notNull())
      .addColumn('collected_at', 'text')
      // ha: the manager's timestamp; a report with an older one is a stale view and is not kept
      .addColumn('version', 'integer')
      .addColumn('payload', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('ops_reports_pk', ['cluster_id', 'node', 'kind'])
      .execute();
    await db.schema
      .createIndex('ops_reports_tenant_kind')
      .on('ops_reports')
      .columns(['tenant_id', 'kind'])
      .execute();
  },
};
