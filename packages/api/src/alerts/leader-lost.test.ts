/**
 * An evaluator that finds a newer leader's epoch steps down and goes on. It used to wait, inside its
 * own one-at-a-time chain, for the leadership's step-down, which waits for the role listeners, one
 * of which queues behind that very chain: a cycle of promises. The evaluation pass, every later
 * pass and `app.close()` never ended; on a replica that lost its lock in a partition, alerting
 * would have stopped for good. Seen as "Promise resolution is still pending but the event loop has
 * already resolved" in login-guard.test.ts under load, where two apps share one SQLite file.
 */
import { budgets, onCleanup, tempDir, test, within } from '@nanny/testing';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createKyselyStorage } from '../storage/kysely-storage.ts';
import { makeTestApp } from '../testing.ts';
import { alertServiceOf } from './module.ts';

test('an evaluator fenced off by a newer leader steps down without deadlocking, and close() ends', async (t) => {
  // two apps on one SQLite file: each wins the lock (SQLite has no lock between processes), so the
  // second start makes the first one's epoch stale, which is what a successor does on PostgreSQL
  const file = join(tempDir(t, 'leader-lost'), 'nannyapi.db');
  const first = await createKyselyStorage({ sqliteFile: file });
  onCleanup(t, () => first.close());
  const second = await createKyselyStorage({ sqliteFile: file });
  onCleanup(t, () => second.close());
  const stale = await makeTestApp({ adminPassword: 'leader-lost-password-1' }, { storage: first });
  const roles: string[] = [];
  stale.app.nanny.leader.onChange((role) => void roles.push(role));
  await stale.app.ready();
  const successor = await makeTestApp({ adminPassword: 'leader-lost-password-1' }, { storage: second });
  onCleanup(t, () => successor.app.close());
  await successor.app.ready();
  assert.equal(stale.app.nanny.leader.role(), 'leader', 'the first app still believes it leads');

  const service = alertServiceOf(stale.app.nanny.modules)!;
  // an evaluation pass commits with the stale epoch, is fenced off (LeadershipLost) and steps down
  await within(service.tick(), { what: 'the fenced-off evaluation pass to end', budget: budgets.short });
  await within(service.flush(), { what: 'the next pass to run', budget: budgets.short });
  assert.ok(roles.includes('follower'), `the stale leader stepped down (roles: ${roles.join(', ')})`);
  await within(stale.app.close(), { what: 'the fenced-off app to close', budget: budgets.short });
});
