/**
 * A short replica chaos run (test/e2e/chaos.ts; the long one is test/bench/replica-chaos.ts): three
 * replicas on one PostgreSQL schema, agents posting to random replicas, quorum and node-offline
 * episodes, and the leader hit once each — SIGKILL, SIGSTOP for 8 s (longer than the lock's 5-s
 * patience, so a successor leads and the paused one wakes up deposed), its PostgreSQL connections
 * terminated by the server — at random moments. Every promise of issue 14 is checked afterwards.
 */
import { requires, test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PG_URL, dropPgSchema, postgresReachable } from '@nanny/api/testing';
import { onCleanup, requireBundles } from './harness.ts';
import { percentile, runChaos } from './chaos.ts';

test('replicas killed, paused and cut off at random moments: one leader, nothing lost, nothing doubled', async (t) => {
  if (!requireBundles(t)) return;
  const pgUp = await postgresReachable();
  if (!requires(t, 'postgres', pgUp, `PostgreSQL not reachable at ${PG_URL}: replica chaos skipped`)) return;
  const schema = `nanny_e2e_${randomBytes(6).toString('hex')}`;
  onCleanup(t, () => dropPgSchema(schema)); // registered first, so it runs after every replica stopped
  const lines: string[] = [];
  const r = await runChaos(t, {
    schema,
    replicas: 3,
    clusters: 2,
    durationMs: 0,
    eachOnce: true,
    faultGapMs: [1000, 4000],
    downMs: [500, 3000],
    pauseMs: 8000,
    faults: ['kill', 'pause', 'pgkill'],
    leaderShare: 1,
    settleMs: 60_000,
    log: (l) => lines.push(l),
  });
  const story = `\n${lines.join('\n')}`;
  assert.deepEqual(r.crashes, [], `no replica died by itself${story}`);
  assert.equal(r.faults.length, 3, story);
  assert.ok(r.episodes.length >= 2, `${r.episodes.length} episodes${story}`);
  assert.deepEqual(r.webhookProblems, [], `one firing and one resolved webhook per episode${story}`);
  assert.deepEqual(r.missing, [], `${r.acked} acknowledged node reports, all stored`);
  assert.ok(r.revocationChecks >= 1, `${r.revocationChecks} revocation rounds${story}`);
  assert.deepEqual(r.revocationProblems, [], 'revoked and ended on one replica: refused on every one');
  // the paused leader is replaced too, not only the killed one (a new epoch each time)
  assert.ok(r.takeovers.length >= 2, `takeovers ${r.takeovers.join(', ')}${story}`);
  assert.ok(Math.max(...r.takeovers) <= 10_000, `takeovers ${r.takeovers.join(', ')} ms${story}`);
  t.diagnostic(
    `faults ${r.faults.map((f) => f.kind).join(', ')}; takeovers p50 ${percentile(r.takeovers, 0.5)} ms, max ${Math.max(...r.takeovers)} ms; ${r.episodes.length} episodes, ${r.received.length} webhooks; ${r.acked} reports acknowledged`,
  );
});
