/**
 * A membership view remembers when its reporter collected it (the cluster report's `collected_at`,
 * normalised ISO time), so a view collected earlier than the stored one — or the same collection
 * again — does not replace it when a stalled replica commits it late (storage/membership.ts
 * `recordView`). Older rows and reports without `collected_at` keep NULL (receive order then).
 */
import type { Kysely } from 'kysely';
import type { Migration } from './types.ts';

export const membershipViewCollected0403: Migration = {
  name: '0403_membership_view_collected',
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the schema as it was then
  async up(db: Kysely<any>) {
    await db.schema.alterTable('membership_views').addColumn('collected_at', 'text').execute();
  },
};
