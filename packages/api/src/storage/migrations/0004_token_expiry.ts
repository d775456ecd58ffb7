/** Personal API tokens may expire (issue 13, Info): `expires_at`, null = never. */
import type { Kysely } from 'kysely';
import type { Migration } from './types.ts';

export const tokenExpiry0004: Migration = {
  name: '0004_token_expiry',
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the schema as it was then
  async up(db: Kysely<any>) {
    await db.schema.alterTable('api_tokens').addColumn('expires_at', 'text').execute();
  },
};
