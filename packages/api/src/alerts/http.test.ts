/**
 * The rules driven end to end: reports through the HTTP ingest endpoints, alerts through the API,
 * notifications to a real webhook receiver on loopback, and a server restart on the same SQLite file.
 */
import { after, before } from 'node:test';
import { test, waitFor } from '@nanny/testing';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestApp, type TestApp } from '../testing.ts';
import { startHttpReceiver, type HttpReceiver } from '../notify/testing.ts';
import type { Notification } from '../notify/types.ts';
import { alertServiceOf } from './module.ts';

const T0 = Date.parse('2026-11-25T12:00:00Z');
let clock = T0;
const now = () => new Date(clock);
const FP = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

let dir: string;
let hook: HttpReceiver;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nanny-alerts-'));
  hook = await startHttpReceiver();
});
after(async () => {
  await hook.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Env {
  t: TestApp;
  agents: Record<string, string>;
  pat: string;
  read: string;
}

async function open(
  file: string,
  agents?: Record<string, string>,
  pat?: string,
  read?: string,
): Promise<Env> {
  // the webhook receiver is on loopback, which channels reach only when allowed
  const t = await makeTestApp({ sqliteFile: file, allowedChannelNetworks: ['127.0.0.0/8'] }, { now });
  await t.app.ready();
  const a: Record<string, string> = agents ?? {};
  if (!agents)
    for (const n of ['pve1', 'pve2', 'pve3'])
      a[n] = (await t.register(n, { cluster_name: 'prod', cluster_fingerprint: FP })).access;
  return { t, agents: a, pat: pat ?? (await t.pat('write')), read: read ?? (await t.pat('read')) };
}

async function close(e: Env): Promise<void> {
  await e.t.app.nanny.committer.drain();
  await e.t.app.close();
}

/** Posts a report and waits until the alert engine has evaluated and committed it. */
async function report(
  e: Env,
  kind: 'cluster' | 'node' | 'lxc' | 'qemu',
  from: string,
  body: Record<string, unknown>,
) {
  const r = await e.t.post(`/api/proxmox/${kind}`, e.agents[from]!, { cluster_fingerprint: FP, ...body });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  await e.t.app.nanny.committer.drain();
  await alertServiceOf(e.t.app.nanny.modules)?.flush();
}

const cluster = (quorate: number, online = [1, 1, 1], nodes = 3, from = 'pve1') => ({
  cluster_name: 'prod',
  cluster_id: 'cluster',
  nodes,
  quorate,
  version: 7,
  reporting_node: from,
  members: online.map((o, i) => ({ name: `pve${i + 1}`, node_id: i + 1, online: o, local: i === 0 ? 1 : 0 })),
});
const node = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  online: 1,
  pve_version: 'pve-manager/8.4.1/2a5fa54a8503f96d',
  interval_seconds: 60,
  ...extra,
});

async function alerts(e: Env, q = '') {
  const r = await e.t.get(`/api/alerts${q}`, e.read);
  assert.equal(r.status, 200);
  return r.json.data as {
    id: string;
    rule: string;
    state: string;
    severity: string;
    summary: string;
    cluster_id: string;
    node: string | null;
    started_at: string;
    resolved_at: string | null;
    acknowledged_by: string | null;
  }[];
}

/**
 * Checks that nothing more is sent: runs delivery passes until one finds no job due (the positive
 * signal that the queue has settled), then nothing more may have arrived.
 */
async function quiet(e: Env) {
  const n = hook.received.length;
  const worker = alertServiceOf(e.t.app.nanny.modules)!.worker;
  await waitFor(async () => (await worker.runOnce()) === 0, {
    what: 'a delivery pass with nothing due',
    budget: 'short',
  });
  assert.equal(hook.received.length, n, 'no further notification');
}

const sent = (from: number) => hook.received.slice(from).map((r) => JSON.parse(r.body) as Notification);

test('quorum loss: one alert, one signed webhook; a restart repeats nothing; quorate again resolves with one call', async () => {
  const file = join(dir, 'quorum.sqlite');
  let e = await open(file);
  const ch = await e.t.post('/api/notification-channels', e.pat, {
    type: 'webhook',
    name: 'ops',
    url: `${hook.url}/nanny`,
    secret: 'hmac-key',
  });
  assert.equal(ch.status, 201, JSON.stringify(ch.json));
  const start = hook.received.length;

  await report(e, 'cluster', 'pve1', cluster(1));
  clock += 60_000;
  await report(e, 'cluster', 'pve1', cluster(0));
  const [got] = (await hook.waitFor(start + 1)).slice(start);
  assert.ok(got);
  const body = JSON.parse(got.body) as Notification;
  // about the report that was just sent (its time on the injected clock), not some later poll
  assert.equal(body.started_at, new Date(clock).toISOString());
  assert.equal(body.rule, 'quorum_lost');
  assert.equal(body.state, 'firing');
  assert.equal(body.severity, 'critical');
  assert.equal(body.cluster.name, 'prod');
  assert.equal(
    got.headers['x-nanny-signature'],
    `sha256=${createHmac('sha256', 'hmac-key').update(got.body).digest('hex')}`,
  );
  assert.ok(got.headers['idempotency-key']);

  let firing = await alerts(e, '?state=firing');
  assert.deepEqual(
    firing.map((a) => [a.rule, a.severity, a.state, a.resolved_at, a.acknowledged_by]),
    [['quorum_lost', 'critical', 'firing', null, null]],
  );
  assert.equal(firing[0]?.started_at, new Date(clock).toISOString());

  // still non-quorate, from the same and another reporter: nothing new
  await report(e, 'cluster', 'pve1', cluster(0));
  await quiet(e);

  // restart on the same file
  await close(e);
  e = await open(file, e.agents, e.pat, e.read);
  clock += 60_000;
  await report(e, 'cluster', 'pve1', cluster(0));
  await quiet(e);
  firing = await alerts(e, '?state=firing');
  assert.equal(firing.length, 1);

  clock += 60_000;
  await report(e, 'cluster', 'pve1', cluster(1));
  const done = (await hook.waitFor(start + 2)).slice(start);
  assert.equal(done.length, 2);
  const resolved = JSON.parse(done[1]!.body) as Notification;
  assert.equal(resolved.state, 'resolved');
  assert.equal(resolved.alert_id, body.alert_id);
  assert.equal(resolved.resolved_at, new Date(clock).toISOString());
  assert.deepEqual(await alerts(e, '?state=firing'), []);
  const res = await alerts(e, '?state=resolved');
  assert.equal(res.length, 1);
  assert.equal(res[0]?.resolved_at, new Date(clock).toISOString());
  await quiet(e);
  await close(e);
});

test('a restart between a resolve and its delivery still delivers it once', async () => {
  const file = join(dir, 'pending.sqlite');
  let e = await open(file);
  hook.respond = () => 503; // the receiver is down: the notifications stay queued
  await e.t.post('/api/notification-channels', e.pat, {
    type: 'webhook',
    name: 'w',
    url: `${hook.url}/pending`,
  });
  const start = hook.received.length;
  await report(e, 'cluster', 'pve1', cluster(0));
  await hook.waitFor(start + 1);
  await close(e);
  hook.respond = () => 200;
  clock += 10 * 60_000; // past the retry backoff
  e = await open(file, e.agents, e.pat, e.read);
  await report(e, 'cluster', 'pve1', cluster(1));
  const got = await hook.waitFor(start + 3);
  const ok = got.slice(start + 1).map((r) => (JSON.parse(r.body) as Notification).state);
  assert.deepEqual(ok.sort(), ['firing', 'resolved']);
  await quiet(e);
  await close(e);
});

test('node offline needs two reports; a silent agent fires on the timer; reboot, upgrade and count change are notices', async () => {
  const e = await open(join(dir, 'nodes.sqlite'));
  const svc = alertServiceOf(e.t.app.nanny.modules)!;
  await report(e, 'node', 'pve2', node('pve2', { uptime_seconds: 5000 }));
  await report(e, 'node', 'pve3', node('pve3'));
  await report(e, 'cluster', 'pve1', cluster(1, [1, 1, 1]));
  clock += 60_000;
  await report(e, 'cluster', 'pve1', cluster(1, [1, 0, 1]));
  assert.deepEqual(await alerts(e, '?state=firing'), []);
  clock += 60_000;
  await report(e, 'cluster', 'pve1', cluster(1, [1, 0, 1]));
  let firing = await alerts(e, '?state=firing');
  assert.deepEqual(
    firing.map((a) => [a.rule, a.node]),
    [['node_offline', 'pve2']],
  );

  // pve3's agent went quiet but the cluster still sees pve3 online: agent_silent, on the timer
  clock += 120_000;
  await report(e, 'node', 'pve2', node('pve2', { uptime_seconds: 30 }));
  await report(e, 'cluster', 'pve1', cluster(1, [1, 1, 1]));
  await svc.tick();
  await svc.flush();
  firing = await alerts(e, '?state=firing');
  assert.deepEqual(
    firing.map((a) => [a.rule, a.node]),
    [['agent_silent', 'pve3']],
  );

  await report(e, 'node', 'pve3', node('pve3', { pve_version: 'pve-manager/9.0.3/abcdef' }));
  await report(e, 'cluster', 'pve1', cluster(1, [1, 1, 1, 1], 4));
  const all = await alerts(e);
  const byRule = (r: string) => all.filter((a) => a.rule === r);
  assert.equal(byRule('node_offline')[0]?.state, 'resolved');
  assert.equal(byRule('agent_silent')[0]?.state, 'resolved');
  assert.equal(byRule('node_rebooted').length, 1);
  assert.equal(byRule('version_upgraded').length, 1);
  assert.match(byRule('version_upgraded')[0]!.summary, /upgraded from PVE 8\.4\.1 to 9\.0\.3/);
  assert.equal(byRule('node_count_changed').length, 1);
  assert.equal(byRule('node_count_changed')[0]?.severity, 'info');
  await close(e);
});

test('version mismatch waits for its grace period (set through the settings API)', async () => {
  const e = await open(join(dir, 'mismatch.sqlite'));
  const put = await e.t.app.inject({
    method: 'PUT',
    url: '/api/alerts/settings',
    headers: { authorization: `Bearer ${e.pat}` },
    payload: { rules: { version_mismatch: { graceSeconds: 600 }, agent_silent: { enabled: false } } },
  });
  assert.equal(put.statusCode, 200, put.body);
  await report(e, 'node', 'pve1', node('pve1'));
  await report(e, 'node', 'pve2', node('pve2', { pve_version: 'pve-manager/8.3.0/x' }));
  clock += 300_000;
  await report(e, 'node', 'pve1', node('pve1'));
  assert.deepEqual(await alerts(e, '?state=firing'), []);
  clock += 301_000;
  await report(e, 'node', 'pve1', node('pve1'));
  assert.deepEqual(
    (await alerts(e, '?state=firing')).map((a) => a.rule),
    ['version_mismatch'],
  );
  await report(e, 'node', 'pve2', node('pve2'));
  assert.deepEqual(await alerts(e, '?state=firing'), []);
  await close(e);
});

test('CPU flapping around the trigger raises nothing; sustained load fires once and clears below the clear value', async () => {
  const e = await open(join(dir, 'cpu.sqlite'));
  const start = hook.received.length;
  await e.t.post('/api/notification-channels', e.pat, {
    type: 'webhook',
    name: 'cpu',
    url: `${hook.url}/cpu`,
  });
  for (const v of [0.91, 0.89, 0.92, 0.88, 0.95, 0.87]) {
    await report(e, 'node', 'pve1', node('pve1', { cpu_usage_ratio: v, interval_seconds: 300 }));
    clock += 300_000;
  }
  assert.deepEqual(await alerts(e, '?state=firing'), []);
  for (const v of [0.95, 0.96, 0.85, 0.93, 0.86, 0.7]) {
    await report(e, 'node', 'pve1', node('pve1', { cpu_usage_ratio: v, interval_seconds: 300 }));
    clock += 300_000;
  }
  const cpu = (await alerts(e)).filter((a) => a.rule === 'cpu_high');
  assert.equal(cpu.length, 1);
  assert.equal(cpu[0]?.state, 'resolved');
  await hook.waitFor(start + 2);
  assert.deepEqual(
    sent(start).map((n) => `${n.rule} ${n.state}`),
    ['cpu_high firing', 'cpu_high resolved'],
  );
  await close(e);
});

test('memory, root fs, swap and load thresholds fire from node reports', async () => {
  const e = await open(join(dir, 'res.sqlite'));
  const heavy = {
    mem_total_bytes: 100,
    mem_used_bytes: 95,
    rootfs_total_bytes: 100,
    rootfs_used_bytes: 97,
    swap_total_bytes: 100,
    swap_used_bytes: 90,
    load_avg_5m: 40,
    cpu_threads: 8,
    interval_seconds: 300,
  };
  await report(e, 'node', 'pve1', node('pve1', heavy));
  clock += 600_000;
  await report(e, 'node', 'pve1', node('pve1', heavy));
  const rules = (await alerts(e, '?state=firing')).map((a) => a.rule).sort();
  assert.deepEqual(rules, ['load_high', 'memory_high', 'rootfs_high', 'swap_high']);
  await close(e);
});

test('a stopped guest fires unless it migrated; acknowledge records who; a silence keeps it quiet', async () => {
  const e = await open(join(dir, 'guests.sqlite'));
  const start = hook.received.length;
  await e.t.post('/api/notification-channels', e.pat, { type: 'webhook', name: 'g', url: `${hook.url}/g` });
  const ct = (status: string, nodeName = 'pve1', vmid = 100, extra: Record<string, unknown> = {}) => ({
    name: `ct${vmid}`,
    lxc_id: `lxc/${vmid}`,
    vmid,
    node: nodeName,
    status,
    ...extra,
  });
  await report(e, 'lxc', 'pve1', ct('running'));
  await report(e, 'lxc', 'pve1', ct('stopped'));
  // a migration: running on pve1, then reported by pve2 after the move
  await report(e, 'lxc', 'pve1', ct('running', 'pve1', 101));
  await report(e, 'lxc', 'pve2', ct('stopped', 'pve2', 101));
  let firing = await alerts(e, '?state=firing');
  assert.deepEqual(
    firing.map((a) => [a.rule, a.node]),
    [['guest_stopped', 'pve1']],
  );

  const read = await e.t.post(`/api/alerts/${firing[0]!.id}/acknowledge`, e.read, {});
  assert.equal(read.status, 403, 'acknowledging needs the write scope');
  const ack = await e.t.post(`/api/alerts/${firing[0]!.id}/acknowledge`, e.pat, {});
  assert.equal(ack.status, 200, JSON.stringify(ack.json));
  firing = await alerts(e, '?state=firing');
  assert.match(String(firing[0]?.acknowledged_by), /^token:/);

  const sil = await e.t.post('/api/alerts/silences', e.pat, {
    node: 'pve3',
    duration_seconds: 3600,
    comment: 'maintenance',
  });
  assert.equal(sil.status, 201, JSON.stringify(sil.json));
  await report(e, 'lxc', 'pve3', ct('running', 'pve3', 102));
  await report(e, 'lxc', 'pve3', ct('stopped', 'pve3', 102));
  await report(e, 'lxc', 'pve3', ct('running', 'pve3', 102));
  const g = (await alerts(e)).filter((a) => a.node === 'pve3');
  assert.equal(g.length, 1, 'recorded even while silenced');
  await hook.waitFor(start + 1);
  await quiet(e);
  assert.deepEqual(
    sent(start).map((n) => `${n.rule} ${n.node} ${n.state}`),
    ['guest_stopped pve1 firing'],
  );
  const list = await e.t.get('/api/alerts/silences', e.read);
  assert.equal((list.json.data as unknown[]).length, 1);
  await close(e);
});

test('channels: write scope to add, secrets hidden in the list, test-send, delete', async () => {
  const e = await open(join(dir, 'channels.sqlite'));
  const denied = await e.t.post('/api/notification-channels', e.read, {
    type: 'webhook',
    name: 'x',
    url: hook.url,
  });
  assert.equal(denied.status, 403);
  assert.equal(denied.json.error, 'forbidden');
  const bad = await e.t.post('/api/notification-channels', e.pat, {
    type: 'webhook',
    name: 'x',
    url: 'nope',
  });
  assert.equal(bad.status, 400);
  assert.match(String(bad.json.error_description), /url/);
  const created = await e.t.post('/api/notification-channels', e.pat, {
    type: 'webhook',
    name: 'hooky',
    url: `${hook.url}/t`,
    secret: 'topsecret',
  });
  assert.equal(created.status, 201);
  const dup = await e.t.post('/api/notification-channels', e.pat, {
    type: 'webhook',
    name: 'hooky',
    url: hook.url,
  });
  assert.equal(dup.status, 409);
  const id = (created.json.data as { id: string }).id;
  const list = await e.t.get('/api/notification-channels', e.read);
  assert.equal(JSON.stringify(list.json).includes('topsecret'), false);
  assert.equal((list.json.data as { secret: string }[])[0]?.secret, '***');
  const one = await e.t.get(`/api/notification-channels/${id}`, e.read);
  assert.equal((one.json.data as { name: string; secret: string }).secret, '***');
  const start = hook.received.length;
  const test1 = await e.t.post(`/api/notification-channels/${id}/test`, e.pat, {});
  assert.equal(test1.status, 200, JSON.stringify(test1.json));
  const [r] = (await hook.waitFor(start + 1)).slice(start);
  assert.equal((JSON.parse(r!.body) as Notification).state, 'test');
  const del = await e.t.app.inject({
    method: 'DELETE',
    url: `/api/notification-channels/${id}`,
    headers: { authorization: `Bearer ${e.pat}` },
  });
  assert.equal(del.statusCode, 200);
  assert.deepEqual((await e.t.get('/api/notification-channels', e.read)).json.data, []);
  await close(e);
});

test('after a long server outage the agents are not reported silent before they had a chance to report', async () => {
  const file = join(dir, 'outage.sqlite');
  let e = await open(file);
  await report(e, 'node', 'pve1', node('pve1'));
  await report(e, 'cluster', 'pve1', cluster(1));
  await close(e);
  clock += 3600_000; // the server was down for an hour
  e = await open(file, e.agents, e.pat, e.read);
  const svc = alertServiceOf(e.t.app.nanny.modules)!;
  await svc.tick();
  await svc.flush();
  assert.deepEqual(await alerts(e, '?state=firing'), []);
  clock += 200_000; // 2.5 × 60 s after the restart, still nothing from pve1's agent
  await svc.tick();
  await svc.flush();
  assert.deepEqual(
    (await alerts(e, '?state=firing')).map((a) => [a.rule, a.node]),
    [['agent_silent', 'pve1']],
  );
  await close(e);
});

test('alerts and channels of one organisation are invisible to another', async () => {
  const e = await open(join(dir, 'tenants.sqlite'));
  await report(e, 'cluster', 'pve1', cluster(0));
  const [a] = await alerts(e, '?state=firing');
  assert.ok(a);
  const other = await e.t.pat('write', 'other-org');
  assert.deepEqual((await e.t.get('/api/alerts', other)).json.data, []);
  assert.equal((await e.t.get(`/api/alerts/${a.id}`, other)).status, 404);
  assert.equal((await e.t.post(`/api/alerts/${a.id}/acknowledge`, other, {})).status, 404);
  await close(e);
});

test('a channel added while an alert fires gets no resolve for it, but hears of the next one', async () => {
  const e = await open(join(dir, 'late.sqlite'));
  await report(e, 'cluster', 'pve1', cluster(0));
  clock += 1000;
  const start = hook.received.length;
  await e.t.post('/api/notification-channels', e.pat, {
    type: 'webhook',
    name: 'late',
    url: `${hook.url}/late`,
  });
  clock += 1000;
  await report(e, 'cluster', 'pve1', cluster(1));
  await quiet(e);
  assert.equal(hook.received.length, start);
  clock += 1000;
  await report(e, 'cluster', 'pve1', cluster(0));
  await hook.waitFor(start + 1);
  assert.deepEqual(
    sent(start).map((n) => `${n.rule} ${n.state}`),
    ['quorum_lost firing'],
  );
  await close(e);
});
