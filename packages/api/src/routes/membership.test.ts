/**
 * One truth from many views, end to end over HTTP: three agents report what their own corosync
 * partition sees; the API keeps every view, derives partitions and node states, and its alerts,
 * events and answers follow the derived state instead of the last report.
 */
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { makeTestApp, type TestApp } from '../testing.ts';
import { alertServiceOf } from '../alerts/module.ts';

const FP = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const TRIO = ['pve1', 'pve2', 'pve3'];

interface Env {
  t: TestApp;
  agents: Record<string, string>;
  read: string;
  tick: (ms: number) => void;
}

async function open(t0: number, after: (fn: () => Promise<void>) => void): Promise<Env> {
  let clock = t0;
  const t = await makeTestApp({}, { now: () => new Date(clock) });
  after(() => t.app.close());
  await t.app.ready();
  const agents: Record<string, string> = {};
  for (const n of TRIO)
    agents[n] = (await t.register(n, { cluster_name: 'prod', cluster_fingerprint: FP })).access;
  return { t, agents, read: await t.pat('read'), tick: (ms) => (clock += ms) };
}

/** `from`'s agent reports what its partition sees (cluster report) and itself (node report). */
async function reportView(e: Env, from: string, quorate: boolean, sees: string[]): Promise<void> {
  const cluster = {
    cluster_fingerprint: FP,
    cluster_name: 'prod',
    cluster_id: 'cluster',
    nodes: 3,
    quorate: quorate ? 1 : 0,
    version: 7,
    reporting_node: from,
    members: TRIO.map((name, i) => ({
      name,
      node_id: i + 1,
      online: sees.includes(name) ? 1 : 0,
      local: name === from ? 1 : 0,
    })),
  };
  const node = {
    cluster_fingerprint: FP,
    cluster_name: 'prod',
    name: from,
    pve_version: 'pve-manager/8.4.1/2a5fa54a8503f96d',
    interval_seconds: 300,
    heartbeat_interval_seconds: 60,
  };
  for (const [kind, body] of [
    ['cluster', cluster],
    ['node', node],
  ] as const) {
    const r = await e.t.post(`/api/proxmox/${kind}`, e.agents[from] as string, body);
    assert.equal(r.status, 200, JSON.stringify(r.json));
  }
  await e.t.app.nanny.committer.drain();
  await alertServiceOf(e.t.app.nanny.modules)?.flush();
}

async function alertRules(e: Env): Promise<string[]> {
  const r = await e.t.get('/api/alerts?limit=100', e.read);
  assert.equal(r.status, 200);
  return (r.json.data as { rule: string; state: string; node: string | null }[])
    .map((a) => `${a.rule}${a.node ? ` ${a.node}` : ''} ${a.state}`)
    .sort();
}

async function eventTypes(e: Env): Promise<string[]> {
  const r = await e.t.get('/api/events?limit=500', e.read);
  assert.equal(r.status, 200);
  return (r.json.data as { subject: string; type: string }[]).map((x) => x.type);
}

async function clusterId(e: Env): Promise<string> {
  const r = await e.t.get('/api/clusters', e.read);
  return ((r.json.data as { id: string }[])[0] as { id: string }).id;
}

test("the demo's quorum loss (each node isolated, reports alternating over 36 s): one quorum_lost, no node_offline, no offline/online events", async (t) => {
  const e = await open(Date.parse('2026-12-01T10:00:00Z'), (fn) => t.after(fn));
  for (const n of TRIO) await reportView(e, n, true, TRIO);
  for (let i = 0; i < 12; i += 1) {
    e.tick(3_000);
    const n = TRIO[i % 3] as string;
    await reportView(e, n, false, [n]);
  }
  const id = await clusterId(e);
  const m = await e.t.get(`/api/clusters/${id}/membership`, e.read);
  assert.equal(m.status, 200, JSON.stringify(m.json));
  const data = m.json.data as {
    split: boolean;
    quorate_partition: number | null;
    partitions: { nodes: string[] }[];
    nodes: { name: string; state: string; since: string | null }[];
    views: { reporter: string; fresh: boolean }[];
  };
  assert.equal(data.split, true);
  assert.equal(data.quorate_partition, null);
  assert.deepEqual(data.partitions.map((p) => p.nodes.join(',')).sort(), ['pve1', 'pve2', 'pve3']);
  assert.deepEqual(
    data.nodes.map((n) => n.state),
    ['partitioned', 'partitioned', 'partitioned'],
  );
  assert.ok(data.nodes.every((n) => n.since !== null));
  const nodes = await e.t.get('/api/nodes', e.read);
  assert.deepEqual(
    (nodes.json.data as { state?: string }[]).map((n) => n.state),
    ['partitioned', 'partitioned', 'partitioned'],
  );
  const c = await e.t.get(`/api/clusters/${id}`, e.read);
  assert.equal((c.json.data as { split?: boolean }).split, true);

  assert.deepEqual(await alertRules(e), ['quorum_lost firing']);
  const during = await eventTypes(e);
  assert.equal(during.filter((x) => x === 'went_offline' || x === 'came_back').length, 0);
  assert.equal(during.filter((x) => x === 'partitioned').length, 3);

  // The links come back: every agent reports the whole cluster again.
  e.tick(3_000);
  for (const n of TRIO) await reportView(e, n, true, TRIO);
  assert.deepEqual(await alertRules(e), ['quorum_lost resolved']);
  const all = await eventTypes(e);
  assert.equal(all.filter((x) => x === 'went_offline' || x === 'came_back').length, 0);
  assert.equal(all.filter((x) => x === 'rejoined').length, 3);
});

test('a node cut off alone from a quorate majority: node_offline once, its own state partitioned', async (t) => {
  const e = await open(Date.parse('2026-12-01T11:00:00Z'), (fn) => t.after(fn));
  for (const n of TRIO) await reportView(e, n, true, TRIO);
  for (let i = 0; i < 4; i += 1) {
    e.tick(2_000);
    await reportView(e, 'pve3', false, ['pve3']);
    await reportView(e, 'pve1', true, ['pve1', 'pve2']);
    await reportView(e, 'pve2', true, ['pve1', 'pve2']);
  }
  assert.deepEqual(await alertRules(e), ['node_offline pve3 firing', 'quorum_lost firing']);
  const id = await clusterId(e);
  const m = await e.t.get(`/api/clusters/${id}/membership`, e.read);
  const data = m.json.data as {
    quorate_partition: number;
    partitions: { nodes: string[] }[];
    nodes: { name: string; state: string }[];
  };
  assert.deepEqual(data.partitions[data.quorate_partition]?.nodes, ['pve1', 'pve2']);
  assert.equal(data.nodes.find((n) => n.name === 'pve3')?.state, 'partitioned');
  const ev = await eventTypes(e);
  assert.deepEqual(
    ev.filter((x) => ['went_offline', 'came_back', 'partitioned', 'rejoined'].includes(x)),
    ['partitioned'],
  );
  // the cut-off node says 0 and the majority 1, in turns: one quorum_lost event, not a pair per report
  assert.deepEqual(
    ev.filter((x) => x === 'quorum_lost' || x === 'quorum_regained'),
    ['quorum_lost'],
  );
  e.tick(2_000);
  for (const n of TRIO) await reportView(e, n, true, TRIO);
  assert.deepEqual(await alertRules(e), ['node_offline pve3 resolved', 'quorum_lost resolved']);
});

/** `from`'s agent sends a node report only (a heartbeat): alive, but no new view. */
async function heartbeat(e: Env, from: string): Promise<void> {
  const r = await e.t.post(`/api/proxmox/node`, e.agents[from] as string, {
    cluster_fingerprint: FP,
    cluster_name: 'prod',
    name: from,
    pve_version: 'pve-manager/8.4.1/2a5fa54a8503f96d',
    interval_seconds: 300,
    heartbeat_interval_seconds: 60,
    trigger: 'heartbeat',
  });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  await e.t.app.nanny.committer.drain();
}

/** `quorate` as GET /api/clusters, GET /api/clusters/:id and /metrics answer it. */
async function quorateAnswers(e: Env, id: string): Promise<unknown[]> {
  const list = await e.t.get('/api/clusters', e.read);
  const one = await e.t.get(`/api/clusters/${id}`, e.read);
  const metrics = await e.t.app.inject({
    method: 'GET',
    url: '/metrics',
    headers: { authorization: `Bearer ${e.read}` },
  });
  assert.equal(metrics.statusCode, 200, metrics.body);
  const gauge = /^nanny_cluster_quorate\{[^}]*\} (\S+)$/m.exec(metrics.body)?.[1];
  return [
    (list.json.data as { quorate: unknown }[])[0]?.quorate,
    (one.json.data as { quorate: unknown }).quorate,
    Number(gauge),
  ];
}

test("reporters that disagree: the clusters' quorate follows the derived membership, not the last report", async (t) => {
  const e = await open(Date.parse('2026-12-01T13:00:00Z'), (fn) => t.after(fn));
  for (const n of TRIO) await reportView(e, n, true, TRIO);
  const id = await clusterId(e);
  assert.deepEqual(await quorateAnswers(e, id), [1, 1, 1]);

  // pve3 is cut off and says so; the majority reports after it (the last report says quorate)
  e.tick(2_000);
  await reportView(e, 'pve3', false, ['pve3']);
  await reportView(e, 'pve1', true, ['pve1', 'pve2']);
  await reportView(e, 'pve2', true, ['pve1', 'pve2']);
  assert.deepEqual(await quorateAnswers(e, id), [0, 0, 0], 'a live part of the cluster is without quorum');
  assert.ok((await alertRules(e)).includes('quorum_lost firing'), 'the same truth as the alert');

  // the majority again, then pve3 last (the last report says not quorate) ...
  e.tick(2_000);
  await reportView(e, 'pve1', true, ['pve1', 'pve2']);
  await reportView(e, 'pve2', true, ['pve1', 'pve2']);
  await reportView(e, 'pve3', false, ['pve3']);
  assert.deepEqual(await quorateAnswers(e, id), [0, 0, 0]);
  // ... and then pve3 dies: once its agent is silent its view stops counting, although its
  // not-quorate cluster report is still the last one the API received.
  for (let i = 0; i < 4; i += 1) {
    e.tick(60_000);
    await heartbeat(e, 'pve1');
    await heartbeat(e, 'pve2');
  }
  assert.deepEqual(await quorateAnswers(e, id), [1, 1, 1], 'the dead node no longer says anything');
  const svc = alertServiceOf(e.t.app.nanny.modules);
  await svc?.tick();
  await svc?.flush();
  assert.ok((await alertRules(e)).includes('quorum_lost resolved'), 'the same truth as the alert');
});

test('the membership of an unknown cluster is 404', async (t) => {
  const e = await open(Date.parse('2026-12-01T12:00:00Z'), (fn) => t.after(fn));
  const r = await e.t.get('/api/clusters/nope/membership', e.read);
  assert.equal(r.status, 404);
});

test('a standalone node is online while its agent speaks and offline once it is silent (nobody else can see it)', async (t) => {
  let clock = Date.parse('2026-03-01T10:00:00Z');
  const app = await makeTestApp({}, { now: () => new Date(clock) });
  t.after(() => app.app.close());
  await app.app.ready();
  const agent = (await app.register('lonely')).access;
  const read = await app.pat('read');
  const node = {
    name: 'lonely',
    pve_version: 'pve-manager/8.4.1/2a5fa54a8503f96d',
    interval_seconds: 300,
    heartbeat_interval_seconds: 60,
  };
  assert.equal((await app.post('/api/proxmox/node', agent, node)).status, 200);
  await app.app.nanny.committer.drain();
  const state = async () => {
    const r = await app.get('/api/nodes', read);
    assert.equal(r.status, 200);
    const n = (r.json.data as { name: string; state?: string; state_since?: string | null }[]).find(
      (x) => x.name === 'lonely',
    );
    return [n?.state, n?.state_since ?? null];
  };
  assert.deepEqual(await state(), ['online', null]);
  clock += 149_000; // 2.5 heartbeats of 60 s is 150 s
  assert.deepEqual(await state(), ['online', null]);
  clock += 2_000;
  assert.deepEqual(await state(), ['offline', '2026-03-01T10:02:30.000Z']);
  // it speaks again: online at once
  assert.equal((await app.post('/api/proxmox/node', agent, node)).status, 200);
  await app.app.nanny.committer.drain();
  assert.deepEqual(await state(), ['online', null]);
});
