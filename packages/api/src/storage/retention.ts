/**
 * Retention slice: deletes change history (status changes, config versions, events, gone guests)
 * older than a cut-off the caller computes from its clock. Usage history: history-retention.ts.
 */
import type { RetentionStore } from './storage.ts';
import { affected, type Db } from './sql.ts';

export function createRetentionStore(db: Db): RetentionStore {
  return {
    async prune(before) {
      const n = (r: { numDeletedRows: bigint }) => affected(r.numDeletedRows);
      const statusChanges = n(
        await db.deleteFrom('guest_status_changes').where('ts', '<', before).executeTakeFirst(),
      );
      const events = n(await db.deleteFrom('events').where('occurred_at', '<', before).executeTakeFirst());
      const configVersions = n(
        await db
          .deleteFrom('guest_config_versions')
          .where('ts', '<', before)
          // the latest version of each guest stays: it is the base the next change is diffed against
          .where('id', 'not in', (eb) =>
            eb
              .selectFrom('guest_config_versions as v')
              .select((e) => e.fn.max('v.id').as('m'))
              .groupBy('v.guest_id'),
          )
          .executeTakeFirst(),
      );
      await db
        .deleteFrom('guest_reports')
        .where('guest_id', 'in', (eb) => eb.selectFrom('guests').select('id').where('gone_at', '<', before))
        .execute();
      const goneGuests = n(await db.deleteFrom('guests').where('gone_at', '<', before).executeTakeFirst());
      return { statusChanges, configVersions, events, goneGuests };
    },
  };
}
