/** SQL helpers shared by the storage slices: the handle types and what differs between dialects. */
import { CompiledQuery, type Kysely, type QueryResult, type Transaction } from 'kysely';
import type { Dialect } from './storage.ts';
import type { CoreDatabase } from './types.ts';

export type Db = Kysely<CoreDatabase>;
export type Trx = Transaction<CoreDatabase>;

/** runs hand-written SQL (written with `?` placeholders) without Kysely's query building */
export type RawSql = <R>(trx: Db | Trx, text: string, params: readonly unknown[]) => Promise<QueryResult<R>>;

/**
 * SQLite takes `?` placeholders, PostgreSQL `$1, $2…`. The hot ingest path writes its SQL once with
 * `?` and this converts it (memoised: the same few statements run thousands of times a second).
 */
export function createRawSql(dialect: Dialect): RawSql {
  const pgText = new Map<string, string>();
  return <R>(trx: Db | Trx, text: string, params: readonly unknown[]) => {
    let t = text;
    if (dialect === 'postgres') {
      const hit = pgText.get(text);
      if (hit) t = hit;
      else {
        let i = 0;
        t = text.replace(/\?/g, () => `$${++i}`);
        if (pgText.size > 1000) pgText.clear();
        pgText.set(text, t);
      }
    }
    return trx.executeQuery<R>(CompiledQuery.raw(t, [...params]));
  };
}

export function escapeLike(s: string): string {
  // Neither dialect gets an ESCAPE clause here, so drop the wildcards instead of escaping them.
  return s.replace(/[%_]/g, '');
}

/** Kysely reports affected rows as bigint; every caller wants a number */
export const affected = (n: bigint): number => Number(n);
