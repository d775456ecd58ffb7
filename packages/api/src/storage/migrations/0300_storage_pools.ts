/**
 * Storage pools (issue 15): the latest state of every storage per node — a shared storage once per
 * cluster, under node '' — and a short history of its use, from which the fill trend
 * (`days_until_full`) is computed. The history is pruned at ingest to the last 48 hours.
 */
import type { Kysely } from 'kysely';
import type { Migration, MigrationContext } from './types.ts';

export const storagePools0300: Migration = {
  name: '0300_storage_pools',
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the schema as it was then
  async up(db: Kysely<any>, ctx: MigrationContext) {
    await db.schema
      .createTable('storage_pools')
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('cluster_id', 'text', (c) => c.notNull())
      // '' for a shared storage: one row per cluster whichever node reported it
      .addColumn('node', 'text', (c) => c.notNull())
      .addColumn('storage', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('shared', 'integer', (c) => c.notNull())
      .addColumn('enabled', 'integer', (c) => c.notNull())
      .addColumn('active', 'integer', (c) => c.notNull())
      .addColumn('content', 'text')
      .addColumn('used_bytes', ctx.types.bigint)
      .addColumn('total_bytes', ctx.types.bigint)
      .addColumn('avail_bytes', ctx.types.bigint)
      .addColumn('days_until_full', ctx.types.real)
      .addColumn('reported_by', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('storage_pools_pk', ['cluster_id', 'node', 'storage'])
      .execute();
    await db.schema.createIndex('storage_pools_tenant').on('storage_pools').column('tenant_id').execute();
    await db.schema
      .createTable('storage_samples')
      .addColumn('cluster_id', 'text', (c) => c.notNull())
      .addColumn('node', 'text', (c) => c.notNull())
      .addColumn('storage', 'text', (c) => c.notNull())
      .addColumn('ts', 'text', (c) => c.notNull())
      .addColumn('used_bytes', ctx.types.bigint, (c) => c.notNull())
      .addColumn('total_bytes', ctx.types.bigint, (c) => c.notNull())
      .addPrimaryKeyConstraint('storage_samples_pk', ['cluster_id', 'node', 'storage', 'ts'])
      .execute();
  },
};
