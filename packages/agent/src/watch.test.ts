// The three rhythms of the daemon against the simulator and a fake nannyapi on loopback: the watch
// between cycles (a change → cluster + node reports at once), the /proc heartbeat, and no process
// in steady state (long-lived pmxcfs reader, pveversion only after a dpkg change). The cycle
// interval is the default 300 s wherever the test is about what happens between cycles.
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { ClusterStatusEntry } from '@nanny/proxmox';
import { DEFAULT_TOKEN, startServers } from '@nanny/pve-sim';
import { createAgent, type Agent } from './agent.ts';
import { main } from './cli.ts';
import { loadConfig } from './config.ts';
import { memoryLogger } from './log.ts';
import { startFakeApi, type FakeApi, type Received } from './testing/fake-api.ts';
import { dryRun, makeSim, simMissing, type SimFixture } from './testing/sim.ts';
import { createPmxcfsReader } from './host.ts';
import { describeChange, filesProbe, membershipKey } from './watch.ts';

const missing = simMissing();

async function waitFor(what: string, cond: () => boolean, timeoutMs = 15000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Running {
  api: FakeApi;
  f: SimFixture;
  agent: Agent;
  log: ReturnType<typeof memoryLogger>;
  spawns: Array<{ at: number; command: string; args: readonly string[] }>;
  byTrigger(trigger: string): Received[];
}

async function startAgent(
  t: { after: (fn: () => unknown) => void },
  sim: Parameters<typeof makeSim>[1],
  node: string,
  settings: Record<string, string>,
  opts: { tickMs?: number; env?: (f: SimFixture) => Promise<Record<string, string>> } = {},
): Promise<Running> {
  // after-hooks run in registration order: this one stops the agent (and the clock) before the
  // simulator's folder is removed
  const cleanup: Array<() => unknown> = [];
  t.after(async () => {
    for (const c of cleanup.reverse()) await c();
  });
  const api = await startFakeApi();
  t.after(() => api.close());
  const f = makeSim(t, sim, process.env.PATH);
  const env = {
    ...f.env(node),
    NANNYAPI_URL: api.url,
    NANNYAGENT_SOURCE: 'files',
    NANNYAGENT_RETRY_BASE: '0.01',
    NANNYAGENT_RETRY_MAX: '0.05',
    ...settings,
    ...(opts.env ? await opts.env(f) : {}),
  };
  let err = '';
  const reg = await main(['register', '--enroll-token', api.enrollToken], {
    stdout: () => undefined,
    stderr: (s) => (err += s),
    env,
  });
  assert.equal(reg, 0, err);
  const log = memoryLogger();
  const spawns: Running['spawns'] = [];
  const agent = createAgent({
    config: loadConfig({ env }),
    log,
    env,
    onSpawn: (command, args) => spawns.push({ at: Date.now(), command, args }),
  });
  const running = agent.run();
  cleanup.push(async () => {
    agent.stop();
    await running;
  });
  if (opts.tickMs !== undefined) cleanup.push(f.sim.startTicker(opts.tickMs));
  return {
    api,
    f,
    agent,
    log,
    spawns,
    byTrigger: (trigger) => api.received.filter((r) => r.body.trigger === trigger),
  };
}

test('membership key and change description: only quorate, the member set and online flags count', () => {
  const base = [
    { type: 'cluster' as const, id: 'cluster', name: 'prod', nodes: 2, quorate: 1, version: 3 },
    { type: 'node' as const, id: 'node/a', name: 'a', nodeid: 1, online: 1, ip: '10.0.0.1', level: '' },
    { type: 'node' as const, id: 'node/b', name: 'b', nodeid: 2, online: 1, level: 'c' },
  ];
  const same = base.map((e) => (e.type === 'node' ? { ...e, ip: '10.9.9.9', level: 'p' } : e));
  assert.equal(membershipKey(same), membershipKey([...base].reverse()));
  assert.equal(membershipKey(same), membershipKey(base), 'ip and level do not count');
  const lost = base.map((e) =>
    e.type === 'cluster' ? { ...e, quorate: 0 } : e.name === 'b' ? { ...e, online: 0 } : e,
  );
  assert.notEqual(membershipKey(lost), membershipKey(base));
  assert.equal(describeChange(base, lost), 'quorate 1 → 0; b online 1 → 0');
  assert.notEqual(membershipKey(base.slice(0, 2)), membershipKey(base), 'a member left');
  assert.equal(describeChange(base, base.slice(0, 2)), 'b left');
});

test('files probe: an unchanged .members gives back the current view itself (no parse), a changed one a new view', async (t) => {
  if (missing) return t.skip(missing);
  const f = makeSim(t, { nodes: 3, guests: 1, seed: 7, clock: 'frozen' }, process.env.PATH);
  const reader = createPmxcfsReader();
  t.after(() => reader.close());
  let view: ClusterStatusEntry[] | undefined;
  const probe = filesProbe({
    reader,
    pveRoot: f.sim.paths('pve1').etcPve,
    timeoutMs: 10_000,
    previous: () => view,
  });
  view = await probe.check();
  const again = await probe.check();
  assert.equal(again, view, 'same bytes, same view: the very same object');
  // a cycle replaced the view (with levels the files carry): the next check builds its own again
  view = view.map((e) => ({ ...e }));
  const rebuilt = await probe.check();
  assert.notEqual(rebuilt, view);
  assert.equal(membershipKey(rebuilt), membershipKey(view));
  view = rebuilt;
  f.sim.apply({ type: 'quorum-lost' });
  const lost = await probe.check();
  assert.notEqual(lost, view);
  assert.equal(lost.find((e) => e.type === 'cluster')?.quorate, 0);
});

test("files probe in the daemon's way: the check waits in the helper until .members changes, then answers at once", async (t) => {
  if (missing) return t.skip(missing);
  const f = makeSim(t, { nodes: 3, guests: 1, seed: 9, clock: 'frozen' }, process.env.PATH);
  const reader = createPmxcfsReader();
  t.after(() => reader.close());
  const known: { view?: ClusterStatusEntry[] } = {};
  const probe = filesProbe({
    reader,
    pveRoot: f.sim.paths('pve1').etcPve,
    timeoutMs: 10_000,
    previous: () => known.view,
    wait: { everyMs: 20, maxWaitMs: 30_000 },
  });
  known.view = await probe.check();
  assert.equal(known.view.find((e) => e.type === 'cluster')?.quorate, 1);
  let answeredAt = 0;
  const next = probe.check().then((v) => ((answeredAt = Date.now()), v));
  await sleep(400);
  assert.equal(answeredAt, 0, 'nothing changed: the daemon is not answered');
  const changedAt = Date.now();
  f.sim.apply({ type: 'quorum-lost' });
  const lost = await next;
  assert.equal(lost.find((e) => e.type === 'cluster')?.quorate, 0);
  assert.ok(answeredAt - changedAt < 5000, `answered ${answeredAt - changedAt} ms after the change`);
  assert.equal(reader.started, 1);
});

test('cycle reports carry trigger "cycle"', async (t) => {
  if (missing) return t.skip(missing);
  const f = makeSim(t, { nodes: 3, guests: 4, seed: 3, clock: 'frozen' }, process.env.PATH);
  const r = await dryRun({ ...f.env('pve1'), NANNYAGENT_SOURCE: 'files' });
  assert.equal(r.code, 0, r.log);
  assert.ok(r.items.length >= 2);
  for (const i of r.items) assert.equal(i.body.trigger, 'cycle', i.endpoint);
});

test('quorum lost between cycles: a "change" cluster and node report within a few watch intervals, without a process', async (t) => {
  if (missing) return t.skip(missing);
  const r = await startAgent(t, { nodes: 3, guests: 3, seed: 5, clock: 'frozen' }, 'pve1', {
    PROXMOX_INTERVAL: '300',
    NANNYAGENT_WATCH_INTERVAL: '0.2',
    NANNYAGENT_HEARTBEAT_INTERVAL: '0',
  });
  // the storage report follows the cluster report; the guests follow it
  await waitFor('first cycle delivered', () => r.byTrigger('cycle').some((x) => x.kind === 'storage'));
  await sleep(300); // the guests of the cycle
  const cycles = r.byTrigger('cycle').length;
  const cycleEnd = Date.now();
  await sleep(600); // a few checks with nothing to report
  assert.equal(r.byTrigger('change').length, 0, 'no change, no report');

  const t0 = Date.now();
  r.f.sim.apply({ type: 'quorum-lost' });
  await waitFor('change reports', () => r.byTrigger('change').length >= 2, 5000);
  const latency = Date.now() - t0;
  assert.ok(latency < 2000, `change reported after ${latency} ms with a 200 ms watch`);
  const change = r.byTrigger('change');
  assert.deepEqual(
    change.map((x) => x.kind),
    ['node', 'cluster'],
  );
  const cluster = change.find((x) => x.kind === 'cluster')!.body;
  assert.equal(cluster.quorate, 0);
  assert.equal(cluster.reporting_node, 'pve1');
  const members = cluster.members as Array<{ name: string; online: number }>;
  assert.deepEqual(
    members.map((m) => `${m.name}:${m.online}`),
    ['pve1:1', 'pve2:0', 'pve3:0'],
  );
  const node = change.find((x) => x.kind === 'node')!.body;
  assert.equal(node.name, 'pve1');
  assert.equal(node.cluster_name, 'prod');
  assert.match(String(node.cluster_fingerprint), /^[0-9a-f]{64}$/);
  assert.match(String(node.pve_version), /^pve-manager\//);
  assert.equal(r.byTrigger('cycle').length, cycles, 'no cycle ran meanwhile (interval 300 s)');
  assert.deepEqual(
    r.spawns.filter((s) => s.at > cycleEnd),
    [],
    'no process started between cycles',
  );
  assert.ok(r.log.lines.some((l) => /membership changed \(quorate 1 → 0; pve2 online 1 → 0/.test(l)));

  // One report per change: the view is now the new one.
  await sleep(600);
  assert.equal(r.byTrigger('change').length, 2);
  r.f.sim.apply({ type: 'quorum-regained' });
  await waitFor('regained reported', () => r.byTrigger('change').length >= 4, 5000);
  assert.equal(r.byTrigger('change').at(-1)!.body.quorate, 1);
});

test('no change: no out-of-cycle reports but heartbeats at their interval, from /proc, with no process', async (t) => {
  if (missing) return t.skip(missing);
  const r = await startAgent(
    t,
    { nodes: 2, guests: 2, seed: 6, clock: 'live' },
    'pve2',
    {
      PROXMOX_INTERVAL: '300',
      NANNYAGENT_WATCH_INTERVAL: '0.1',
      NANNYAGENT_HEARTBEAT_INTERVAL: '0.3',
    },
    { tickMs: 100 },
  ); // /proc moves: the heartbeat's cpu comes from /proc/stat deltas
  await waitFor('first cycle delivered', () => r.byTrigger('cycle').length >= 1);
  const spawnsAfterCycle = r.spawns.length;
  const t0 = Date.now();
  await waitFor('four heartbeats', () => r.byTrigger('heartbeat').length >= 4, 10000).catch((e) => {
    throw new Error(`${(e as Error).message}\n${r.log.lines.join('\n')}`);
  });
  const elapsed = Date.now() - t0;
  assert.ok(elapsed >= 800, `four heartbeats 300 ms apart took ${elapsed} ms`);
  assert.equal(r.byTrigger('change').length, 0);
  assert.equal(r.spawns.length, spawnsAfterCycle, 'heartbeats and checks start no process');
  const hb = r.byTrigger('heartbeat');
  for (const h of hb) {
    assert.equal(h.kind, 'node');
    assert.equal(h.body.name, 'pve2');
    assert.equal(h.body.cluster_name, 'prod');
    assert.match(String(h.body.cluster_fingerprint), /^[0-9a-f]{64}$/);
    assert.equal(typeof h.body.mem_total_bytes, 'number');
    assert.equal(typeof h.body.uptime_seconds, 'number');
    assert.equal(typeof h.body.load_avg_1m, 'number');
    // the simulator's /proc/net/dev: eno1 only (its vmbr0 and tap carry the same bytes again)
    assert.equal(typeof h.body.net_in_bytes, 'number');
    // announced, so nannyapi waits 2.5 heartbeats (not 2.5 cycles) before calling the agent silent
    assert.equal(h.body.heartbeat_interval_seconds, 1, '0.3 s rounded, at least 1');
  }
  const cycleNode = r.byTrigger('cycle').find((x) => x.kind === 'node')!;
  assert.equal(cycleNode.body.heartbeat_interval_seconds, 1, 'the cycle report announces it too');
  // cpu needs two /proc/stat samples: from the second heartbeat on
  assert.equal(typeof hb.at(-1)!.body.cpu_usage_ratio, 'number');
  const stamps = hb.map((h) => Date.parse(String(h.body.collected_at)));
  for (let i = 1; i < stamps.length; i++)
    assert.ok(stamps[i]! - stamps[i - 1]! >= 250, 'spaced by the interval');
});

test('a hung pmxcfs during the watch: the reader is replaced, the daemon keeps running, the next check works', async (t) => {
  if (missing) return t.skip(missing);
  const r = await startAgent(t, { nodes: 3, guests: 2, seed: 7, clock: 'frozen' }, 'pve1', {
    PROXMOX_INTERVAL: '300',
    NANNYAGENT_WATCH_INTERVAL: '0.1',
    NANNYAGENT_HEARTBEAT_INTERVAL: '0.5',
    // long enough for a first cycle on a loaded machine, short enough for the test
    NANNYAGENT_PMXCFS_TIMEOUT: '3',
  });
  await waitFor('first cycle delivered', () => r.byTrigger('cycle').some((x) => x.kind === 'cluster'), 30000);
  const readers = () => r.spawns.filter((s) => s.args.includes('<pmxcfs-reader>')).length;
  assert.equal(readers(), 1);
  r.f.sim.apply({ type: 'pmxcfs-hang', node: 'pve1' });
  await waitFor(
    'a failed check',
    () => r.log.lines.some((l) => l.includes('watch: membership check failed')),
    20000,
  );
  const hbBefore = r.byTrigger('heartbeat').length;
  await waitFor('a heartbeat while pmxcfs hangs', () => r.byTrigger('heartbeat').length > hbBefore, 10000);
  r.f.sim.apply({ type: 'quorum-lost' });
  r.f.sim.apply({ type: 'pmxcfs-release', node: 'pve1' });
  await waitFor('the change after the release', () => r.byTrigger('change').length >= 2, 30000).catch((e) => {
    throw new Error(`${(e as Error).message}\n${r.log.lines.join('\n')}`);
  });
  assert.equal(r.byTrigger('change').find((x) => x.kind === 'cluster')!.body.quorate, 0);
  assert.ok(readers() >= 2, 'the stuck reader was replaced');
  assert.ok(r.log.lines.some((l) => l.includes('watch: membership check works again')));
  // steady again: one reader, no more processes
  const n = r.spawns.length;
  await sleep(500);
  assert.equal(r.spawns.length, n);
});

test('pveversion runs once, then again only after the dpkg status file changed', async (t) => {
  if (missing) return t.skip(missing);
  const r = await startAgent(t, { nodes: 1, standalone: true, guests: 1, seed: 8, clock: 'frozen' }, 'pve', {
    PROXMOX_INTERVAL: '0.15',
    NANNYAGENT_WATCH_INTERVAL: '0',
    NANNYAGENT_HEARTBEAT_INTERVAL: '0',
  });
  const pveversion = () => r.spawns.filter((s) => s.command === 'pveversion').length;
  const nodeReports = () => r.byTrigger('cycle').filter((x) => x.kind === 'node');
  await waitFor('five cycles', () => nodeReports().length >= 5);
  assert.equal(pveversion(), 1);
  assert.equal(
    r.spawns.filter((s) => s.args.includes('<pmxcfs-reader>')).length,
    1,
    'one pmxcfs reader for all cycles',
  );
  const before = String(nodeReports().at(-1)!.body.pve_version);
  r.f.sim.apply({ type: 'version-upgrade', node: 'pve', version: '9.2.4' });
  await waitFor('the new version reported', () =>
    String(nodeReports().at(-1)!.body.pve_version).startsWith('pve-manager/9.2.4/'),
  );
  assert.notEqual(before, String(nodeReports().at(-1)!.body.pve_version));
  assert.equal(pveversion(), 2);
  const n = nodeReports().length;
  await waitFor('three more cycles', () => nodeReports().length >= n + 3);
  assert.equal(pveversion(), 2);
});

test('api source: a node going offline → change reports with the node status from the API; no heartbeat, no process', async (t) => {
  if (missing) return t.skip(missing);
  const r = await startAgent(
    t,
    { nodes: 3, guests: 2, seed: 9, clock: 'frozen' },
    'pve1',
    {
      PROXMOX_INTERVAL: '300',
      NANNYAGENT_WATCH_INTERVAL: '0.2',
      NANNYAGENT_HEARTBEAT_INTERVAL: '0.2', // no /proc of the polled node: no heartbeat
      NANNYAGENT_SOURCE: 'api',
      NANNYAGENT_NODE: 'pve1',
    },
    {
      env: async (f) => {
        const servers = await startServers(f.sim, { nodes: ['pve1'] });
        t.after(() => servers.close()); // after the agent stopped (hooks run in registration order)
        const served = servers.list[0]!;
        return {
          NANNYAGENT_PVE_API_URL: served.url,
          NANNYAGENT_PVE_API_TOKEN: `${DEFAULT_TOKEN.tokenId}=${DEFAULT_TOKEN.secret}`,
          NANNYAGENT_PVE_API_FINGERPRINT: served.fingerprint,
          NANNYAGENT_PVE_API_CA_FILE: join(f.sim.paths('pve1').etcPve, 'pve-root-ca.pem'),
        };
      },
    },
  );
  await waitFor('first cycle delivered', () => r.byTrigger('cycle').some((x) => x.kind === 'cluster'));
  r.f.sim.apply({ type: 'node-offline', node: 'pve3' });
  await waitFor('change reports', () => r.byTrigger('change').length >= 2, 8000);
  const cluster = r.byTrigger('change').find((x) => x.kind === 'cluster')!.body;
  const members = cluster.members as Array<{ name: string; online: number }>;
  assert.equal(members.find((m) => m.name === 'pve3')!.online, 0);
  const node = r.byTrigger('change').find((x) => x.kind === 'node')!.body;
  assert.equal(node.name, 'pve1');
  assert.equal(typeof node.mem_total_bytes, 'number', 'node status read from the API');
  assert.equal(r.byTrigger('heartbeat').length, 0);
  assert.equal(node.heartbeat_interval_seconds, undefined, 'no heartbeat, none announced');
  assert.equal(node.net_in_bytes, undefined, "this machine's /proc/net/dev is not the polled node's");
  assert.deepEqual(r.spawns, [], 'the api source starts no process');
});
