/**
 * The dashboard's change feed across replicas (issue 16): what the alert leader changed (alerts
 * fired or resolved, by a report or by the timer) is written here in its evaluation transaction,
 * and every replica's live hub reads the rows after the last one it saw, so a stream open on any
 * replica hears of it. Rows are kept for minutes only (storage/live-changes.ts).
 */
import type { ColumnDefinitionBuilder, Kysely } from 'kysely';
import type { Migration, MigrationContext } from './types.ts';

export const liveChanges0400: Migration = {
  name: '0400_live_changes',
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the schema as it was then
  async up(db: Kysely<any>, ctx: MigrationContext) {
    const t = db.schema.createTable('live_changes');
    await (
      ctx.dialect === 'sqlite'
        ? t.addColumn('seq', 'integer', (c: ColumnDefinitionBuilder) => c.primaryKey().autoIncrement())
        : t.addColumn('seq', 'bigserial', (c: ColumnDefinitionBuilder) => c.primaryKey())
    )
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      // what changed ("alert"): the hub's change kind
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('cluster_id', 'text', (c) => c.notNull())
      // epoch ms of the change: rows older than the feed's horizon are deleted
      .addColumn('at', ctx.types.bigint, (c) => c.notNull())
      .execute();
  },
};
