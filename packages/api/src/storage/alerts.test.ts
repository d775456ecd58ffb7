/** The alert store on every dialect: idempotent evaluation batches, the delivery queue's claim. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from './dialects.test-support.ts';
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
    if (!opened) return t.skip(d.skipReason);
    try {
      const store = opened.storage.extend(createAlertStore);
      const fire = {
        tenantId: 't1',
        upserts: [{ key: 'a:k', value: '{"x":1}' }],
        deletes: [],
        fires: [{ alert: row('a1'), deliveries: [delivery('a1', 'fire')] }],
        resolves: [],
      };
      assert.equal((await store.applyEvaluation(fire)).queued, 1);
      assert.equal((await store.applyEvaluation(fire)).queued, 0);
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
      assert.equal((await store.applyEvaluation(resolve)).queued, 1);
      assert.equal((await store.applyEvaluation(resolve)).queued, 0);
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
    if (!opened) return t.skip(d.skipReason);
    try {
      const store = opened.storage.extend(createAlertStore);
      const fires = Array.from({ length: 30 }, (_, i) => ({
        alert: row(`b${i}`),
        deliveries: [delivery(`b${i}`, 'fire')],
      }));
      await store.applyEvaluation({ tenantId: 't1', upserts: [], deletes: [], fires, resolves: [] });
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
}
