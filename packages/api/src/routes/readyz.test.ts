/**
 * /readyz names this replica's role; a leader that lost its lock while it could not look (paused,
 * its lock connection ended by a successor) must not answer `leader` until its timer notices.
 */
import { onCleanup, test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { makeTestApp } from '../testing.ts';
import { DIALECTS } from '../storage/testing.ts';
import type { LeaderLock } from '../storage/leader.ts';

test('readyz checks the lock before it says leader: a deposed leader answers follower at once', async (t) => {
  const opened = await DIALECTS.find((d) => d.name === 'sqlite')!.open();
  assert.ok(opened);
  onCleanup(t, opened.cleanup);
  let held = true;
  let checks = 0;
  // A lock as a paused-then-woken replica sees it: won once, then gone without this process
  // having looked.
  const lock: LeaderLock = {
    tryAcquire: () => Promise.resolve(held ? 7 : undefined),
    held: () => {
      checks++;
      return Promise.resolve(held);
    },
    release: () => Promise.resolve(),
  };
  const a = await makeTestApp({}, { storage: { ...opened.storage, leaderLock: () => lock } });
  onCleanup(t, () => a.app.close());
  await a.app.ready();
  await a.app.nanny.background.start();
  const ready = async () => (await a.app.inject({ method: 'GET', url: '/readyz' })).json<{ role: string }>();

  assert.deepEqual(
    { ...(await ready()) },
    {
      success: true,
      status: 'ready',
      database: 'ok',
      role: 'leader',
      leader_epoch: 7,
    },
  );
  assert.ok(checks >= 1, 'the leader answer looked at the lock');

  held = false;
  // The leader's own check runs every LEADER_RETRY_MS (2 s); the answer comes well before it.
  assert.equal(a.app.nanny.leader.role(), 'leader', 'the replica has not noticed yet');
  const r = await ready();
  assert.equal(r.role, 'follower');
  assert.equal('leader_epoch' in r, false);
  assert.equal(a.app.nanny.leader.role(), 'follower', 'and it follows from then on');
});
