/**
 * Issue 15 on the API side, through HTTP: storage reports (POST /api/proxmox/storage) → GET
 * /api/storage (a shared storage once per cluster) and the storage rules; node health fields on the
 * node report → GET /api/nodes and the health rules; notifications to a loopback webhook.
 */
import { test, onCleanup } from '@nanny/testing';
import assert from 'node:assert/strict';
import { makeTestApp, type TestApp } from '../testing.ts';
import { startHttpReceiver } from '../notify/testing.ts';
import type { Notification } from '../notify/types.ts';
import { alertServiceOf } from './module.ts';

const T0 = Date.parse('2026-11-25T12:00:00Z');
const FP = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const GB = 1024 ** 3;

async function setup(t: Parameters<typeof onCleanup>[0]) {
  let clock = T0;
  const t0 = await makeTestApp({ allowedChannelNetworks: ['127.0.0.0/8'] }, { now: () => new Date(clock) });
  onCleanup(t, () => t0.app.close());
  const hook = await startHttpReceiver();
  onCleanup(t, () => hook.close());
  await t0.app.ready();
  const agents: Record<string, string> = {};
  const refresh: Record<string, string> = {};
  for (const n of ['pve1', 'pve2']) {
    const r = await t0.register(n, { cluster_name: 'prod', cluster_fingerprint: FP });
    agents[n] = r.access;
    refresh[n] = r.refresh;
  }
  const pat = await t0.pat('write');
  const ch = await t0.post('/api/notification-channels', pat, {
    type: 'webhook',
    name: 'w',
    url: `${hook.url}/h`,
  });
  assert.equal(ch.status, 201, JSON.stringify(ch.json));
  const post = async (app: TestApp, kind: string, from: string, body: Record<string, unknown>) => {
    const send = () =>
      app.post(`/api/proxmox/${kind}`, agents[from]!, {
        cluster_fingerprint: FP,
        cluster_name: 'prod',
        collected_at: new Date(clock).toISOString(),
        ...body,
      });
    let r = await send();
    if (r.status === 401) {
      // days pass on the injected clock: the access token expires, as the agent's would
      const x = await app.app.inject({
        method: 'POST',
        url: '/api/agent/refresh',
        payload: { refresh_token: refresh[from] },
      });
      const j = x.json<{ access_token: string; refresh_token: string }>();
      agents[from] = j.access_token;
      refresh[from] = j.refresh_token;
      r = await send();
    }
    assert.equal(r.status, 200, JSON.stringify(r.json));
    await app.app.nanny.committer.drain();
    await alertServiceOf(app.app.nanny.modules)?.flush();
  };
  const firing = async () => {
    const r = await t0.get('/api/alerts?state=firing', pat);
    return (r.json.data as { rule: string; severity: string; node: string | null; summary: string }[])
      .map((a) => `${a.rule}:${a.severity}:${a.node ?? ''}`)
      .sort();
  };
  return {
    app: t0,
    pat,
    hook,
    post: (kind: string, from: string, body: Record<string, unknown>) => post(t0, kind, from, body),
    firing,
    advance: (ms: number) => (clock += ms),
  };
}

const pool = (storage: string, usedGB: number, extra: Record<string, unknown> = {}) => ({
  storage,
  type: 'dir',
  shared: 0,
  enabled: 1,
  active: 1,
  content: 'iso,backup',
  total_bytes: 100 * GB,
  used_bytes: Math.round(usedGB * GB),
  avail_bytes: Math.round((100 - usedGB) * GB),
  ...extra,
});

test('storage: a shared storage is listed once per cluster; fill ratio, warning then critical, hysteresis, unavailable', async (t) => {
  const e = await setup(t);
  const nfs = (used: number) => pool('nas', used, { type: 'nfs', shared: 1 });
  await e.post('storage', 'pve1', { node: 'pve1', storages: [pool('local', 50), nfs(40)] });
  await e.post('storage', 'pve2', { node: 'pve2', storages: [pool('local', 20), nfs(40)] });
  const list = await e.app.get('/api/storage', e.pat);
  assert.equal(list.status, 200);
  const rows = list.json.data as {
    node: string | null;
    storage: string;
    shared: boolean;
    fill_ratio: number;
  }[];
  assert.deepEqual(
    rows.map((r) => [r.node, r.storage, r.shared, r.fill_ratio]),
    [
      [null, 'nas', true, 0.4],
      ['pve1', 'local', false, 0.5],
      ['pve2', 'local', false, 0.2],
    ],
  );
  const pve2 = await e.app.get('/api/storage?node=pve2', e.pat);
  assert.deepEqual(
    (pve2.json.data as { storage: string }[]).map((r) => r.storage),
    ['nas', 'local'],
  );
  assert.deepEqual(await e.firing(), []);

  e.advance(60_000);
  await e.post('storage', 'pve1', { node: 'pve1', storages: [pool('local', 91), nfs(40)] });
  assert.deepEqual(await e.firing(), ['storage_full:warning:pve1']);
  e.advance(60_000);
  await e.post('storage', 'pve1', { node: 'pve1', storages: [pool('local', 96), nfs(40)] });
  assert.deepEqual(await e.firing(), ['storage_full:critical:pve1']);
  // between clear (85 %) and trigger: still firing
  e.advance(60_000);
  await e.post('storage', 'pve1', { node: 'pve1', storages: [pool('local', 88), nfs(40)] });
  assert.deepEqual(await e.firing(), ['storage_full:critical:pve1']);
  e.advance(60_000);
  await e.post('storage', 'pve1', { node: 'pve1', storages: [pool('local', 80), nfs(40)] });
  assert.deepEqual(await e.firing(), []);

  // the NFS server unreachable from pve2 only: enabled but not active there
  e.advance(60_000);
  await e.post('storage', 'pve2', {
    node: 'pve2',
    storages: [pool('local', 20), { storage: 'nas', type: 'nfs', shared: 1, enabled: 1, active: 0 }],
  });
  assert.deepEqual(await e.firing(), ['storage_unavailable:warning:pve2']);
  // a disabled storage is not unavailable
  e.advance(60_000);
  await e.post('storage', 'pve2', {
    node: 'pve2',
    storages: [pool('local', 20), { storage: 'nas', type: 'nfs', shared: 1, enabled: 0, active: 0 }],
  });
  assert.deepEqual(await e.firing(), []);
  const notes = e.hook.received.map((r) => JSON.parse(r.body) as Notification);
  assert.ok(
    notes.some((n) => n.rule === 'storage_full' && n.severity === 'critical' && n.state === 'firing'),
  );
});

test('storage_full_soon: a steady growth projects days until full; it fires after the sustain time and resolves when growth stops', async (t) => {
  const e = await setup(t);
  // 100 GB, growing 1 GB every 10 minutes from 50 GB: 144 GB/day → well under 7 days
  let used = 50;
  for (let i = 0; i < 12; i++) {
    await e.post('storage', 'pve1', { node: 'pve1', storages: [pool('local', used)] });
    used += 1;
    e.advance(600_000);
  }
  const rows = (await e.app.get('/api/storage', e.pat)).json.data as { days_until_full: number | null }[];
  const d = rows[0]!.days_until_full;
  assert.ok(d !== null && d > 0.2 && d < 0.5, `days_until_full ${d}`);
  // the projection held for over an hour (sustain 3600 s)
  assert.deepEqual(await e.firing(), ['storage_full_soon:warning:pve1']);
  // flat for the rest of a day: the trend no longer grows
  for (let i = 0; i < 30; i++) {
    e.advance(3600_000);
    await e.post('storage', 'pve1', { node: 'pve1', storages: [pool('local', used)] });
  }
  assert.deepEqual(await e.firing(), []);
});

test('node health: reboot required, certificates, updates and Ceph raise their alerts and show in the node answer', async (t) => {
  const e = await setup(t);
  const at = (days: number) => new Date(T0 + days * 86_400_000).toISOString();
  const node = (extra: Record<string, unknown>) => ({
    name: 'pve1',
    pve_version: 'pve-manager/9.1.1/42db4a6cf33dac83',
    ...extra,
  });
  await e.post(
    'node',
    'pve1',
    node({
      kernel_running: '6.17.2-1-pve',
      kernel_installed: '6.17.2-2-pve',
      reboot_required: true,
      certificates: [
        { file: 'pve-ssl.pem', not_after: at(400) },
        { file: 'pveproxy-ssl.pem', not_after: at(20) },
      ],
      updates_count: 12,
      updates_security_count: 2,
      ceph_health: 'HEALTH_WARN',
      ceph_checks: [{ code: 'OSD_DOWN', severity: 'HEALTH_WARN', message: '1 osds down' }],
    }),
  );
  assert.deepEqual(await e.firing(), [
    'ceph_health_warn:warning:',
    'certificate_expiring:warning:pve1',
    'reboot_required:info:pve1',
    'updates_available:info:pve1',
  ]);
  const nodes = (await e.app.get('/api/nodes', e.pat)).json.data as {
    name: string;
    health?: Record<string, unknown>;
  }[];
  const h = nodes.find((n) => n.name === 'pve1')!.health!;
  assert.equal(h['reboot_required'], true);
  assert.equal(h['updates_count'], 12);
  assert.equal(h['ceph_health'], 'HEALTH_WARN');

  // a heartbeat says nothing about health: nothing changes
  e.advance(60_000);
  await e.post('node', 'pve1', { name: 'pve1', trigger: 'heartbeat', uptime_seconds: 100 });
  assert.equal((await e.firing()).length, 4);

  // certificate 5 days before its end: critical; Ceph in error replaces the warning
  e.advance(15 * 86_400_000);
  await e.post(
    'node',
    'pve1',
    node({
      kernel_running: '6.17.2-1-pve',
      kernel_installed: '6.17.2-2-pve',
      reboot_required: true,
      certificates: [
        { file: 'pve-ssl.pem', not_after: at(400) },
        { file: 'pveproxy-ssl.pem', not_after: at(20) },
      ],
      updates_count: 12,
      ceph_health: 'HEALTH_ERR',
    }),
  );
  assert.deepEqual(await e.firing(), [
    'ceph_health_err:critical:',
    'certificate_expiring:critical:pve1',
    'reboot_required:info:pve1',
    'updates_available:info:pve1',
  ]);

  // rebooted into the new kernel, renewed, upgraded, healthy
  e.advance(60_000);
  await e.post(
    'node',
    'pve1',
    node({
      kernel_running: '6.17.2-2-pve',
      kernel_installed: '6.17.2-2-pve',
      reboot_required: false,
      certificates: [{ file: 'pve-ssl.pem', not_after: at(800) }],
      updates_count: 0,
      ceph_health: 'HEALTH_OK',
    }),
  );
  assert.deepEqual(await e.firing(), []);
});

test('a node without Ceph sends no ceph_health and raises nothing about Ceph', async (t) => {
  const e = await setup(t);
  await e.post('node', 'pve1', { name: 'pve1', updates_count: 0, reboot_required: false });
  assert.deepEqual(await e.firing(), []);
});

test('an installed Ceph whose status cannot be read raises ceph_health_unknown on that node, not silence', async (t) => {
  const e = await setup(t);
  const node = (name: string, extra: Record<string, unknown>) => ({
    name,
    pve_version: 'pve-manager/9.1.1/42db4a6cf33dac83',
    updates_count: 0,
    ...extra,
  });
  await e.post('node', 'pve1', node('pve1', { ceph_health: 'HEALTH_WARN' }));
  await e.post(
    'node',
    'pve2',
    node('pve2', { ceph_health: 'HEALTH_UNKNOWN', ceph_error: 'got timeout (500)' }),
  );
  // pve2's unreadable state leaves the cluster's warning as pve1 reported it
  assert.deepEqual(await e.firing(), ['ceph_health_unknown:warning:pve2', 'ceph_health_warn:warning:']);
  const nodes = (await e.app.get('/api/nodes', e.pat)).json.data as {
    name: string;
    health?: Record<string, unknown>;
  }[];
  assert.equal(nodes.find((n) => n.name === 'pve2')!.health!['ceph_error'], 'got timeout (500)');
  // a heartbeat (no health fields) changes nothing; a known health resolves
  e.advance(60_000);
  await e.post('node', 'pve2', { name: 'pve2', trigger: 'heartbeat', uptime_seconds: 100 });
  assert.equal((await e.firing()).length, 2);
  await e.post('node', 'pve2', node('pve2', { ceph_health: 'HEALTH_OK' }));
  assert.deepEqual(await e.firing(), []);
  // unreadable again, then Ceph removed from the node: a full report without it resolves
  e.advance(60_000);
  await e.post('node', 'pve2', node('pve2', { ceph_health: 'HEALTH_UNKNOWN', ceph_error: 'x' }));
  assert.deepEqual(await e.firing(), ['ceph_health_unknown:warning:pve2']);
  e.advance(60_000);
  await e.post('node', 'pve2', node('pve2', {}));
  assert.deepEqual(await e.firing(), []);
});
