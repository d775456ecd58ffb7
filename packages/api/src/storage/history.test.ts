import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { test } from '@nanny/testing';
import { at, HISTORY_CASES, historyFixture, KEEP, range } from './testing.ts';
import type { NodeHistoryPoint } from './history-types.ts';

for (const c of HISTORY_CASES) {
  describe(`usage history on ${c.name}`, () => {
    const { open, agent, fleet, job, storage } = historyFixture(c);
    test('every guest report is one usage sample; a replayed report adds none', async (t) => {
      if (await open(t)) return;
      const s = storage();
      const a = await agent();
      const { guestId } = await fleet(a, 3);
      await s.ingest([job(a, 'lxc', { vmid: 100, node: 'n1', status: 'running', cpu_usage_ratio: 0.5 }, 2)]);
      const raw = await s.guestHistory(a.tenant_id, guestId, range('raw'));
      assert.deepEqual(
        raw?.map((p) => [p.ts, p.cpu_avg, p.net_in_max]),
        [
          [at(0), 0, 10_000],
          [at(1), 0.01, 10_100],
          [at(2), 0.02, 10_200],
        ],
      );
      // another tenant cannot read it
      assert.equal(
        await s.guestHistory((await s.ensureTenant('default', at(0))).id, guestId, range('raw')),
        undefined,
      );
    });

    test('5-minute and hourly rollups keep avg, max and min per bucket', async (t) => {
      if (await open(t)) return;
      const s = storage();
      const a = await agent();
      const { nodeId, guestId } = await fleet(a, 15);
      const first = await s.maintainHistory(Date.parse(at(70)), KEEP);
      assert.ok(first);
      const g5 = await s.guestHistory(a.tenant_id, guestId, range('5m'));
      assert.deepEqual(
        g5?.map((p) => [p.ts, p.n, p.cpu_avg?.toFixed(4), p.cpu_max, p.mem_max, p.net_in_min, p.net_in_max]),
        [
          [at(0), 5, '0.0200', 0.04, 2004, 10_000, 10_400],
          [at(5), 5, '0.0700', 0.09, 2009, 10_500, 10_900],
          [at(10), 5, '0.1200', 0.14, 2014, 11_000, 11_400],
        ],
      );
      const n5 = await s.nodeHistory(a.tenant_id, nodeId, range('5m'));
      assert.deepEqual(
        n5?.map((p) => [p.ts, p.n, p.cpu_avg?.toFixed(4), p.cpu_max, p.mem_avg, p.online_min]),
        [
          [at(0), 5, '0.0200', 0.04, 1002, 1],
          [at(5), 5, '0.0700', 0.09, 1007, 1],
          [at(10), 5, '0.1200', 0.14, 1012, 1],
        ],
      );
      const g1 = await s.guestHistory(a.tenant_id, guestId, range('1h'));
      assert.deepEqual(
        g1?.map((p) => [p.ts, p.n, p.cpu_avg?.toFixed(4), p.cpu_max, p.net_out_min, p.net_out_max]),
        [[at(0), 15, '0.0700', 0.14, 5000, 5140]],
      );
      const n1 = await s.nodeHistory(a.tenant_id, nodeId, range('1h'));
      assert.deepEqual(
        n1?.map((p) => [p.ts, p.n, p.mem_avg, p.mem_max]),
        [[at(0), 15, 1007, 1014]],
      );
    });

    test('node swap, I/O wait and load 5/15 are kept raw and in both rollups', async (t) => {
      if (await open(t)) return;
      const s = storage();
      const a = await agent();
      const { nodeId } = await fleet(a, 15);
      const row = (p: { swap_avg: number | null; swap_max: number | null; swap_total: number | null }) => [
        p.swap_avg,
        p.swap_max,
        p.swap_total,
      ];
      const raw = await s.nodeHistory(a.tenant_id, nodeId, range('raw'));
      assert.deepEqual(
        raw?.slice(0, 2).map((p) => [...row(p), p.iowait_avg, p.load5_avg, p.load15_avg]),
        [
          [500, 500, 4096, 0, 0, 0],
          [501, 501, 4096, 0.001, 1, 2],
        ],
      );
      // before the job ran (5-minute points from raw samples) and after (from the rollups)
      for (const nowMin of [0, 70]) {
        if (nowMin > 0) await s.maintainHistory(Date.parse(at(nowMin)), KEEP);
        const n5 = await s.nodeHistory(a.tenant_id, nodeId, range('5m'));
        assert.deepEqual(
          n5?.map((p) => [p.ts, ...row(p), p.iowait_max, p.load5_avg, p.load15_avg]),
          [
            [at(0), 502, 504, 4096, 0.004, 2, 4],
            [at(5), 507, 509, 4096, 0.009, 7, 14],
            [at(10), 512, 514, 4096, 0.014, 12, 24],
          ],
          `at minute ${nowMin}`,
        );
      }
      const n1 = await s.nodeHistory(a.tenant_id, nodeId, range('1h'));
      assert.deepEqual(
        n1?.map((p) => [p.n, ...row(p), p.iowait_avg?.toFixed(4), p.iowait_max, p.load5_avg, p.load15_avg]),
        [[15, 507, 514, 4096, '0.0070', 0.014, 7, 14]],
      );
    });

    test('node network counters are kept raw and as min/max in both rollups', async (t) => {
      if (await open(t)) return;
      const s = storage();
      const a = await agent();
      const { nodeId } = await fleet(a, 15);
      const net = (p: NodeHistoryPoint) => [p.net_in_min, p.net_in_max, p.net_out_min, p.net_out_max];
      const raw = await s.nodeHistory(a.tenant_id, nodeId, range('raw'));
      assert.deepEqual(raw?.slice(0, 2).map(net), [
        [1_000_000, 1_000_000, 5000, 5000],
        [1_001_000, 1_001_000, 5010, 5010],
      ]);
      // before the job ran (5-minute points from raw samples) and after (from the rollups)
      for (const nowMin of [0, 70]) {
        if (nowMin > 0) await s.maintainHistory(Date.parse(at(nowMin)), KEEP);
        const n5 = await s.nodeHistory(a.tenant_id, nodeId, range('5m'));
        assert.deepEqual(
          n5?.map((p) => [p.ts, ...net(p)]),
          [
            [at(0), 1_000_000, 1_004_000, 5000, 5040],
            [at(5), 1_005_000, 1_009_000, 5050, 5090],
            [at(10), 1_010_000, 1_014_000, 5100, 5140],
          ],
          `at minute ${nowMin}`,
        );
      }
      const n1 = await s.nodeHistory(a.tenant_id, nodeId, range('1h'));
      assert.deepEqual(n1?.map(net), [[1_000_000, 1_014_000, 5000, 5140]]);
    });

    test('a sample arriving late re-rolls its recent bucket', async (t) => {
      if (await open(t)) return;
      const s = storage();
      const a = await agent();
      const { guestId } = await fleet(a, 9);
      await s.maintainHistory(Date.parse(at(12)), KEEP);
      const before5 = await s.guestHistory(a.tenant_id, guestId, range('5m'));
      assert.deepEqual(
        before5?.map((p) => [p.ts, p.n]),
        [
          [at(0), 5],
          [at(5), 4],
        ],
      );
      // the report collected at minute 9.5 arrives at minute 13 (collected_at keeps its time)
      await s.ingest([
        job(
          a,
          'lxc',
          { vmid: 100, node: 'n1', status: 'running', cpu_usage_ratio: 0.9, collected_at: at(9.5) },
          13,
        ),
      ]);
      // the job rolls once an hour of buckets has closed; it re-rolls the bucket before its mark
      await s.maintainHistory(Date.parse(at(72)), KEEP);
      const after5 = await s.guestHistory(a.tenant_id, guestId, range('5m'));
      assert.deepEqual(
        after5?.map((p) => [p.ts, p.n, p.cpu_max]),
        [
          [at(0), 5, 0.04],
          [at(5), 5, 0.9],
        ],
      );
    });

    test('5-minute answers reach the last sample: buckets the job has not rolled yet come from raw', async (t) => {
      if (await open(t)) return;
      const s = storage();
      const a = await agent();
      const { nodeId, guestId } = await fleet(a, 15);
      await s.maintainHistory(Date.parse(at(12)), KEEP);
      for (const points of [
        await s.guestHistory(a.tenant_id, guestId, range('5m')),
        await s.nodeHistory(a.tenant_id, nodeId, range('5m')),
      ])
        assert.deepEqual(
          points?.map((p) => [p.ts, p.n, p.cpu_max]),
          [
            [at(0), 5, 0.04],
            [at(5), 5, 0.09],
            [at(10), 5, 0.14],
          ],
        );
      // and a point budget keeps the latest
      const last = await s.guestHistory(a.tenant_id, guestId, { ...range('5m'), limit: 2 });
      assert.deepEqual(
        last?.map((p) => p.ts),
        [at(5), at(10)],
      );
    });
  });
}
