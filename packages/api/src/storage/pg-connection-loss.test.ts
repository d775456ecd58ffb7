/**
 * A pooled PostgreSQL connection that the server ends while it is idle (a PostgreSQL restart or
 * failover, `pg_terminate_backend`, `idle_session_timeout`, a load balancer's reset) must cost one
 * connection, not the process. The pool reports such a loss as an 'error' event on itself; nobody
 * listened, so Node threw it as an uncaught exception and every replica whose connections an
 * operator terminated died at once (found by test/bench/replica-chaos.ts).
 */
import { requires, test, waitFor } from '@nanny/testing';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { openDatabase } from './open.ts';
import { dropPgSchema, PG_URL, pgQuery, postgresReachable } from './testing.ts';

test('a pooled connection terminated by the server is replaced; the process goes on', async (t) => {
  if (!requires(t, 'postgres', await postgresReachable(), `PostgreSQL not reachable at ${PG_URL}`)) return;
  const schema = `nanny_t_${randomBytes(6).toString('hex')}`;
  t.after(() => dropPgSchema(schema));
  const { db } = await openDatabase({ databaseUrl: PG_URL, pgSchema: schema, pgPoolSize: 1 });
  t.after(() => db.destroy());
  const backend = async () =>
    (
      await sql<{ pid: number; app: string }>`select pg_backend_pid() as pid, application_name as app
        from pg_stat_activity where pid = pg_backend_pid()`.execute(db)
    ).rows[0]!;
  const before = await backend();
  // named, so that an operator can tell the server's connections apart in pg_stat_activity
  assert.equal(before.app, 'nannyapi');

  // the only pooled connection is idle now; the server ends it
  await pgQuery(schema, 'select pg_terminate_backend($1)', [before.pid]);
  // the next query runs on a new connection (one on the dead one, before the pool heard, may fail)
  const after = await waitFor(() => backend().catch(() => undefined), {
    what: 'a query on a new connection',
    budget: 'short',
    everyMs: 50,
  });
  assert.notEqual(after.pid, before.pid);
});

test('a connection terminated in the middle of a transaction fails that transaction only', async (t) => {
  if (!requires(t, 'postgres', await postgresReachable(), `PostgreSQL not reachable at ${PG_URL}`)) return;
  const schema = `nanny_t_${randomBytes(6).toString('hex')}`;
  t.after(() => dropPgSchema(schema));
  const { db } = await openDatabase({ databaseUrl: PG_URL, pgSchema: schema, pgPoolSize: 1 });
  t.after(() => db.destroy());
  const pidOf = async (q: typeof db) =>
    (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(q)).rows[0]!.pid;
  let killed = 0;
  const outcome = await db
    .transaction()
    .execute(async (trx) => {
      killed = await pidOf(trx);
      // the server ends the connection while the transaction holds it between two statements
      await pgQuery(schema, 'select pg_terminate_backend($1)', [killed]);
      await waitFor(
        async () =>
          (
            await pgQuery<{ n: number }>(
              schema,
              'select count(*)::int as n from pg_stat_activity where pid = $1',
              [killed],
            )
          )[0]?.n === 0,
        { what: 'the backend to end', budget: 'short', everyMs: 20 },
      );
      await pidOf(trx);
      return 'committed';
    })
    .catch((e: unknown) => `failed: ${String(e)}`);
  assert.match(outcome, /^failed: /);
  const next = await waitFor(() => pidOf(db).catch(() => undefined), {
    what: 'a query on a new connection',
    budget: 'short',
    everyMs: 50,
  });
  assert.notEqual(next, killed);
});
