/**
 * The one `Storage` implementation, on Kysely, for SQLite and PostgreSQL alike: it opens the
 * database and puts the slices together (accounts, agents, ingest, reads, retention). Only the
 * caches two slices share are made here.
 */
import { sql } from 'kysely';
import { openDatabase, type DatabaseOptions } from './open.ts';
import type { CoreStore, Dialect, Storage } from './storage.ts';
import { createRawSql, type Db, type StatementNames } from './sql.ts';
import { createAccountsStore } from './accounts.ts';
import { createAgentsStore } from './agents.ts';
import { createIngestStore } from './ingest.ts';
import { createGuestTotals, createReadStore } from './reads.ts';
import { createRetentionStore } from './retention.ts';
import { createMembershipStore } from './membership.ts';
import { createLeaderLock, type PgSessionOptions } from './leader.ts';
import { createHistoryStore } from './history.ts';
import { createStoragePoolsStore } from './storage-pools.ts';

export async function createKyselyStorage(opts: DatabaseOptions): Promise<Storage> {
  const { db, dialect, session, names } = await openDatabase(opts);
  return storageOn(db, dialect, session, names);
}

/** the slices on an opened database */
export function storageOn(
  db: Db,
  dialect: Dialect,
  session?: PgSessionOptions,
  names?: StatementNames,
): Storage {
  // ingest clears the guest totals the reads keep, so both get the same cache
  const totals = createGuestTotals();
  return {
    ...createCoreStore(db, dialect, session),
    ...createAccountsStore(db),
    ...createAgentsStore(db),
    ...createIngestStore(db, dialect, createRawSql(dialect, names), totals),
    ...createReadStore(db, totals),
    ...createRetentionStore(db),
    ...createMembershipStore(db),
    ...createHistoryStore(db, dialect),
    ...createStoragePoolsStore(db),
  };
}

function createCoreStore(db: Db, dialect: Dialect, session?: PgSessionOptions): CoreStore {
  return {
    dialect,
    extend: (factory) => factory({ db, dialect }),
    leaderLock: (name) => createLeaderLock(db, dialect, name, session),
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await db.destroy();
    },
    async secret(key, create) {
      await db
        .insertInto('nanny_meta')
        .values({ key, value: create() })
        .onConflict((oc) => oc.column('key').doNothing())
        .execute();
      const row = await db
        .selectFrom('nanny_meta')
        .select('value')
        .where('key', '=', key)
        .executeTakeFirstOrThrow();
      return row.value;
    },
  };
}
