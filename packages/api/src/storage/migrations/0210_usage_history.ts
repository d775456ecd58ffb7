/**
 * Issue 14 item 3, history that stays small: guest usage samples (one per guest report), and
 * 5-minute and hourly rollups of node and guest usage. Raw node samples stay in `node_samples`.
 *
 * Sized for a fleet of 50,000 guests reporting once a minute: these rows are the bulk of the
 * database, so they carry no surrogate id, no tenant (a read checks the guest's tenant first) and
 * an integer time (epoch seconds: 8 bytes instead of a 24-character ISO string, and a bucket is
 * `ts - ts % 300` in both dialects). SQLite stores them WITHOUT ROWID, clustered on the key.
 */
import { sql, type Kysely } from 'kysely';
import type { Migration, MigrationContext } from './types.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the schema as it was then
type Db = Kysely<any>;

export const usageHistory0210: Migration = {
  name: '0210_usage_history',
  async up(db: Db, ctx: MigrationContext) {
    const { bigint, real } = ctx.types;
    const clustered = <T extends { modifyEnd(s: ReturnType<typeof sql>): T }>(t: T): T =>
      ctx.dialect === 'sqlite' ? t.modifyEnd(sql`without rowid`) : t;
    await clustered(
      db.schema
        .createTable('guest_samples')
        .addColumn('guest_id', 'text', (c) => c.notNull())
        .addColumn('ts', bigint, (c) => c.notNull())
        .addColumn('cpu_usage_ratio', real)
        .addColumn('mem_used_bytes', bigint)
        .addColumn('disk_used_bytes', bigint)
        .addColumn('net_in_bytes', bigint)
        .addColumn('net_out_bytes', bigint)
        // a replayed report (spool, lost answer) is one sample, not two
        .addPrimaryKeyConstraint('guest_samples_pk', ['guest_id', 'ts']),
    ).execute();
    // retention deletes the oldest rows in batches: it walks this index, never the whole table
    await db.schema.createIndex('guest_samples_ts').on('guest_samples').column('ts').execute();

    // `res` is the bucket width in seconds (300 or 3600); `bucket` its start, epoch seconds.
    // Averages are kept with their sample count `n` so hourly rows weigh 5-minute rows correctly.
    await clustered(
      db.schema
        .createTable('guest_rollups')
        .addColumn('guest_id', 'text', (c) => c.notNull())
        .addColumn('res', 'integer', (c) => c.notNull())
        .addColumn('bucket', bigint, (c) => c.notNull())
        .addColumn('n', 'integer', (c) => c.notNull())
        .addColumn('cpu_avg', real)
        .addColumn('cpu_max', real)
        .addColumn('mem_avg', real)
        .addColumn('mem_max', bigint)
        .addColumn('disk_avg', real)
        .addColumn('disk_max', bigint)
        // network counters are cumulative since the guest started: min and max in the bucket give
        // the traffic in it (max - min) unless the guest restarted
        .addColumn('net_in_min', bigint)
        .addColumn('net_in_max', bigint)
        .addColumn('net_out_min', bigint)
        .addColumn('net_out_max', bigint)
        .addPrimaryKeyConstraint('guest_rollups_pk', ['guest_id', 'res', 'bucket']),
    ).execute();
    await db.schema.createIndex('guest_rollups_age').on('guest_rollups').columns(['res', 'bucket']).execute();

    await clustered(
      db.schema
        .createTable('node_rollups')
        .addColumn('node_id', 'text', (c) => c.notNull())
        .addColumn('res', 'integer', (c) => c.notNull())
        .addColumn('bucket', bigint, (c) => c.notNull())
        .addColumn('n', 'integer', (c) => c.notNull())
        // 0 when the node was offline in any sample of the bucket
        .addColumn('online_min', 'integer')
        .addColumn('cpu_avg', real)
        .addColumn('cpu_max', real)
        .addColumn('mem_avg', real)
        .addColumn('mem_max', bigint)
        .addColumn('mem_total', bigint)
        .addColumn('rootfs_avg', real)
        .addColumn('rootfs_max', bigint)
        .addColumn('rootfs_total', bigint)
        .addColumn('load_avg', real)
        .addColumn('load_max', real)
        .addPrimaryKeyConstraint('node_rollups_pk', ['node_id', 'res', 'bucket']),
    ).execute();
    await db.schema.createIndex('node_rollups_age').on('node_rollups').columns(['res', 'bucket']).execute();
    // node samples were pruned by one unindexed DELETE; batches walk this index instead
    await db.schema.createIndex('node_samples_ts').on('node_samples').column('ts').execute();
  },
};
