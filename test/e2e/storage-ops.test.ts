/**
 * Issue 15 end to end: simulator events (storage filling, a storage gone, a newer kernel, an
 * expiring certificate, pending updates, Ceph in error or unreadable) → the real agents → nannyapi → alerts →
 * a webhook receiver on loopback; GET /api/storage and the node answer show the data.
 */
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import {
  requireBundles,
  layoutFlags,
  nodeNames,
  onCleanup,
  startAgents,
  startApi,
  waitFor,
  webhookReceiver,
  type ApiServer,
} from './harness.ts';

type Row = Record<string, unknown>;

const firing = (api: ApiServer, token: string, rule: string): Promise<Row[]> =>
  api.list<Row>(`/api/alerts?rule=${rule}&state=firing`, token);

test('operations data: storage, kernel, certificate, updates and Ceph events raise their alerts and webhooks', async (t) => {
  if (!requireBundles(t)) return;
  const api = await startApi(t);
  const read = api.cli(['token', 'create', '--name', 'read', '--scope', 'read']);
  const write = api.cli(['token', 'create', '--name', 'write', '--scope', 'write']);
  const hook = await webhookReceiver(t);
  await api.post('/api/notification-channels', write, { type: 'webhook', name: 'e2e', url: hook.url });
  // the fill trend of a test spans seconds: no sustain time, so the projection alerts at once
  await fetch(`${api.url}/api/alerts/settings`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${write}`, 'content-type': 'application/json' },
    body: JSON.stringify({ rules: { storage_full_soon: { sustainSeconds: 0 } } }),
  }).then(async (r) => assert.equal(r.status, 200, await r.text()));

  const sim = layoutFlags(t, { nodes: 2, guests: 2, seed: 15, clusterName: 'prod' });
  // the files source reads .rrd, which pvestatd rewrites every ~10 s: the ticker does it here
  onCleanup(t, sim.startTicker());
  const [pve1, pve2] = nodeNames(sim) as [string, string];
  startAgents(t, sim, api, [pve1, pve2]);
  await waitFor('both nodes and their storages', async () => {
    const s = await api.list<Row>('/api/storage', read);
    return s.length === 4;
  });
  const hooked = (rule: string) =>
    waitFor(`the ${rule} webhook`, () =>
      hook.received.some((r) => r.body.rule === rule && r.body.state === 'firing'),
    );

  sim.apply({ type: 'storage-fill', node: pve1, storage: 'local', used: 0.96 });
  const full = await waitFor('storage_full firing', async () => {
    const rows = await firing(api, read, 'storage_full');
    return rows.length === 1 ? rows : undefined;
  });
  assert.equal(full[0]!.severity, 'critical');
  await hooked('storage_full');
  const pools = await api.list<Row>(`/api/storage?node=${pve1}`, read);
  const local = pools.find((p) => p.storage === 'local')!;
  assert.ok(Number(local.fill_ratio) > 0.95, JSON.stringify(local));

  sim.apply({ type: 'storage-fill', node: pve2, storage: 'local', used: 0.5, perDay: 0.4 });
  // pve1's jump to 96 % above may already project "full in hours" (no sustain time here): wait for pve2's
  await waitFor('storage_full_soon firing on pve2', async () =>
    (await firing(api, read, 'storage_full_soon')).some((a) => a.node === pve2),
  );
  await hooked('storage_full_soon');
  const soon = (await api.list<Row>(`/api/storage?node=${pve2}`, read)).find((p) => p.storage === 'local')!;
  assert.ok(Number(soon.days_until_full) > 0 && Number(soon.days_until_full) < 7, JSON.stringify(soon));

  sim.apply({ type: 'storage-down', node: pve2, storage: 'local-lvm' });
  await waitFor(
    'storage_unavailable firing',
    async () => (await firing(api, read, 'storage_unavailable')).length === 1,
  );
  await hooked('storage_unavailable');

  sim.apply({ type: 'kernel-install', node: pve1, kernel: '6.17.9-1-pve' });
  await waitFor(
    'reboot_required firing',
    async () => (await firing(api, read, 'reboot_required')).length === 1,
  );
  const nodes = await api.list<Row>('/api/nodes', read);
  const h = nodes.find((n) => n.name === pve1)!.health as Row;
  assert.equal(h.reboot_required, true);
  assert.equal(h.kernel_installed, '6.17.9-1-pve');

  sim.apply({ type: 'cert-expire', node: pve2, days: 5 });
  const cert = await waitFor('certificate_expiring firing', async () => {
    const rows = await firing(api, read, 'certificate_expiring');
    return rows.length === 1 ? rows : undefined;
  });
  assert.equal(cert[0]!.severity, 'critical');

  sim.apply({ type: 'updates', node: pve1, count: 3, security: 1 });
  const upd = await waitFor('updates_available firing', async () => {
    const rows = await firing(api, read, 'updates_available');
    return rows.length === 1 ? rows : undefined;
  });
  // the security one is known from apt's lists on the node (the cache says `Origin: Debian`)
  assert.match(String(upd[0]!.summary), /3 package updates available, 1 from a security repository/);
  const uh = (await api.list<Row>('/api/nodes', read)).find((n) => n.name === pve1)!.health as Row;
  assert.equal(uh.updates_security_count, 1);

  sim.apply({
    type: 'ceph-health',
    status: 'HEALTH_ERR',
    checks: { PG_DAMAGED: { severity: 'HEALTH_ERR', message: 'Possible data damage: 1 pg inconsistent' } },
  });
  await waitFor(
    'ceph_health_err firing',
    async () => (await firing(api, read, 'ceph_health_err')).length === 1,
  );
  await hooked('ceph_health_err');
  // the monitors lose quorum: the status calls fail, which is not "no Ceph"
  sim.apply({ type: 'ceph-health', status: 'unreachable' });
  const unknown = await waitFor('ceph_health_unknown firing on both nodes', async () => {
    const rows = await firing(api, read, 'ceph_health_unknown');
    return rows.length === 2 ? rows : undefined;
  });
  assert.match(String(unknown[0]!.summary), /rados_connect failed - Connection timed out/);
  await hooked('ceph_health_unknown');
  sim.apply({ type: 'ceph-health', status: 'HEALTH_OK' });
  await waitFor('Ceph alerts resolved', async () => {
    const a = await firing(api, read, 'ceph_health_unknown');
    const b = await firing(api, read, 'ceph_health_err');
    return a.length === 0 && b.length === 0;
  });

  // the node boots its new kernel, the storage is back: those alerts resolve
  sim.apply({ type: 'node-reboot', node: pve1 });
  sim.apply({ type: 'storage-up', node: pve2, storage: 'local-lvm' });
  await waitFor('reboot_required and storage_unavailable resolved', async () => {
    const a = await firing(api, read, 'reboot_required');
    const b = await firing(api, read, 'storage_unavailable');
    return a.length === 0 && b.length === 0;
  });
});
