// The general partition event (`pve-sim event partition --groups pve1,pve2,pve3/pve4,pve5`): every
// rendering (pvesh, .members, pvecm, the HTTPS API's routes, HA status) shows each node the view of
// its own corosync partition — a majority group quorate with its members online, a minority group
// not quorate — and `heal` joins them again.
import { after } from 'node:test';
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLayout, scenarioFromFlags, type Simulator } from './index.ts';
import { apiGet, type ApiResult } from './api.ts';
import { main } from './cli.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function layout(nodes: number): Simulator {
  const d = mkdtempSync(join(tmpdir(), 'pve-sim-partition-'));
  dirs.push(d);
  return createLayout({
    out: join(d, 'layout'),
    scenario: scenarioFromFlags({ nodes, guests: 10, seed: 7 }),
  });
}
type Entry = Record<string, unknown>;
async function status(sim: Simulator, node: string): Promise<Entry[]> {
  const r = await sim.run('pvesh', node, ['get', '/cluster/status', '--output-format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Entry[];
}
const online = (st: Entry[]): string[] =>
  st.filter((e) => e.type === 'node' && e.online === 1).map((e) => String(e.name));
function members(sim: Simulator, node: string): { quorate: number; online: string[]; version: number } {
  const m = JSON.parse(readFileSync(join(sim.paths(node).etcPve, '.members'), 'utf8')) as {
    version: number;
    cluster: { quorate: number; nodes: number };
    nodelist: Record<string, { online: number }>;
  };
  assert.equal(m.cluster.nodes, 5, 'the cluster keeps all its nodes in every partition');
  return {
    quorate: m.cluster.quorate,
    online: Object.entries(m.nodelist)
      .filter(([, v]) => v.online === 1)
      .map(([k]) => k),
    version: m.version,
  };
}
const code = (r: ApiResult) => (r.ok === true ? 200 : r.ok === false ? r.status : 'blocked');

test('a 3+2 split: the majority is quorate and sees its three, the minority sees its two without quorum', async () => {
  const sim = layout(5);
  const before = members(sim, 'pve1').version;
  sim.apply({
    type: 'partition',
    groups: [
      ['pve1', 'pve2', 'pve3'],
      ['pve4', 'pve5'],
    ],
  });
  for (const n of ['pve1', 'pve2', 'pve3']) {
    const st = await status(sim, n);
    assert.equal(st[0]!.quorate, 1, `${n} is in the majority`);
    assert.deepEqual(online(st), ['pve1', 'pve2', 'pve3']);
    assert.deepEqual(members(sim, n), { quorate: 1, online: ['pve1', 'pve2', 'pve3'], version: before + 1 });
  }
  for (const n of ['pve4', 'pve5']) {
    const st = await status(sim, n);
    assert.equal(st[0]!.quorate, 0, `${n} is in the minority`);
    assert.deepEqual(online(st), ['pve4', 'pve5']);
    assert.equal(st.find((e) => e.name === n)!.local, 1);
    assert.deepEqual(members(sim, n), { quorate: 0, online: ['pve4', 'pve5'], version: before + 1 });
  }
  // pvecm: the minority's votequorum has 2 of 5 votes (quorum 3) and blocks activity
  const minority = (await sim.run('pvecm', 'pve5', ['status'])).stdout;
  assert.match(minority, /\nNodes: {12}2\n/);
  assert.match(minority, /\nQuorate: {10}No\n/);
  assert.match(
    minority,
    /\nExpected votes: {3}5\nHighest expected: 5\nTotal votes: {6}2\nQuorum: {11}3 Activity blocked\n/,
  );
  assert.match(minority, /\nRing ID: {10}4\.[0-9a-f]+\n/, 'the ring is named after its lowest node id');
  assert.match(minority, /0x00000004 {10}1 \S+\n0x00000005 {10}1 \S+ \(local\)\n$/);
  const majority = await sim.run('pvecm', 'pve2', ['status']);
  assert.equal(majority.code, 0);
  assert.match(
    majority.stdout,
    /\nNodes: {12}3\n[\s\S]*\nQuorate: {10}Yes\n[\s\S]*\nTotal votes: {6}3\nQuorum: {11}3 {2}\nFlags: {12}Quorate \n/,
  );
  // resources: each side sees the other's nodes offline
  const res = await sim.run('pvesh', 'pve4', [
    'get',
    '/cluster/resources',
    '--type',
    'node',
    '--output-format',
    'json',
  ]);
  const nodes = JSON.parse(res.stdout) as Entry[];
  assert.deepEqual(nodes.map((e) => `${String(e.node)} ${String(e.status)}`).sort(), [
    'pve1 offline',
    'pve2 offline',
    'pve3 offline',
    'pve4 online',
    'pve5 online',
  ]);
  // /etc/pve is read-only in the minority only (pmxcfs refuses writes without quorum)
  assert.equal(statSync(join(sim.paths('pve4').etcPve, 'corosync.conf')).mode & 0o222, 0);
  assert.notEqual(statSync(join(sim.paths('pve1').etcPve, 'corosync.conf')).mode & 0o200, 0);
  // the API proxies within a partition only
  const s = sim.state();
  const now = s.clock.epoch;
  assert.equal(code(apiGet(s, 'pve4', '/nodes/pve5/status', {}, now)), 200);
  assert.equal(code(apiGet(s, 'pve4', '/nodes/pve1/status', {}, now)), 595);
  assert.equal(code(apiGet(s, 'pve1', '/nodes/pve3/status', {}, now)), 200);
  assert.equal(code(apiGet(s, 'pve1', '/nodes/pve5/status', {}, now)), 595);
  // writes that need quorum: refused in the minority, allowed in the majority
  assert.throws(
    () => sim.apply({ type: 'guest-create', node: 'pve4', kind: 'lxc' }),
    /cluster not ready - no quorum\? \(create on pve4\)/,
  );
  sim.apply({ type: 'guest-create', node: 'pve2', kind: 'lxc' });

  sim.apply({ type: 'heal' });
  for (const n of ['pve1', 'pve5']) {
    const st = await status(sim, n);
    assert.equal(st[0]!.quorate, 1);
    assert.deepEqual(online(st), ['pve1', 'pve2', 'pve3', 'pve4', 'pve5']);
  }
});

test('a 2+2 split of four nodes leaves no partition quorate; quorum-regained heals it too', async () => {
  const sim = layout(4);
  sim.apply({
    type: 'partition',
    groups: [
      ['pve1', 'pve3'],
      ['pve2', 'pve4'],
    ],
  });
  for (const [n, seen] of [
    ['pve1', ['pve1', 'pve3']],
    ['pve3', ['pve1', 'pve3']],
    ['pve2', ['pve2', 'pve4']],
    ['pve4', ['pve2', 'pve4']],
  ] as const) {
    const st = await status(sim, n);
    assert.equal(st[0]!.quorate, 0, `${n}: 2 of 4 votes is no majority`);
    assert.deepEqual(online(st), seen);
  }
  sim.apply({ type: 'quorum-regained' });
  assert.equal((await status(sim, 'pve2'))[0]!.quorate, 1);
  assert.equal(sim.state().clusters[0]!.groups, undefined);
});

test('within a partition a node can still be cut off alone; the HA master marks the far side unknown', async () => {
  const sim = layout(5);
  sim.apply({
    type: 'partition',
    groups: [
      ['pve1', 'pve2', 'pve3'],
      ['pve4', 'pve5'],
    ],
  });
  sim.apply({ type: 'node-offline', node: 'pve3' });
  const st = await status(sim, 'pve1');
  assert.equal(st[0]!.quorate, 0, 'two of five left in the former majority');
  assert.deepEqual(online(st), ['pve1', 'pve2']);
  assert.deepEqual(online(await status(sim, 'pve3')), ['pve3']);
  sim.apply({ type: 'node-online', node: 'pve3' });
  assert.deepEqual(online(await status(sim, 'pve3')), ['pve1', 'pve2', 'pve3'], 'back in its own group');

  sim.apply({ type: 'ha-state', vmid: sim.state().guests[0]!.vmid, state: 'started' });
  const ha = apiGet(sim.state(), 'pve2', '/cluster/ha/status/manager_status', {}, sim.state().clock.epoch);
  const ms = (
    ha as { data: { manager_status: { master_node: string; node_status: Record<string, string> } } }
  ).data.manager_status;
  assert.equal(ms.master_node, 'pve1');
  assert.deepEqual(ms.node_status, {
    pve1: 'online',
    pve2: 'online',
    pve3: 'online',
    pve4: 'unknown',
    pve5: 'unknown',
  });
});

test('a partition must name every node of one cluster once', () => {
  const sim = layout(5);
  const bad = (groups: string[][], why: RegExp) =>
    assert.throws(() => sim.apply({ type: 'partition', groups }), why);
  bad([['pve1', 'pve2', 'pve3'], ['pve4']], /pve5 is in no group/);
  bad(
    [
      ['pve1', 'pve2', 'pve3'],
      ['pve3', 'pve4', 'pve5'],
    ],
    /pve3 is in two groups/,
  );
  bad([['pve1', 'pve2', 'pve3', 'pve4', 'pve5']], /at least two non-empty groups/);
  bad(
    [
      ['pve1', 'pve2', 'pve3'],
      ['pve4', 'pve9'],
    ],
    /pve9/,
  );
  assert.equal(sim.state().clusters[0]!.groups, undefined, 'a refused event changes nothing');
});

test('pve-sim event partition --groups A,B/C and heal on the command line; info shows the groups', async () => {
  const sim = layout(5);
  const io = () => {
    const o = { out: '', err: '' };
    return { o, io: { stdout: (s: string) => (o.out += s), stderr: (s: string) => (o.err += s) } };
  };
  const a = io();
  const c = await main(
    ['event', '--state', sim.root, 'partition', '--groups', 'pve1,pve2,pve3/pve4,pve5'],
    a.io,
  );
  assert.equal(c, 0, a.o.err);
  assert.equal(a.o.out, 'applied partition\n');
  assert.equal((await status(sim, 'pve4'))[0]!.quorate, 0);
  const i = io();
  await main(['info', '--state', sim.root], i.io);
  assert.match(i.o.out, /cluster 'prod' \(partitions pve1,pve2,pve3 \/ pve4,pve5\)/);
  const missing = io();
  assert.equal(await main(['event', '--state', sim.root, 'partition'], missing.io), 2);
  assert.match(missing.o.err, /--groups/);
  const h = io();
  assert.equal(await main(['event', '--state', sim.root, 'heal'], h.io), 0, h.o.err);
  assert.equal((await status(sim, 'pve4'))[0]!.quorate, 1);
  const help = io();
  await main(['event', '--help'], help.io);
  assert.match(help.o.out, /--groups A,B\/C,D +partition: the corosync partitions/);
});
