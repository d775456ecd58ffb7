/**
 * One node sample per (node, collection time). An agent replays its spool after an outage, and a
 * report whose answer was lost on the way back is sent again: the second copy must not become a
 * second point in the node's history.
 */
import { sql, type Kysely } from 'kysely';
import type { Migration } from './types.ts';

export const nodeSampleOnce0101: Migration = {
  name: '0101_node_sample_once',
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the schema as it was then
  async up(db: Kysely<any>) {
    // Keep the first copy of any duplicate stored before this migration.
    await sql`DELETE FROM node_samples WHERE id NOT IN (SELECT MIN(id) FROM node_samples GROUP BY node_id, ts)`.execute(
      db,
    );
    await db.schema.dropIndex('node_samples_node_ts').execute();
    await db.schema
      .createIndex('node_samples_node_ts')
      .unique()
      .on('node_samples')
      .columns(['node_id', 'ts'])
      .execute();
  },
};
