/**
 * The schema-scoped introspector (pg-dialect.ts): migrations must not fail because some other
 * session drops an unrelated schema at that moment. The race is provoked on purpose: one client
 * creates and drops schemas in a loop while the introspector runs. And the pool that names the hot
 * statements.
 */
import { requires, test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Kysely, PostgresDialect, PostgresIntrospector, type DatabaseIntrospector } from 'kysely';
import pg from 'pg';
import { createSchemaScopedIntrospector, namingPool, SchemaScopedPostgresDialect } from './pg-dialect.ts';
import { StatementNames } from './sql.ts';
import { dropPgSchema, PG_URL, postgresReachable } from './testing.ts';

const SKIP = `PostgreSQL not reachable at ${PG_URL}`;

/** runs `introspect` `rounds` times while another client churns schemas; returns the errors seen */
async function underSchemaChurn(
  schema: string,
  introspect: (db: Kysely<unknown>) => DatabaseIntrospector,
  rounds: number,
): Promise<string[]> {
  const pool = new pg.Pool({ connectionString: PG_URL, max: 2, options: `-c search_path=${schema}` });
  const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
  const churn = new pg.Client({ connectionString: PG_URL });
  await churn.connect();
  let stop = false;
  const churning = (async () => {
    for (let i = 0; !stop; i++) {
      const name = `${schema}_churn${i % 4}`;
      await churn.query(`CREATE SCHEMA IF NOT EXISTS ${name}; CREATE TABLE IF NOT EXISTS ${name}.t (a int)`);
      await churn.query(`DROP SCHEMA ${name} CASCADE`);
    }
  })();
  const errors: string[] = [];
  try {
    const introspector = introspect(db);
    for (let i = 0; i < rounds; i++) {
      try {
        await introspector.getTables({ withInternalKyselyTables: true });
      } catch (e) {
        errors.push(String(e));
      }
    }
  } finally {
    stop = true;
    await churning;
    await churn.end();
    await db.destroy();
  }
  return errors;
}

test('the scoped introspector lists only the schema in search_path, with its columns', async (t) => {
  if (!requires(t, 'postgres', await postgresReachable(), SKIP)) return;
  const schema = `nanny_t_${randomBytes(6).toString('hex')}`;
  const other = `${schema}_other`;
  t.after(() => Promise.all([dropPgSchema(schema), dropPgSchema(other)]));
  const setup = new pg.Client({ connectionString: PG_URL });
  await setup.connect();
  try {
    await setup.query(`CREATE SCHEMA ${schema}; CREATE SCHEMA ${other}`);
    await setup.query(
      `CREATE TABLE ${schema}.mine (id text primary key, n int default 0); CREATE TABLE ${schema}.bare ()`,
    );
    await setup.query(`CREATE VIEW ${schema}.v AS SELECT 1 AS one; CREATE TABLE ${other}.theirs (a int)`);
  } finally {
    await setup.end();
  }
  const pool = new pg.Pool({ connectionString: PG_URL, max: 1, options: `-c search_path=${schema}` });
  const db = new Kysely<unknown>({ dialect: new SchemaScopedPostgresDialect({ pool }) });
  try {
    const tables = await db.introspection.getTables();
    assert.deepEqual(
      tables.map((x) => `${x.schema}.${x.name}${x.isView ? ' (view)' : ''}`),
      [`${schema}.bare`, `${schema}.mine`, `${schema}.v (view)`],
    );
    const mine = tables.find((x) => x.name === 'mine')!;
    assert.deepEqual(
      mine.columns.map((c) => [c.name, c.dataType, c.isNullable, c.hasDefaultValue]),
      [
        ['id', 'text', false, false],
        ['n', 'int4', true, true],
      ],
    );
    assert.deepEqual(await db.introspection.getSchemas(), [{ name: schema }]);
  } finally {
    await db.destroy();
  }
});

test('schemas dropped by another session during introspection: no error with the scoped introspector', async (t) => {
  if (!requires(t, 'postgres', await postgresReachable(), SKIP)) return;
  const schema = `nanny_t_${randomBytes(6).toString('hex')}`;
  t.after(() =>
    Promise.all([0, 1, 2, 3].map((i) => dropPgSchema(`${schema}_churn${i}`)).concat(dropPgSchema(schema))),
  );
  const setup = new pg.Client({ connectionString: PG_URL });
  await setup.connect();
  await setup.query(`CREATE SCHEMA ${schema}`).finally(() => setup.end());

  const scoped = await underSchemaChurn(schema, createSchemaScopedIntrospector, 100);
  assert.deepEqual(scoped, [], 'the scoped introspector never fails');
  // the same churn against kysely's own introspector, to show the test provokes the race at all:
  // reported, not asserted, since whether a round hits the window depends on timing
  const unscoped = await underSchemaChurn(schema, (db) => new PostgresIntrospector(db), 100);
  t.diagnostic(
    `kysely's database-wide introspector under the same churn: ${unscoped.length} of 100 rounds failed${unscoped[0] ? ` (${unscoped[0]})` : ''}`,
  );
});

test('the naming pool sends the texts it was given as named statements, the same name on every connection', async () => {
  const names = new StatementNames(2);
  const sent: unknown[][] = [];
  const released: unknown[] = [];
  const client = (id: number) =>
    ({
      query: (...a: unknown[]) => {
        sent.push([id, ...a]);
        return Promise.resolve({ rows: [] });
      },
      release: (destroy?: boolean) => released.push([id, destroy]),
    }) as unknown as pg.PoolClient;
  const clients = [client(1), client(2)];
  let next = 0;
  const pool = namingPool(
    {
      connect: () => Promise.resolve(clients[next++ % 2]!),
      end: () => Promise.resolve(),
    } as unknown as pg.Pool,
    names,
  );
  names.add('select $1');
  names.add('select $2');
  names.add('select $3'); // over the limit: stays unnamed
  const first = await pool.connect();
  await first.query('select $1', [1]);
  await first.query('select $3', [3]);
  first.release();
  const second = await pool.connect();
  await second.query('select $1', [1]);
  await second.query('select $2', [2]);
  second.release(true);
  // a client comes back wrapped once: Kysely keeps its connection state by this object
  assert.equal(await pool.connect(), first);
  assert.deepEqual(sent, [
    [1, { name: 'nanny_1', text: 'select $1', values: [1] }],
    [1, 'select $3', [3]],
    [2, { name: 'nanny_1', text: 'select $1', values: [1] }],
    [2, { name: 'nanny_2', text: 'select $2', values: [2] }],
  ]);
  assert.deepEqual(released, [
    [1, undefined],
    [2, true],
  ]);
});
