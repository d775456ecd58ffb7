/**
 * Issue 13, M6 across replicas: failed logins counted in the database, per username and per client
 * address, so several nannyapi processes on one database share the backoff (a guesser cannot
 * spread guesses over replicas). Rows older than the longest wait are removed (accounts.ts).
 */
import type { Kysely } from 'kysely';
import type { Migration } from './types.ts';

export const loginFailures0131: Migration = {
  name: '0131_login_failures',
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the schema as it was then
  async up(db: Kysely<any>, ctx) {
    await db.schema
      .createTable('login_failures')
      // `u:<lower-case username>` or `a:<client address>`
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('failures', 'integer', (c) => c.notNull())
      // epoch milliseconds
      .addColumn('last_failure_at', ctx.types.bigint, (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('login_failures_last')
      .on('login_failures')
      .column('last_failure_at')
      .execute();
  },
};
