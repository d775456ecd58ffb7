/** Tables of the alert engine and notifications (see storage/alerts.ts and docs/alerts.md). */
import type { Kysely } from 'kysely';
import type { Migration, MigrationContext } from './types.ts';

export const alerts0100: Migration = {
  name: '0100_alerts',
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the schema as it was then
  async up(db: Kysely<any>, ctx: MigrationContext) {
    const { bigint } = ctx.types;
    // The engine's keyed state, one row per entry ("c:<cluster>", "n:<cluster>\0<node>", "a:<dedup key>"…),
    // so a restart resumes exactly where the last committed evaluation left off.
    await db.schema
      .createTable('alert_engine_state')
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('alert_engine_state_pk', ['tenant_id', 'key'])
      .execute();
    await db.schema
      .createTable('alerts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('dedup_key', 'text', (c) => c.notNull())
      .addColumn('rule', 'text', (c) => c.notNull())
      .addColumn('severity', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('summary', 'text', (c) => c.notNull())
      .addColumn('resolve_summary', 'text')
      .addColumn('cluster_id', 'text', (c) => c.notNull())
      .addColumn('cluster_name', 'text')
      .addColumn('node', 'text')
      .addColumn('vmid', 'integer')
      .addColumn('started_at', 'text', (c) => c.notNull())
      .addColumn('resolved_at', 'text')
      .addColumn('acknowledged_by', 'text')
      .addColumn('acknowledged_at', 'text')
      .addColumn('silenced', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .createIndex('alerts_tenant_state')
      .on('alerts')
      .columns(['tenant_id', 'state', 'started_at'])
      .execute();
    await db.schema
      .createTable('alert_silences')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('cluster_id', 'text')
      .addColumn('node', 'text')
      .addColumn('rule', 'text')
      .addColumn('starts_at', 'text', (c) => c.notNull())
      .addColumn('ends_at', 'text', (c) => c.notNull())
      .addColumn('comment', 'text')
      .addColumn('created_by', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('alert_silences_tenant')
      .on('alert_silences')
      .columns(['tenant_id', 'ends_at'])
      .execute();
    await db.schema
      .createTable('alert_settings')
      .addColumn('tenant_id', 'text', (c) => c.primaryKey())
      .addColumn('settings', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('notification_channels')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('config', 'text', (c) => c.notNull())
      .addColumn('min_severity', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('notification_channels_name', ['tenant_id', 'name'])
      .execute();
    await db.schema
      .createTable('alert_deliveries')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('channel_id', 'text', (c) => c.notNull())
      .addColumn('alert_id', 'text')
      .addColumn('event', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('idempotency_key', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('next_attempt_at', bigint, (c) => c.notNull())
      .addColumn('locked_until', bigint, (c) => c.notNull().defaultTo(0))
      .addColumn('last_error', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('done_at', 'text')
      .execute();
    await db.schema
      .createIndex('alert_deliveries_due')
      .on('alert_deliveries')
      .columns(['status', 'next_attempt_at'])
      .execute();
    // One delivery per (channel, alert, event): re-applying an evaluation after a crash cannot queue twice.
    await db.schema
      .createIndex('alert_deliveries_once')
      .on('alert_deliveries')
      .columns(['idempotency_key'])
      .unique()
      .execute();
  },
};
