/**
 * PostgreSQL dialect whose introspection sees only the connection's own schemas (search_path).
 *
 * Why: kysely's Migrator asks the introspector whether its tables exist, and kysely's PostgreSQL
 * introspector scans every schema of the database, calling `has_schema_privilege(nspname, …)` on
 * each by name. When another session drops a schema while that scan runs (test runs dropping their
 * own schema, an operator removing an old one), the scan still sees the catalog row but the name no
 * longer resolves, and PostgreSQL fails the whole query with 3F000 "schema … does not exist". Our
 * migration then failed although its own schema was fine. Scoping the scan to `current_schemas`
 * removes the race and makes the check cost one schema, not the whole database.
 *
 * Also the pool that sends the hot ingest statements as named (prepared) statements: namingPool.
 */
import type pg from 'pg';
import {
  PostgresDialect,
  sql,
  type DatabaseIntrospector,
  type DatabaseMetadata,
  type Kysely,
  type PostgresPool,
  type PostgresPoolClient,
  type SchemaMetadata,
  type TableMetadata,
} from 'kysely';
import type { StatementNames } from './sql.ts';

interface ColumnRow {
  schema: string;
  table: string;
  kind: string;
  column: string | null;
  type: string | null;
  not_null: boolean | null;
  has_default: boolean | null;
}

export function createSchemaScopedIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
  const getTables = async (): Promise<TableMetadata[]> => {
    // LEFT JOIN: a table without columns is still a table
    const { rows } = await sql<ColumnRow>`
      select ns.nspname as schema, c.relname as table, c.relkind as kind, a.attname as column,
             t.typname as type, a.attnotnull as not_null, a.atthasdef as has_default
        from pg_catalog.pg_class c
        join pg_catalog.pg_namespace ns on ns.oid = c.relnamespace
        left join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
        left join pg_catalog.pg_type t on t.oid = a.atttypid
       where ns.nspname = any(current_schemas(false)) and c.relkind in ('r', 'v', 'p')
       order by ns.nspname, c.relname, a.attnum`.execute(db);
    const tables = new Map<string, TableMetadata>();
    for (const r of rows) {
      const key = `${r.schema}.${r.table}`;
      let table = tables.get(key);
      if (!table) {
        table = { name: r.table, schema: r.schema, isView: r.kind === 'v', columns: [] };
        tables.set(key, table);
      }
      if (r.column !== null)
        table.columns.push({
          name: r.column,
          dataType: r.type ?? 'unknown',
          isNullable: r.not_null !== true,
          hasDefaultValue: r.has_default === true,
          // not looked up (kysely reads the column's sequence per row); nothing of ours asks
          isAutoIncrementing: false,
        });
    }
    return [...tables.values()];
  };
  return {
    async getSchemas(): Promise<SchemaMetadata[]> {
      const { rows } = await sql<{ name: string }>`
        select unnest(current_schemas(false)) as name`.execute(db);
      return rows;
    },
    getTables,
    async getMetadata(): Promise<DatabaseMetadata> {
      return { tables: await getTables() };
    },
  };
}

export class SchemaScopedPostgresDialect extends PostgresDialect {
  override createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return createSchemaScopedIntrospector(db);
  }
}

/**
 * The pool Kysely draws its connections from, sending the texts `names` knows as named statements
 * (sql.ts, StatementNames). Kysely's PostgreSQL driver passes only the text and the values to
 * `client.query`; the name is added here. pg prepares a name once per connection and remembers it
 * (a failed prepare is forgotten and prepared again; a new connection starts afresh).
 */
export function namingPool(pool: pg.Pool, names: StatementNames): PostgresPool {
  const clients = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    const query = (text: unknown, values?: unknown[]): unknown => {
      const name = typeof text === 'string' ? names.of(text) : undefined;
      return name !== undefined
        ? client.query({ name, text: text as string, values: values ?? [] })
        : client.query(text as string, values);
    };
    return { query: query as PostgresPoolClient['query'], release: (destroy) => client.release(destroy) };
  };
  return {
    async connect() {
      const client = await pool.connect();
      let wrapped = clients.get(client);
      if (!wrapped) clients.set(client, (wrapped = wrap(client)));
      return wrapped;
    },
    end: () => pool.end(),
  };
}
