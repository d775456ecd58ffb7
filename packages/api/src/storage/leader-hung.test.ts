/**
 * A leader that hangs without dying (SIGSTOP, a paused VM, a blocked event loop) keeps its
 * PostgreSQL connection — the kernel answers the keepalives — and so its advisory lock: alert
 * evaluation stopped for as long as it hung, 15 s and more in test/bench/replica-chaos.ts, against
 * the promise of a successor within 10 s. The holder now runs a statement on its lock connection
 * every beat; a contender ends the connection of a holder idle for longer than `staleMs` and leads,
 * and ends the hung holder's commit that holds the epoch row (its epoch update would wait for it).
 */
import { requires, test, waitFor } from '@nanny/testing';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { openDatabase } from './open.ts';
import { checkEpoch, createLeaderLock } from './leader.ts';
import { dropPgSchema, PG_URL, postgresReachable } from './testing.ts';

async function open(t: { after(fn: () => unknown): void }) {
  const schema = `nanny_t_${randomBytes(6).toString('hex')}`;
  t.after(() => dropPgSchema(schema));
  const opened = await openDatabase({ databaseUrl: PG_URL, pgSchema: schema, pgPoolSize: 2 });
  t.after(() => opened.db.destroy());
  return opened;
}

test('a holder that stopped running statements loses the lock to a contender after staleMs', async (t) => {
  if (!requires(t, 'postgres', await postgresReachable(), `PostgreSQL not reachable at ${PG_URL}`)) return;
  const { db, dialect, session } = await open(t);
  // the hung holder: it beats far less often than the contender's patience
  const hung = createLeaderLock(db, dialect, 'hung-test', session, { beatMs: 3_600_000 });
  t.after(() => hung.release());
  const contender = createLeaderLock(db, dialect, 'hung-test', session, { staleMs: 1000 });
  t.after(() => contender.release());
  const first = await hung.tryAcquire('hung', '2026-12-02T00:00:00Z');
  assert.equal(typeof first, 'number');
  assert.equal(
    await contender.tryAcquire('contender', '2026-12-02T00:00:00Z'),
    undefined,
    'fresh: not taken',
  );
  const second = await waitFor(() => contender.tryAcquire('contender', '2026-12-02T00:00:01Z'), {
    what: 'the contender to take the lock of the idle holder',
    budget: 'short',
    everyMs: 200,
  });
  assert.equal(second, first! + 1, 'a new epoch: the hung holder is fenced off');
  assert.equal(await hung.held(), false, 'the hung holder finds out when it wakes');
});

test('a holder that beats keeps the lock however long a contender tries', async (t) => {
  if (!requires(t, 'postgres', await postgresReachable(), `PostgreSQL not reachable at ${PG_URL}`)) return;
  const { db, dialect, session } = await open(t);
  const live = createLeaderLock(db, dialect, 'live-test', session, { beatMs: 100 });
  t.after(() => live.release());
  const contender = createLeaderLock(db, dialect, 'live-test', session, { staleMs: 1000 });
  t.after(() => contender.release());
  assert.equal(typeof (await live.tryAcquire('live', '2026-12-02T00:00:00Z')), 'number');
  // three times the contender's patience, trying all along
  const until = Date.now() + 3000;
  let tries = 0;
  while (Date.now() < until) {
    assert.equal(await contender.tryAcquire('contender', '2026-12-02T00:00:00Z'), undefined);
    tries++;
    await sleep(150); // the contender's poll period, shortened
  }
  assert.ok(tries >= 5, `${tries} tries`);
  assert.equal(await live.held(), true);
});

test('a holder hung in the middle of its commit does not hold the successor back', async (t) => {
  if (!requires(t, 'postgres', await postgresReachable(), `PostgreSQL not reachable at ${PG_URL}`)) return;
  const { db, dialect, session } = await open(t);
  const hung = createLeaderLock(db, dialect, 'commit-test', session, { beatMs: 3_600_000 });
  t.after(() => hung.release());
  const contender = createLeaderLock(db, dialect, 'commit-test', session, { staleMs: 1000 });
  t.after(() => contender.release());
  const first = (await hung.tryAcquire('hung', '2026-12-02T00:00:00Z'))!;
  // the hung holder's evaluation commit: the epoch row read FOR SHARE, then the process stops
  let checked = false;
  let wake!: () => void;
  const woken = new Promise<void>((r) => (wake = r));
  const commit = db
    .transaction()
    .execute(async (trx) => {
      await checkEpoch(trx, dialect, 'commit-test', first);
      checked = true;
      await woken;
      await checkEpoch(trx, dialect, 'commit-test', first);
    })
    .then(
      () => 'committed',
      () => 'failed',
    );
  await waitFor(() => checked, { what: 'the commit to hold the epoch row', budget: 'short' });
  let second: number;
  try {
    second = await waitFor(() => contender.tryAcquire('contender', '2026-12-02T00:00:01Z'), {
      what: 'the contender to lead while the hung commit holds the row',
      budget: 'short',
      everyMs: 200,
    });
  } finally {
    wake(); // the holder wakes up, whatever happened (a failure must not leave the transaction open)
  }
  assert.equal(second, first + 1);
  assert.equal(await commit, 'failed', 'the hung commit does not go through once it wakes');
});
