/**
 * Replicas (issue 14): a durable queue written in the ingest transaction, read in order by whichever
 * replica leads, and the leader's epoch (the fencing token every evaluation commit checks).
 */
import type { ColumnDefinitionBuilder, Kysely } from 'kysely';
import type { Migration, MigrationContext } from './types.ts';

export const replicas0200: Migration = {
  name: '0200_replicas',
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the schema as it was then
  async up(db: Kysely<any>, ctx: MigrationContext) {
    const t = db.schema.createTable('ingest_queue');
    await (
      ctx.dialect === 'sqlite'
        ? t.addColumn('seq', 'integer', (c: ColumnDefinitionBuilder) => c.primaryKey().autoIncrement())
        : t.addColumn('seq', 'bigserial', (c: ColumnDefinitionBuilder) => c.primaryKey())
    )
      // who reads the row ("alerts"); a row leaves the queue in the reader's own transaction
      .addColumn('topic', 'text', (c) => c.notNull())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('body', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('ingest_queue_topic').on('ingest_queue').columns(['topic', 'seq']).execute();
    await db.schema
      .createTable('nanny_leader')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('epoch', ctx.types.bigint, (c) => c.notNull())
      .addColumn('holder', 'text', (c) => c.notNull())
      .addColumn('since', 'text', (c) => c.notNull())
      .execute();
  },
};
