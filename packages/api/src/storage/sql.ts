/** SQL helpers shared by the storage slices: the handle types and what differs between dialects. */
import { CompiledQuery, type Kysely, type QueryResult, type Transaction } from 'kysely';
import type { Dialect } from './storage.ts';
import type { CoreDatabase } from './types.ts';

export type Db = Kysely<CoreDatabase>;
export type Trx = Transaction<CoreDatabase>;

/** runs hand-written SQL (written with `?` placeholders) without Kysely's query building */
export type RawSql = <R>(
  trx: Db | Trx,
  text: string,
  params: readonly unknown[],
  opts?: { named: boolean },
) => Promise<QueryResult<R>>;

/**
 * Marks a statement for PostgreSQL to parse and plan once per connection (StatementNames). Only for
 * a text that never varies and whose result columns are listed (not `*`): a named statement keeps
 * the parameter types and result shape of its first use on the connection.
 */
export const NAMED = { named: true } as const;

/**
 * PostgreSQL: the statement texts sent as named prepared statements (pg's `{ name, text, values }`),
 * so the server parses and plans each once per connection instead of once per use: the hot ingest
 * statements run thousands of times a second. Names are handed out once and never change (a
 * connection that prepared a name keeps it), up to `max` texts; any other text goes unnamed.
 */
export class StatementNames {
  private readonly names = new Map<string, string>();
  constructor(private readonly max = 100) {}

  add(text: string): void {
    if (this.names.size < this.max && !this.names.has(text))
      this.names.set(text, `nanny_${this.names.size + 1}`);
  }

  of(text: string): string | undefined {
    return this.names.get(text);
  }
}

/**
 * SQLite takes `?` placeholders, PostgreSQL `$1, $2…`. The hot ingest path writes its SQL once with
 * `?` and this converts it (memoised: the same few statements run thousands of times a second).
 */
export function createRawSql(dialect: Dialect, names?: StatementNames): RawSql {
  const pgText = new Map<string, string>();
  return <R>(trx: Db | Trx, text: string, params: readonly unknown[], opts?: { named: boolean }) => {
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
      if (opts?.named) names?.add(t);
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
