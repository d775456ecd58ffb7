/**
 * The storage dialects every storage test runs against (kysely's DIALECTS loop): SQLite in memory,
 * and PostgreSQL at 127.0.0.1:5432 (database `test`, trust auth) in a schema of its own per storage,
 * dropped afterwards so parallel runs do not collide. Without PostgreSQL the case skips plainly.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createKyselyStorage } from './kysely-storage.ts';
import type { Storage } from './storage.ts';
import type { EvaluationBatch, EvaluationCommit } from './alert-evaluation.ts';

export const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

let pgReachable: Promise<boolean> | undefined;
export function postgresReachable(): Promise<boolean> {
  pgReachable ??= (async () => {
    const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
    try {
      await c.connect();
      await c.query('select 1');
      return true;
    } catch {
      return false;
    } finally {
      await c.end().catch(() => undefined);
    }
  })();
  return pgReachable;
}

export interface DialectUnderTest {
  name: 'sqlite' | 'postgres';
  /** undefined when the dialect is unavailable here (the test must skip with `skipReason`) */
  open(): Promise<
    { storage: Storage; cleanup: () => Promise<void>; databaseUrl?: string; pgSchema?: string } | undefined
  >;
  skipReason: string;
}

export const DIALECTS: DialectUnderTest[] = [
  {
    name: 'sqlite',
    skipReason: '',
    async open() {
      const storage = await createKyselyStorage({ sqliteFile: ':memory:' });
      return { storage, cleanup: () => storage.close() };
    },
  },
  {
    name: 'postgres',
    skipReason: `PostgreSQL not reachable at ${PG_URL}: PostgreSQL storage tests skipped`,
    async open() {
      if (!(await postgresReachable())) return undefined;
      const schema = `nanny_t_${randomBytes(6).toString('hex')}`;
      const storage = await createKyselyStorage({ databaseUrl: PG_URL, pgSchema: schema, pgPoolSize: 4 });
      return {
        storage,
        databaseUrl: PG_URL,
        pgSchema: schema,
        cleanup: async () => {
          await storage.close();
          const c = new pg.Client({ connectionString: PG_URL });
          await c.connect();
          try {
            await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
          } finally {
            await c.end();
          }
        },
      };
    },
  },
];

/** one tenant's evaluation batch, committed as the leader would (no queue rows, no fence) */
export function applyBatch(
  store: { commitEvaluation(c: EvaluationCommit): Promise<{ queued: number }> },
  batch: EvaluationBatch,
): Promise<{ queued: number }> {
  return store.commitEvaluation({ batches: [batch], consumed: [] });
}

/** runs one query in `schema` of the test PostgreSQL (the replica tests look at the queue and tables) */
export async function pgQuery<R>(schema: string, text: string, params: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
  await c.connect();
  try {
    return (await c.query(text, params)).rows as R[];
  } finally {
    await c.end();
  }
}

export async function dropPgSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await c.end();
  }
}
