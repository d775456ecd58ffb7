/** The dashboard's change feed on every dialect: what an evaluation fired or resolved, once, for a while. */
import { requires, test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { DIALECTS, applyBatch } from './testing.ts';
import { createAlertStore, type AlertRow } from './alerts.ts';
import { LIVE_CHANGE_HORIZON_MS, createLiveChangeStore } from './live-changes.ts';

const row = (id: string, cluster: string): AlertRow => ({
  id,
  tenant_id: 't1',
  dedup_key: `agent_silent|${id}`,
  rule: 'agent_silent',
  severity: 'warning',
  state: 'firing',
  summary: 'silent',
  resolve_summary: null,
  cluster_id: cluster,
  cluster_name: null,
  node: 'pve1',
  vmid: null,
  started_at: '2026-11-25T00:00:00.000Z',
  resolved_at: null,
  acknowledged_by: null,
  acknowledged_at: null,
  silenced: 0,
});
const batch = (over: Partial<Parameters<typeof applyBatch>[1]>) => ({
  tenantId: 't1',
  upserts: [],
  deletes: [],
  fires: [],
  resolves: [],
  ...over,
});

for (const d of DIALECTS) {
  test(`${d.name}: a fire and a resolve each add one change; a repeat adds none; old rows go`, async (t) => {
    const opened = await d.open();
    if (!requires(t, 'postgres', opened !== undefined, d.skipReason) || !opened) return;
    try {
      const alerts = opened.storage.extend(createAlertStore);
      const feed = opened.storage.extend(createLiveChangeStore);
      assert.equal(await feed.latest(), 0);
      const t0 = 1_000_000_000;
      const fire = batch({ fires: [{ alert: row('a1', 'c1'), deliveries: [] }] });
      await applyBatch(alerts, fire, t0);
      await applyBatch(alerts, fire, t0 + 1);
      await applyBatch(alerts, batch({ upserts: [{ key: 'c:x', value: '1' }] }), t0 + 2);
      const first = await feed.since(0, 10);
      assert.deepEqual(
        first.map((r) => [r.tenantId, r.kind, r.clusterId]),
        [['t1', 'alert', 'c1']],
        'the repeated fire and a state-only commit changed no alert',
      );
      const resolve = {
        id: 'a1',
        resolvedAt: '2026-11-25T00:05:00.000Z',
        resolveSummary: 'back',
        deliveries: [],
      };
      await applyBatch(alerts, batch({ resolves: [resolve] }), t0 + 3);
      await applyBatch(alerts, batch({ resolves: [resolve] }), t0 + 4);
      const after = await feed.since(first[0]!.seq, 10);
      assert.equal(after.length, 1, 'one resolve, whatever the repeats');
      assert.equal(await feed.latest(), after[0]!.seq);
      await applyBatch(
        alerts,
        batch({ fires: [{ alert: row('a2', 'c2'), deliveries: [] }] }),
        t0 + LIVE_CHANGE_HORIZON_MS + 10,
      );
      assert.deepEqual(
        (await feed.since(0, 10)).map((r) => r.clusterId),
        ['c2'],
        'rows past the horizon were deleted',
      );
    } finally {
      await opened.cleanup();
    }
  });
}
