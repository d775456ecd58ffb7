/** Core tables: tenants, users, tokens, agents, and the fleet's current state + history. */
import type { ColumnDefinitionBuilder, CreateTableBuilder, Kysely } from 'kysely';
import type { Migration, MigrationContext } from './types.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the schema as it was then
type Db = Kysely<any>;

function serialId<T extends string>(t: CreateTableBuilder<T>, ctx: MigrationContext): CreateTableBuilder<T> {
  return ctx.dialect === 'sqlite'
    ? t.addColumn('id', 'integer', (c: ColumnDefinitionBuilder) => c.primaryKey().autoIncrement())
    : t.addColumn('id', 'bigserial', (c: ColumnDefinitionBuilder) => c.primaryKey());
}

export const core0001: Migration = {
  name: '0001_core',
  async up(db: Db, ctx: MigrationContext) {
    const { bigint, real } = ctx.types;
    await db.schema
      .createTable('nanny_meta')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('tenants')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('users')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
      .addColumn('username', 'text', (c) => c.notNull().unique())
      .addColumn('password_hash', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('sessions')
      .addColumn('id_hash', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('api_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text')
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('last_used_at', 'text')
      .addColumn('revoked_at', 'text')
      .execute();
    await db.schema
      .createTable('enrollment_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('max_uses', 'integer', (c) => c.notNull())
      .addColumn('uses_left', 'integer', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('revoked_at', 'text')
      .execute();
    await db.schema
      .createTable('agents')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('hostname', 'text', (c) => c.notNull())
      .addColumn('cluster_name', 'text')
      .addColumn('cluster_fingerprint', 'text')
      .addColumn('agent_version', 'text')
      .addColumn('pve_version', 'text')
      .addColumn('token_version', 'integer', (c) => c.notNull())
      .addColumn('revoked_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('last_seen_at', 'text')
      .addColumn('cluster_id', 'text')
      .execute();
    await db.schema.createIndex('agents_tenant').on('agents').columns(['tenant_id']).execute();
    await db.schema
      .createTable('refresh_tokens')
      .addColumn('token_hash', 'text', (c) => c.primaryKey())
      .addColumn('agent_id', 'text', (c) => c.notNull())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('token_version', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addColumn('used_at', 'text')
      .execute();
    await db.schema.createIndex('refresh_tokens_agent').on('refresh_tokens').columns(['agent_id']).execute();

    await db.schema
      .createTable('clusters')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('fingerprint', 'text')
      .addColumn('standalone', 'integer', (c) => c.notNull())
      .addColumn('quorate', 'integer')
      .addColumn('nodes', 'integer')
      .addColumn('version', 'integer')
      .addColumn('cluster_id_reported', 'text')
      .addColumn('first_seen_at', 'text', (c) => c.notNull())
      .addColumn('last_seen_at', 'text', (c) => c.notNull())
      .addColumn('collected_at', 'text')
      // DESIGN.md §3: one row per (tenant, fingerprint | name | standalone node), enforced here so
      // simultaneous first reports of three agents cannot create three clusters.
      .addUniqueConstraint('clusters_tenant_key', ['tenant_id', 'key'])
      .execute();
    await db.schema
      .createTable('nodes')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('cluster_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('node_id', 'integer')
      .addColumn('ip', 'text')
      .addColumn('online', 'integer')
      .addColumn('local', 'integer')
      .addColumn('level', 'text')
      .addColumn('pve_version', 'text')
      .addColumn('uptime_seconds', bigint)
      .addColumn('cpu_usage_ratio', real)
      .addColumn('mem_total_bytes', bigint)
      .addColumn('mem_used_bytes', bigint)
      .addColumn('rootfs_total_bytes', bigint)
      .addColumn('rootfs_used_bytes', bigint)
      .addColumn('load_avg_1m', real)
      .addColumn('kernel_version', 'text')
      .addColumn('report', 'text')
      .addColumn('first_seen_at', 'text', (c) => c.notNull())
      .addColumn('last_seen_at', 'text', (c) => c.notNull())
      .addColumn('last_report_at', 'text')
      .addColumn('collected_at', 'text')
      .addColumn('cycle_started_at', 'text')
      .addUniqueConstraint('nodes_cluster_name', ['cluster_id', 'name'])
      .execute();
    await db.schema.createIndex('nodes_tenant').on('nodes').columns(['tenant_id', 'name']).execute();
    await serialId(db.schema.createTable('node_samples'), ctx)
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('node_id', 'text', (c) => c.notNull())
      .addColumn('ts', 'text', (c) => c.notNull())
      .addColumn('received_at', 'text', (c) => c.notNull())
      .addColumn('online', 'integer')
      .addColumn('cpu_usage_ratio', real)
      .addColumn('mem_used_bytes', bigint)
      .addColumn('mem_total_bytes', bigint)
      .addColumn('rootfs_used_bytes', bigint)
      .addColumn('rootfs_total_bytes', bigint)
      .addColumn('load_avg_1m', real)
      .addColumn('uptime_seconds', bigint)
      .execute();
    await db.schema
      .createIndex('node_samples_node_ts')
      .on('node_samples')
      .columns(['node_id', 'ts'])
      .execute();
    await db.schema
      .createTable('guests')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('cluster_id', 'text', (c) => c.notNull())
      .addColumn('vmid', 'integer', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('name', 'text')
      .addColumn('node_name', 'text', (c) => c.notNull())
      .addColumn('node_id', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('tags', 'text')
      .addColumn('uptime_seconds', bigint)
      .addColumn('cpu_cores', 'integer')
      .addColumn('memory_mb', 'integer')
      .addColumn('template', 'integer', (c) => c.notNull())
      .addColumn('config_hash', 'text')
      .addColumn('report', 'text', (c) => c.notNull())
      .addColumn('first_seen_at', 'text', (c) => c.notNull())
      .addColumn('last_seen_at', 'text', (c) => c.notNull())
      .addColumn('collected_at', 'text')
      .addColumn('gone_at', 'text')
      // a VMID is unique in a cluster: the node is an attribute, so a migration is an update
      .addUniqueConstraint('guests_cluster_vmid', ['cluster_id', 'vmid'])
      .execute();
    await db.schema.createIndex('guests_tenant_vmid').on('guests').columns(['tenant_id', 'vmid']).execute();
    await db.schema.createIndex('guests_node').on('guests').columns(['node_id']).execute();
    await serialId(db.schema.createTable('guest_status_changes'), ctx)
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('guest_id', 'text', (c) => c.notNull())
      .addColumn('ts', 'text', (c) => c.notNull())
      .addColumn('from_status', 'text')
      .addColumn('to_status', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('guest_status_changes_guest')
      .on('guest_status_changes')
      .columns(['guest_id', 'ts'])
      .execute();
    await serialId(db.schema.createTable('guest_config_versions'), ctx)
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('guest_id', 'text', (c) => c.notNull())
      .addColumn('ts', 'text', (c) => c.notNull())
      .addColumn('config_hash', 'text', (c) => c.notNull())
      .addColumn('config', 'text', (c) => c.notNull())
      .addColumn('diff', 'text')
      .execute();
    await db.schema
      .createIndex('guest_config_versions_guest')
      .on('guest_config_versions')
      .columns(['guest_id', 'ts'])
      .execute();
    await serialId(db.schema.createTable('events'), ctx)
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('cluster_id', 'text')
      .addColumn('node_id', 'text')
      .addColumn('guest_id', 'text')
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('message', 'text', (c) => c.notNull())
      .addColumn('data', 'text')
      .addColumn('occurred_at', 'text', (c) => c.notNull())
      .addColumn('received_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('events_tenant_time')
      .on('events')
      .columns(['tenant_id', 'occurred_at'])
      .execute();
  },
};
