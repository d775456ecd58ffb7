import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { makeTestApp, SPEC } from '../testing.ts';
import { chooseResolution } from './history.ts';

const DAY = 86400_000;
const NOW = Date.UTC(2026, 5, 1);
const KEEP = { rawDays: 7, fiveMinuteDays: 90, hourlyDays: 730 };

test('auto resolution: raw up to 2 days, 5-minute up to 30 days, hourly beyond', () => {
  assert.equal(chooseResolution(NOW - DAY, NOW, NOW, KEEP), 'raw');
  assert.equal(chooseResolution(NOW - 2 * DAY, NOW, NOW, KEEP), 'raw');
  assert.equal(chooseResolution(NOW - 3 * DAY, NOW, NOW, KEEP), '5m');
  assert.equal(chooseResolution(NOW - 30 * DAY, NOW, NOW, KEEP), '5m');
  assert.equal(chooseResolution(NOW - 31 * DAY, NOW, NOW, KEEP), '1h');
  assert.equal(chooseResolution(NOW - 700 * DAY, NOW, NOW, KEEP), '1h');
});

test('auto resolution goes coarser for a point budget, or when a horizon has dropped the range’s start', () => {
  // one day is 1,440 raw points, 288 five-minute ones, 24 hourly
  assert.equal(chooseResolution(NOW - DAY, NOW, NOW, KEEP, 1440), 'raw');
  assert.equal(chooseResolution(NOW - DAY, NOW, NOW, KEEP, 1000), '5m');
  assert.equal(chooseResolution(NOW - DAY, NOW, NOW, KEEP, 100), '1h');
  // a day a week ago: raw is gone (7 days), its 5-minute rollups are not
  assert.equal(chooseResolution(NOW - 8 * DAY, NOW - 7 * DAY, NOW, KEEP), '5m');
  // 5-minute rows kept 10 days only: a 20-day range is hourly
  assert.equal(chooseResolution(NOW - 20 * DAY, NOW, NOW, { ...KEEP, fiveMinuteDays: 10 }), '1h');
});

test('GET /api/nodes/:id/history and /api/guests/:id/history answer at the chosen resolution', async (t) => {
  let clock = NOW;
  const h = await makeTestApp({}, { now: () => new Date(clock), background: false });
  t.after(() => h.app.close());
  const a = await h.register();
  const read = await h.pat('read');
  for (let m = 0; m < 10; m++) {
    clock = NOW + m * 60_000;
    assert.equal(
      (await h.post('/api/proxmox/node', a.access, { ...SPEC.node, cpu_usage_ratio: m / 10 })).status,
      200,
    );
    const lxc = { ...SPEC.lxc, cpu_usage_ratio: m / 10, mem_used_bytes: 1000 * m, net_in_bytes: 100 * m };
    assert.equal((await h.post('/api/proxmox/lxc', a.access, lxc)).status, 200);
  }
  clock = NOW + 70 * 60_000;
  await h.storage.maintainHistory(clock, KEEP);
  const nodeId = ((await h.get('/api/nodes', read)).json.data as { id: string }[])[0]!.id;
  const guestId = ((await h.get('/api/guests', read)).json.data as { id: string }[])[0]!.id;

  const raw = await h.get(`/api/guests/${guestId}/history`, read);
  assert.equal(raw.status, 200);
  const rd = raw.json.data as {
    resolution: string;
    step_seconds: number;
    points: { cpu_max: number; net_in_max: number }[];
  };
  assert.equal(rd.resolution, 'raw');
  assert.equal(rd.step_seconds, 60);
  assert.equal(rd.points.length, 10);
  assert.equal(rd.points[9]!.net_in_max, 900);

  const week = await h.get(
    `/api/guests/${guestId}/history?from=${new Date(clock - 7 * DAY).toISOString()}`,
    read,
  );
  const wd = week.json.data as {
    resolution: string;
    points: { n: number; cpu_max: number; mem_avg: number }[];
  };
  assert.equal(wd.resolution, '5m');
  assert.deepEqual(
    wd.points.map((p) => [p.n, p.cpu_max, p.mem_avg]),
    [
      [5, 0.4, 2000],
      [5, 0.9, 7000],
    ],
  );

  const year = await h.get(
    `/api/nodes/${nodeId}/history?from=${new Date(clock - 365 * DAY).toISOString()}`,
    read,
  );
  const yd = year.json.data as {
    resolution: string;
    step_seconds: number;
    points: { n: number; cpu_max: number }[];
  };
  assert.equal(yd.resolution, '1h');
  assert.equal(yd.step_seconds, 3600);
  assert.deepEqual(
    yd.points.map((p) => [p.n, p.cpu_max]),
    [[10, 0.9]],
  );

  // asked for explicitly, and a point budget keeps the latest points
  const few = await h.get(`/api/nodes/${nodeId}/history?resolution=raw&max_points=3`, read);
  const fd = few.json.data as { points: { cpu_max: number }[] };
  assert.deepEqual(
    fd.points.map((p) => p.cpu_max),
    [0.7, 0.8, 0.9],
  );

  // unknown ids and other tenants' ids are 404, bad times 400
  const other = await h.pat('read', 'other-org');
  assert.equal((await h.get(`/api/guests/${guestId}/history`, other)).status, 404);
  assert.equal((await h.get(`/api/nodes/${nodeId}/history`, other)).status, 404);
  assert.equal((await h.get(`/api/nodes/${nodeId}/history?from=yesterday`, read)).status, 400);
  assert.equal((await h.get(`/api/nodes/${nodeId}/history?max_points=0`, read)).status, 400);
  assert.equal(
    (await h.get(`/api/nodes/${nodeId}/history?from=2026-06-02T00:00:00Z&to=2026-06-01T00:00:00Z`, read))
      .status,
    400,
  );
});

test('swap, I/O wait, load 5/15 and network counters of node reports come back in GET /api/nodes/:id and its history', async (t) => {
  const h = await makeTestApp({}, { now: () => new Date(NOW), background: false });
  t.after(() => h.app.close());
  const a = await h.register();
  const read = await h.pat('read');
  const report = {
    ...SPEC.node,
    collected_at: new Date(NOW).toISOString(),
    swap_used_bytes: 1024,
    swap_total_bytes: 8192,
    io_wait_ratio: 0.04,
    load_avg_5m: 1.5,
    load_avg_15m: 1.25,
    net_in_bytes: 81235567890,
    net_out_bytes: 7125456789,
  };
  assert.equal((await h.post('/api/proxmox/node', a.access, report)).status, 200);
  const nodeId = ((await h.get('/api/nodes', read)).json.data as { id: string }[])[0]!.id;
  const detail = await h.get(`/api/nodes/${nodeId}?from=2000-01-01T00:00:00Z`, read);
  const sample = (detail.json.data as { history: { samples: Record<string, unknown>[] } }).history
    .samples[0]!;
  assert.deepEqual(
    [
      sample['swap_used_bytes'],
      sample['swap_total_bytes'],
      sample['io_wait_ratio'],
      sample['load_avg_5m'],
      sample['load_avg_15m'],
      sample['net_in_bytes'],
      sample['net_out_bytes'],
    ],
    [1024, 8192, 0.04, 1.5, 1.25, 81235567890, 7125456789],
  );
  const hist = await h.get(`/api/nodes/${nodeId}/history?resolution=5m&from=2000-01-01T00:00:00Z`, read);
  const p = (hist.json.data as { points: Record<string, unknown>[] }).points[0]!;
  assert.deepEqual(
    [
      p['swap_avg'],
      p['swap_total'],
      p['iowait_max'],
      p['load5_avg'],
      p['load15_avg'],
      p['net_in_min'],
      p['net_in_max'],
      p['net_out_max'],
    ],
    [1024, 8192, 0.04, 1.5, 1.25, 81235567890, 81235567890, 7125456789],
  );
});
