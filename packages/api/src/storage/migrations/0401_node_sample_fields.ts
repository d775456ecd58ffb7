/**
 * Node history beyond CPU, memory, root FS and the 1-minute load (issue 16): swap, I/O wait and the
 * 5- and 15-minute load, which every node report already carries, go into the samples and their
 * rollups so the node page can chart them. Older rows keep NULL there (no history of them).
 */
import type { Kysely } from 'kysely';
import type { Migration, MigrationContext } from './types.ts';

/** node_samples column → its type */
const SAMPLE_COLUMNS = (t: MigrationContext['types']) =>
  [
    ['swap_used_bytes', t.bigint],
    ['swap_total_bytes', t.bigint],
    ['io_wait_ratio', t.real],
    ['load_avg_5m', t.real],
    ['load_avg_15m', t.real],
  ] as const;

/** node_rollups column → its type (averages are real: an average of bytes is not whole) */
const ROLLUP_COLUMNS = (t: MigrationContext['types']) =>
  [
    ['swap_avg', t.real],
    ['swap_max', t.bigint],
    ['swap_total', t.bigint],
    ['iowait_avg', t.real],
    ['iowait_max', t.real],
    ['load5_avg', t.real],
    ['load15_avg', t.real],
  ] as const;

export const nodeSampleFields0401: Migration = {
  name: '0401_node_sample_fields',
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the schema as it was then
  async up(db: Kysely<any>, ctx: MigrationContext) {
    for (const [name, type] of SAMPLE_COLUMNS(ctx.types))
      await db.schema.alterTable('node_samples').addColumn(name, type).execute();
    for (const [name, type] of ROLLUP_COLUMNS(ctx.types))
      await db.schema.alterTable('node_rollups').addColumn(name, type).execute();
  },
};
