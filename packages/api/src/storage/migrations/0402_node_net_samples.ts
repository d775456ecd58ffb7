/**
 * Node network history (issue 16): the node report's `net_in_bytes`/`net_out_bytes` (physical NICs'
 * bytes since boot, from /proc/net/dev) go into the samples, and the rollups keep each bucket's
 * min and max of these counters, as guest rollups do with theirs (0210): traffic in a bucket is
 * max − min, and a rate needs no average of a counter. Older rows keep NULL (no history of them).
 */
import type { Kysely } from 'kysely';
import type { Migration } from './types.ts';

export const nodeNetSamples0402: Migration = {
  name: '0402_node_net_samples',
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the schema as it was then
  async up(db: Kysely<any>, ctx) {
    for (const c of ['net_in_bytes', 'net_out_bytes'])
      await db.schema.alterTable('node_samples').addColumn(c, ctx.types.bigint).execute();
    for (const c of ['net_in_min', 'net_in_max', 'net_out_min', 'net_out_max'])
      await db.schema.alterTable('node_rollups').addColumn(c, ctx.types.bigint).execute();
  },
};
