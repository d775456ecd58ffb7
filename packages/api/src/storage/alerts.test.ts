/** The alert store on every dialect: idempotent evaluation batches, the delivery queue's claim. */
import { requires, test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { DIALECTS, applyBatch } from './testing.ts';
import { createAlertStore, type AlertRow, type NewDelivery } from './alerts.ts';
import type { Notification } from '../notify/types.ts';

const payload = { alert_id: 'a1', rule: 'quorum_lost', state: 'firing' } as unknown as Notification;
const row = (id: string): AlertRow => ({
  id,
  tenant_id: 't1',
  dedup_key: `quorum_lost|${id}||`,
  rule: 'quorum_lost',
  severity: 'critical',
  state: 'firing',
  summary: 'lost',
  resolve_summary: null,
  cluster_id: 'c1',
  cluster_name: 'prod',
  node: null,
  vmid: null,
  started_at: '2026-11-25T00:00:00.000Z',
  resolved_at: null,
  acknowledged_by: null,
  acknowledged_at: null,
  silenced: 0,
});
const delivery = (alertId: string, event: string, n = 0): NewDelivery => ({
  id: `${alertId}-${event}-${n}`,
  tenantId: 't1',
  channelId: 'ch1',
  alertId,
  event,
  payload,
  idempotencyKey: `${alertId}:${event}:ch1`,
  nextAttemptAt: 1000,
  createdAt: '2026-11-25T00:00:00.000Z',
});

for (const d of DIALECTS) {
  test(`${d.name}: applying the same fire and resolve twice stores and queues each once`, async (t) => {
    const opened = await d.open();
    if (!requires(t, 'postgres', opened !== undefined, d.skipReason) || !opened) return;
    try {
      const store = opened.storage.extend(createAlertStore);
      const fire = {
        tenantId: 't1',
        upserts: [{ key: 'a:k', value: '{"x":1}' }],
        deletes: [],
        fires: [{ alert: row('a1'), deliveries: [delivery('a1', 'fire')] }],
        resolves: [],
      };
      assert.equal((await applyBatch(store, fire)).queued, 1);
      assert.equal((await applyBatch(store, fire)).queued, 0);
      const resolve = {
        tenantId: 't1',
        upserts: [],
        deletes: ['a:k'],
        fires: [],
        resolves: [
          {
            id: 'a1',
            resolvedAt: '2026-11-25T00:05:00.000Z',
            resolveSummary: 'ok',
            deliveries: [delivery('a1', 'resolve')],
          },
        ],
      };
      assert.equal((await applyBatch(store, resolve)).queued, 1);
      assert.equal((await applyBatch(store, resolve)).queued, 0);
      const a = await store.getAlert('t1', 'a1');
      assert.equal(a?.state, 'resolved');
      assert.equal(a?.resolved_at, '2026-11-25T00:05:00.000Z');
      assert.deepEqual((await store.loadAllState()).get('t1') ?? [], []);
      assert.equal(await store.getAlert('t2', 'a1'), undefined, 'scoped by tenant');
    } finally {
      await opened.cleanup();
    }
  });

  test(`${d.name}: concurrent claims hand each due job to one claimer; an expired lease hands it out again`, async (t) => {
    const opened = await d.open();
    if (!requires(t, 'postgres', opened !== undefined, d.skipReason) || !opened) return;
    try {
      const store = opened.storage.extend(createAlertStore);
      const fires = Array.from({ length: 30 }, (_, i) => ({
        alert: row(`b${i}`),
        deliveries: [delivery(`b${i}`, 'fire')],
      }));
      await applyBatch(store, { tenantId: 't1', upserts: [], deletes: [], fires, resolves: [] });
      const claims = await Promise.all([0, 1, 2].map(() => store.claimDeliveries(5000, 20, 60_000)));
      const ids = claims.flat().map((j) => j.id);
      assert.equal(ids.length, 30);
      assert.equal(new Set(ids).size, 30, 'no job claimed twice');
      assert.deepEqual(await store.claimDeliveries(6000, 50, 60_000), []);
      const [first] = claims.flat();
      await store.retryDelivery(first!.id, 1, 7000, 'boom');
      assert.deepEqual(await store.claimDeliveries(6500, 50, 60_000), []);
      const again = await store.claimDeliveries(7000, 50, 60_000);
      assert.deepEqual(
        again.map((j) => [j.id, j.attempts]),
        [[first!.id, 1]],
      );
      // the rest were claimed by a worker that died: their lease ends at 65000
      const expired = await store.claimDeliveries(65_000, 50, 60_000);
      assert.equal(expired.length, 29);
    } finally {
      await opened.cleanup();
    }
  });

  test(`${d.name}: alerts list and acknowledge, silences, settings and channels`, async (t) => {
    const opened = await d.open();
    if (!requires(t, 'postgres', opened !== undefined, d.skipReason) || !opened) return;
    try {
      const store = opened.storage.extend(createAlertStore);
      await applyBatch(store, {
        tenantId: 't1',
        upserts: [],
        deletes: [],
        fires: [
          { alert: row('c1'), deliveries: [] },
          { alert: { ...row('c2'), state: 'resolved', rule: 'node_rebooted' }, deliveries: [] },
        ],
        resolves: [],
      });
      const firing = await store.listAlerts('t1', { state: 'firing', limit: 10, offset: 0 });
      assert.deepEqual(
        firing.map((a) => a.id),
        ['c1'],
      );
      assert.deepEqual(
        (await store.listAlerts('t1', { rule: 'node_rebooted', limit: 10, offset: 0 })).map((a) => a.id),
        ['c2'],
      );
      const acked = await store.acknowledge('t1', 'c1', 'alice', '2026-11-25T01:00:00.000Z');
      assert.equal(acked?.acknowledged_by, 'alice');
      const again = await store.acknowledge('t1', 'c1', 'bob', '2026-11-25T02:00:00.000Z');
      assert.equal(again?.acknowledged_by, 'alice', 'the first acknowledgement stays');
      assert.equal(await store.acknowledge('t2', 'c1', 'eve', '2026-11-25T02:00:00.000Z'), undefined);

      const sil = {
        id: 's1',
        tenant_id: 't1',
        cluster_id: null,
        node: 'pve2',
        rule: null,
        starts_at: '2026-11-25T00:00:00.000Z',
        ends_at: '2026-11-25T02:00:00.000Z',
        comment: 'ram',
        created_by: 'alice',
        created_at: '2026-11-25T00:00:00.000Z',
      };
      await store.createSilence(sil);
      assert.equal((await store.activeSilences('t1', '2026-11-25T01:00:00.000Z')).length, 1);
      assert.equal((await store.activeSilences('t1', '2026-11-25T03:00:00.000Z')).length, 0);
      assert.equal(await store.deleteSilence('t1', 's1'), true);
      assert.equal(await store.deleteSilence('t1', 's1'), false);

      assert.equal(await store.getSettings('t1'), undefined);
      await store.putSettings('t1', { rules: { cpu_high: { trigger: 0.5 } } }, '2026-11-25T00:00:00.000Z');
      await store.putSettings('t1', { rules: { cpu_high: { trigger: 0.6 } } }, '2026-11-25T00:00:01.000Z');
      assert.deepEqual(await store.getSettings('t1'), { rules: { cpu_high: { trigger: 0.6 } } });

      const ch = {
        id: 'ch1',
        tenantId: 't1',
        type: 'webhook' as const,
        name: 'ops',
        config: { url: 'http://x/' },
        minSeverity: 'warning' as const,
      };
      assert.equal(await store.createChannel(ch, '2026-11-25T00:00:00.000Z'), true);
      assert.equal(await store.createChannel({ ...ch, id: 'ch2' }, '2026-11-25T00:00:00.000Z'), false);
      assert.equal(
        await store.createChannel({ ...ch, id: 'ch3', tenantId: 't2' }, '2026-11-25T00:00:00.000Z'),
        true,
      );
      const list = await store.listChannels('t1');
      assert.deepEqual(
        list.map((c) => [c.id, c.minSeverity, c.config.url]),
        [['ch1', 'warning', 'http://x/']],
      );
      assert.equal(await store.deleteChannel('t2', 'ch1'), false);
      assert.equal(await store.deleteChannel('t1', 'ch1'), true);
    } finally {
      await opened.cleanup();
    }
  });
}

for (const d of DIALECTS) {
  test(`${d.name}: the alert queue is consumed once, under the current leader's epoch only; state keys with NUL round-trip`, async (t) => {
    const opened = await d.open();
    if (!requires(t, 'postgres', opened !== undefined, d.skipReason) || !opened) return;
    try {
      const store = opened.storage.extend(createAlertStore);
      const lockA = opened.storage.leaderLock('alerts-test');
      const lockB = opened.storage.leaderLock('alerts-test');
      const epochA = await lockA.tryAcquire('a', '2026-11-25T00:00:00Z');
      assert.equal(typeof epochA, 'number');
      await store.enqueue([
        { tenantId: 't1', body: '{"n":1}' },
        { tenantId: 't1', body: '{"n":2}' },
      ]);
      const queued = await store.readQueue(10);
      assert.deepEqual(
        queued.map((q) => q.body),
        ['{"n":1}', '{"n":2}'],
      );
      const nodeKey = 'n:cluster\0pve1';
      const batch = {
        tenantId: 't1',
        upserts: [{ key: nodeKey, value: '{}' }],
        deletes: [],
        fires: [],
        resolves: [],
      };
      await store.commitEvaluation({
        batches: [batch],
        consumed: [queued[0]!.seq],
        fence: { name: 'alerts-test', epoch: epochA! },
        at: 0,
      });
      assert.deepEqual(
        (await store.readQueue(10)).map((q) => q.body),
        ['{"n":2}'],
      );
      assert.deepEqual(await store.loadAllState(), new Map([['t1', [{ key: nodeKey, value: '{}' }]]]));
      // the same row again: it is gone, so the commit fails and stores nothing
      await assert.rejects(
        store.commitEvaluation({
          batches: [],
          consumed: [queued[0]!.seq],
          fence: { name: 'alerts-test', epoch: epochA! },
          at: 0,
        }),
        /taken by another evaluator/,
      );
      // PostgreSQL: B waits while A holds the lock; SQLite has one process, so B simply wins
      if (d.name === 'postgres') {
        assert.equal(await lockB.tryAcquire('b', '2026-11-25T00:00:01Z'), undefined);
        assert.equal(await lockA.held(), true);
        await lockA.release();
      }
      const epochB = await lockB.tryAcquire('b', '2026-11-25T00:00:02Z');
      assert.equal(epochB, epochA! + 1);
      await assert.rejects(
        store.commitEvaluation({
          batches: [{ ...batch, upserts: [{ key: 'c:x', value: '1' }] }],
          consumed: [queued[1]!.seq],
          fence: { name: 'alerts-test', epoch: epochA! },
          at: 0,
        }),
        { name: 'LeadershipLost' },
      );
      assert.equal((await store.readQueue(10)).length, 1, 'the deposed leader consumed nothing');
      assert.equal((await store.loadAllState()).get('t1')?.length, 1, 'and stored nothing');
      await lockA.release();
      await lockB.release();
    } finally {
      await opened.cleanup();
    }
  });
}
