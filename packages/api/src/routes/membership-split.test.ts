/**
 * Partitions that are not "every node alone" (docs/detection.md), over HTTP with crafted reports:
 * a 5-node cluster split 3+2 and a 4-node cluster split 2+2, reported in the order that used to
 * chain the two sides into one partition (the minority first, the rest still holding their old
 * views), nannyapi restarted in the middle of the split, then the heal.
 */
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestApp, type TestApp } from '../testing.ts';
import { alertServiceOf } from '../alerts/module.ts';

const FP = 'b1b2c3d4e5f60718293a4b5c6d7e8f90';

interface Env {
  t: TestApp;
  names: string[];
  agents: Record<string, string>;
  read: string;
}

function clock(t0: number) {
  let now = t0;
  return { now: () => new Date(now), tick: (ms: number) => (now += ms) };
}

async function open(
  file: string,
  c: ReturnType<typeof clock>,
  after: (fn: () => Promise<void>) => void,
): Promise<TestApp> {
  const t = await makeTestApp({ sqliteFile: file }, { now: c.now });
  after(() => t.app.close());
  await t.app.ready();
  return t;
}

async function cluster(t: TestApp, names: string[]): Promise<Env> {
  const agents: Record<string, string> = {};
  for (const n of names)
    agents[n] = (await t.register(n, { cluster_name: 'prod', cluster_fingerprint: FP })).access;
  return { t, names, agents, read: await t.pat('read') };
}

/** `from`'s agent reports itself (node report) and what its partition sees (cluster report). */
async function report(e: Env, from: string, quorate: boolean, sees: string[]): Promise<void> {
  const clusterReport = {
    cluster_fingerprint: FP,
    cluster_name: 'prod',
    cluster_id: 'cluster',
    nodes: e.names.length,
    quorate: quorate ? 1 : 0,
    version: 7,
    reporting_node: from,
    trigger: 'change',
    members: e.names.map((name, i) => ({
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
    trigger: 'change',
  };
  // node first, as the agent sends them (cycle and change alike)
  for (const [kind, body] of [
    ['node', node],
    ['cluster', clusterReport],
  ] as const) {
    const r = await e.t.post(`/api/proxmox/${kind}`, e.agents[from] as string, body);
    assert.equal(r.status, 200, JSON.stringify(r.json));
  }
  await e.t.app.nanny.committer.drain();
  await alertServiceOf(e.t.app.nanny.modules)?.flush();
}

/** Every node of each group reports its group, in `order`; a group quorate with a majority. */
async function split(e: Env, groups: string[][], order: string[]): Promise<void> {
  for (const n of order) {
    const g = groups.find((x) => x.includes(n)) as string[];
    await report(e, n, g.length * 2 > e.names.length, g);
  }
}

async function alerts(e: Env): Promise<string[]> {
  const r = await e.t.get('/api/alerts?limit=100', e.read);
  assert.equal(r.status, 200);
  return (r.json.data as { rule: string; state: string; node: string | null }[])
    .map((a) => `${a.rule}${a.node ? ` ${a.node}` : ''} ${a.state}`)
    .sort();
}

const MOVES = ['went_offline', 'came_back', 'partitioned', 'rejoined', 'quorum_lost', 'quorum_regained'];
async function events(e: Env): Promise<string[]> {
  const r = await e.t.get('/api/events?limit=500', e.read);
  assert.equal(r.status, 200);
  return (r.json.data as { type: string; message: string }[])
    .filter((x) => MOVES.includes(x.type))
    .map(
      (x) => `${x.type}${/node (\S+)/.exec(x.message)?.[1] ? ` ${/node (\S+)/.exec(x.message)?.[1]}` : ''}`,
    )
    .sort();
}

interface Answers {
  membership: {
    split: boolean;
    quorate_partition: number | null;
    partitions: { nodes: string[]; quorate: boolean }[];
    nodes: { name: string; state: string }[];
  };
  states: Record<string, string>;
  nodes: Record<string, string>;
  cluster: { quorate: unknown; split: unknown };
}
async function answers(e: Env): Promise<Answers> {
  const list = await e.t.get('/api/clusters', e.read);
  const id = (list.json.data as { id: string }[])[0]?.id as string;
  const m = await e.t.get(`/api/clusters/${id}/membership`, e.read);
  assert.equal(m.status, 200, JSON.stringify(m.json));
  const membership = m.json.data as Answers['membership'];
  const n = await e.t.get('/api/nodes', e.read);
  const c = await e.t.get(`/api/clusters/${id}`, e.read);
  return {
    membership,
    states: Object.fromEntries(membership.nodes.map((x) => [x.name, x.state])),
    nodes: Object.fromEntries(
      (n.json.data as { name: string; state?: string }[]).map((x) => [x.name, String(x.state)]),
    ),
    cluster: c.json.data as Answers['cluster'],
  };
}

test('a 5-node cluster split 3+2, nannyapi restarted during it, then healed: no churn, each alert once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nanny-split-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'nanny.db');
  const c = clock(Date.parse('2026-12-01T10:00:00Z'));
  const five = ['pve1', 'pve2', 'pve3', 'pve4', 'pve5'];
  let e = await cluster(await open(file, c, (fn) => t.after(fn)), five);
  for (const n of five) await report(e, n, true, five);
  const groups = [
    ['pve1', 'pve2', 'pve3'],
    ['pve4', 'pve5'],
  ];
  // the watches see the split within one interval each; the minority's first
  c.tick(2_000);
  await split(e, groups, ['pve4', 'pve1', 'pve5', 'pve2', 'pve3']);
  const during = {
    states: { pve1: 'online', pve2: 'online', pve3: 'online', pve4: 'partitioned', pve5: 'partitioned' },
    alerts: ['node_offline pve4 firing', 'node_offline pve5 firing', 'quorum_lost firing'],
    events: ['partitioned pve4', 'partitioned pve5', 'quorum_lost'],
  };
  const check = async (what: string): Promise<void> => {
    const a = await answers(e);
    assert.deepEqual(a.states, during.states, `${what}: membership states`);
    assert.deepEqual(a.nodes, during.states, `${what}: /api/nodes`);
    assert.equal(a.membership.split, true);
    assert.deepEqual(a.membership.partitions[a.membership.quorate_partition ?? -1]?.nodes, groups[0]);
    assert.equal(a.cluster.split, true);
    assert.equal(a.cluster.quorate, 0, 'a live part of the cluster is without quorum');
    assert.deepEqual(await alerts(e), during.alerts, `${what}: alerts`);
    assert.deepEqual(await events(e), during.events, `${what}: events`);
  };
  await check('after the split');
  // the reports go on in turns (cycles, changes): nothing moves
  for (let i = 0; i < 3; i += 1) {
    c.tick(20_000);
    await split(e, groups, ['pve5', 'pve3', 'pve4', 'pve2', 'pve1']);
  }
  await check('while the split lasts');

  // nannyapi restarts in the middle of the split; the agents keep reporting
  await e.t.app.close();
  c.tick(5_000);
  e = { ...e, t: await open(file, c, (fn) => t.after(fn)) };
  await check('after the restart');
  c.tick(20_000);
  await split(e, groups, ['pve4', 'pve1', 'pve5', 'pve2', 'pve3']);
  const svc = alertServiceOf(e.t.app.nanny.modules);
  await svc?.tick();
  await svc?.flush();
  await check('after the restart and more reports');

  // heal, the minority's first again
  c.tick(20_000);
  for (const n of ['pve4', 'pve1', 'pve5', 'pve2', 'pve3']) await report(e, n, true, five);
  const a = await answers(e);
  assert.deepEqual(Object.values(a.states), ['online', 'online', 'online', 'online', 'online']);
  assert.equal(a.membership.split, false);
  assert.equal(a.cluster.quorate, 1);
  assert.deepEqual(await alerts(e), [
    'node_offline pve4 resolved',
    'node_offline pve5 resolved',
    'quorum_lost resolved',
  ]);
  assert.deepEqual(
    await events(e),
    [...during.events, 'quorum_regained', 'rejoined pve4', 'rejoined pve5'].sort(),
  );
});

test('a 4-node cluster split 2+2: one quorum_lost, no node_offline, every node partitioned; heal rejoins all', async (t) => {
  const c = clock(Date.parse('2026-12-01T11:00:00Z'));
  const four = ['pve1', 'pve2', 'pve3', 'pve4'];
  const e = await cluster(await open(':memory:', c, (fn) => t.after(fn)), four);
  for (const n of four) await report(e, n, true, four);
  const groups = [
    ['pve1', 'pve3'],
    ['pve2', 'pve4'],
  ];
  for (let i = 0; i < 4; i += 1) {
    c.tick(3_000);
    await split(e, groups, i % 2 ? ['pve4', 'pve1', 'pve2', 'pve3'] : ['pve1', 'pve2', 'pve3', 'pve4']);
  }
  const a = await answers(e);
  assert.deepEqual(Object.values(a.states), ['partitioned', 'partitioned', 'partitioned', 'partitioned']);
  assert.deepEqual(Object.values(a.nodes), ['partitioned', 'partitioned', 'partitioned', 'partitioned']);
  assert.equal(a.membership.quorate_partition, null);
  assert.deepEqual(a.membership.partitions.map((p) => p.nodes.join(',')).sort(), ['pve1,pve3', 'pve2,pve4']);
  assert.deepEqual(await alerts(e), ['quorum_lost firing']);
  assert.deepEqual(await events(e), [
    'partitioned pve1',
    'partitioned pve2',
    'partitioned pve3',
    'partitioned pve4',
    'quorum_lost',
  ]);
  c.tick(3_000);
  for (const n of ['pve2', 'pve1', 'pve4', 'pve3']) await report(e, n, true, four);
  assert.deepEqual(await alerts(e), ['quorum_lost resolved']);
  const ev = await events(e);
  assert.equal(ev.filter((x) => x.startsWith('rejoined')).length, 4);
  assert.equal(ev.filter((x) => x.startsWith('went_offline') || x.startsWith('came_back')).length, 0);
});

/** `from`'s agent sends a heartbeat (a node report only). */
async function beat(e: Env, from: string): Promise<void> {
  const r = await e.t.post('/api/proxmox/node', e.agents[from] as string, {
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
  const svc = alertServiceOf(e.t.app.nanny.modules);
  await svc?.tick();
  await svc?.flush();
}

test('a node that dies is offline at once (not "cut off"), went_offline once after its reply window; a quick reboot is no outage event', async (t) => {
  const c = clock(Date.parse('2026-12-01T12:00:00Z'));
  const trio = ['pve1', 'pve2', 'pve3'];
  const e = await cluster(await open(':memory:', c, (fn) => t.after(fn)), trio);
  for (const n of trio) await report(e, n, true, trio);
  // pve3 dies; the survivors' watches report within seconds, its agent says nothing more
  c.tick(5_000);
  await report(e, 'pve1', true, ['pve1', 'pve2']);
  await report(e, 'pve2', true, ['pve1', 'pve2']);
  let a = await answers(e);
  assert.equal(a.states.pve3, 'offline', 'the quorate partition sees it offline');
  assert.equal(a.nodes.pve3, 'offline');
  assert.deepEqual(await alerts(e), ['node_offline pve3 firing']);
  const r = await e.t.get('/api/alerts?rule=node_offline', e.read);
  const summary = (r.json.data as { summary: string }[])[0]?.summary;
  assert.equal(summary, 'Node pve3 of cluster prod is offline', 'not "cut off": nothing says it is alive');
  assert.deepEqual(await events(e), [], 'no event while it may still turn out cut off');
  // the survivors beat; 75 s (1.25 heartbeats) after the loss pve3 is taken for dead
  for (let i = 0; i < 2; i += 1) {
    c.tick(40_000);
    for (const n of ['pve1', 'pve2']) await beat(e, n);
  }
  a = await answers(e);
  assert.equal(a.states.pve3, 'offline');
  assert.equal(a.membership.split, false, 'its last words no longer count');
  assert.deepEqual(await events(e), ['went_offline pve3']);
  assert.deepEqual(await alerts(e), ['node_offline pve3 firing'], 'no quorum_lost: nobody live lost it');

  // a quick reboot of pve2: down for 30 s, back with the whole cluster
  for (const n of trio) await report(e, n, true, trio);
  c.tick(5_000);
  await report(e, 'pve1', true, ['pve1', 'pve3']);
  await report(e, 'pve3', true, ['pve1', 'pve3']);
  assert.equal((await answers(e)).states.pve2, 'offline');
  c.tick(30_000);
  for (const n of ['pve2', 'pve1', 'pve3']) await report(e, n, true, trio);
  assert.equal((await answers(e)).states.pve2, 'online');
  assert.deepEqual(await events(e), ['came_back pve3', 'went_offline pve3'], 'nothing for pve2');
  assert.deepEqual(await alerts(e), ['node_offline pve2 resolved', 'node_offline pve3 resolved']);
});
