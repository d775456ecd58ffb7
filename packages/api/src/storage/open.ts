/** Opens the database (SQLite file or PostgreSQL URL), runs the migrations, returns a Kysely instance. */
import {
  Kysely,
  Migrator,
  SqliteDialect,
  type MigrationProvider,
  type Migration as KyselyMigration,
  type SqliteDatabase,
} from 'kysely';
import Database from 'better-sqlite3';
import pg from 'pg';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { MIGRATIONS } from './migrations/index.ts';
import type { Dialect, MigrationContext } from './migrations/types.ts';
import type { CoreDatabase } from './types.ts';
import type { PgSessionOptions } from './leader.ts';
import { SchemaScopedPostgresDialect, namingPool } from './pg-dialect.ts';
import { StatementNames } from './sql.ts';

export interface DatabaseOptions {
  /** `postgres://…` selects PostgreSQL; otherwise `sqliteFile` is used */
  databaseUrl?: string | undefined;
  sqliteFile?: string | undefined;
  /** PostgreSQL schema to use (search_path); created when missing. Tests use one per run. */
  pgSchema?: string | undefined;
  /** PostgreSQL pool size */
  pgPoolSize?: number | undefined;
}

export interface OpenedDatabase {
  db: Kysely<CoreDatabase>;
  dialect: Dialect;
  /** PostgreSQL: how to open a connection of one's own (the leader lock holds one) */
  session?: PgSessionOptions;
  /** PostgreSQL: the statement texts the pool sends as named statements (sql.ts) */
  names?: StatementNames;
}

export function migrationContext(dialect: Dialect): MigrationContext {
  return dialect === 'sqlite'
    ? { dialect, types: { bigint: 'integer', serial: 'integer', real: 'real' } }
    : { dialect, types: { bigint: 'bigint', serial: 'bigserial', real: 'double precision' } };
}

export function isPostgresUrl(url: string | undefined): url is string {
  return !!url && /^postgres(ql)?:\/\//.test(url);
}

export async function openDatabase(opts: DatabaseOptions): Promise<OpenedDatabase> {
  let db: Kysely<CoreDatabase>;
  let dialect: Dialect;
  let session: PgSessionOptions | undefined;
  let names: StatementNames | undefined;
  if (isPostgresUrl(opts.databaseUrl)) {
    dialect = 'postgres';
    session = { connectionString: opts.databaseUrl, schema: opts.pgSchema };
    if (opts.pgSchema && !/^[a-z_][a-z0-9_]{0,62}$/.test(opts.pgSchema))
      throw new Error(`bad schema name ${opts.pgSchema}`);
    if (opts.pgSchema) {
      const c = new pg.Client({ connectionString: opts.databaseUrl });
      await c.connect();
      try {
        await c.query(`CREATE SCHEMA IF NOT EXISTS ${opts.pgSchema}`);
      } finally {
        await c.end();
      }
    }
    const pool = new pg.Pool({
      connectionString: opts.databaseUrl,
      max: opts.pgPoolSize ?? 10,
      // an operator finds (and may end) the server's connections by name in pg_stat_activity
      application_name: 'nannyapi',
      ...(opts.pgSchema ? { options: `-c search_path=${opts.pgSchema}` } : {}),
      // COUNT(*) and bigint columns come back as int8; byte counts fit a double exactly below 2^53.
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === 20
            ? (v: string) => Number(v)
            : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
      },
    });
    // An idle pooled connection that the server ends (a restart or failover, pg_terminate_backend,
    // idle_session_timeout) is reported as 'error' on the pool, and an 'error' nobody listens to
    // ends the process: every replica would die with its database connections. The pool has
    // already dropped that client; the next query opens a new connection, so there is nothing to do.
    pool.on('error', () => undefined);
    // The same for a connection taken out of the pool (between two statements of a transaction):
    // the pool listens only to idle ones. The statement that follows fails instead, and the pool
    // drops the broken client when it comes back.
    pool.on('connect', (client) => client.on('error', () => undefined));
    names = new StatementNames();
    db = new Kysely<CoreDatabase>({
      dialect: new SchemaScopedPostgresDialect({ pool: namingPool(pool, names) }),
    });
  } else {
    dialect = 'sqlite';
    const file = opts.sqliteFile ?? ':memory:';
    if (file !== ':memory:') prepareSqliteFile(file);
    const sqlite = new Database(file);
    // WAL lets the CLI and the server share the file; busy_timeout makes the loser of a write race
    // wait instead of failing with SQLITE_BUSY.
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    // The WAL and shared-memory files now exist; SQLite gives new ones the database's mode, these
    // may predate the fix.
    if (file !== ':memory:') restrictModes(file);
    db = new Kysely<CoreDatabase>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  }
  const ctx = migrationContext(dialect);
  const provider: MigrationProvider = {
    getMigrations: async () => {
      const out: Record<string, KyselyMigration> = {};
      for (const m of MIGRATIONS) out[m.name] = { up: (d) => m.up(d, ctx) };
      return out;
    },
  };
  const migrator = new Migrator({
    db,
    provider,
    // Modules number their migrations in their own ranges (0100 alerts, …), so a core migration
    // added later may sort before one already applied: apply it anyway.
    allowUnorderedMigrations: true,
    ...(dialect === 'postgres' && opts.pgSchema ? { migrationTableSchema: opts.pgSchema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    await db.destroy();
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`database migration ${failed ?? ''} failed: ${String(error)}`, { cause: error });
  }
  return session && names ? { db, dialect, session, names } : { db, dialect };
}

/**
 * M5: the database holds the JWT key, password hashes and channel secrets. A data folder we create
 * is 0700 (an existing one is left alone: it may be a shared folder the operator chose), and the
 * file is created 0600 before SQLite opens it, whatever the umask.
 */
function prepareSqliteFile(file: string): void {
  const dir = dirname(file);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  restrictModes(file);
}

/** the database and its -wal/-shm files to 0600 */
export function restrictModes(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      chmodSync(f, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
}

/**
 * Kysely's SQLite driver prepares every statement anew; preparing costs more than running our
 * small upserts (a quarter of ingest CPU in a profile). Reusing prepared statements by SQL text is
 * safe here because the driver runs each one synchronously to completion.
 */
function withStatementCache(sqlite: Database.Database): SqliteDatabase {
  const cache = new Map<string, Database.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(text: string) {
      let stmt = cache.get(text);
      if (!stmt) {
        // Multi-row INSERTs and IN lists make unbounded variety; keep the cache small.
        if (cache.size >= 1000) cache.clear();
        stmt = sqlite.prepare(text);
        cache.set(text, stmt);
      }
      return stmt as unknown as ReturnType<SqliteDatabase['prepare']>;
    },
  };
}
