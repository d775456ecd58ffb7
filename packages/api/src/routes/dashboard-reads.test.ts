/** The read API's additions for the dashboard: guest usage columns and the node's full last report. */
import assert from 'node:assert/strict';
import { test } from '@nanny/testing';
import { SPEC, makeTestApp } from '../testing.ts';

test('GET /api/guests?usage=1 adds each guest’s usage from its last report; without it nothing changes', async (t) => {
  const app = await makeTestApp();
  t.after(() => app.app.close());
  const { access } = await app.register('pve-node-01');
  const read = await app.pat('read');
  const lxc = {
    ...SPEC.lxc,
    cpu_usage_ratio: 0.25,
    mem_used_bytes: 512 * 1048576,
    disk_used_bytes: 3 * 1024 ** 3,
  };
  assert.equal((await app.post('/api/proxmox/lxc', access, lxc)).status, 200);
  assert.equal(
    (await app.post('/api/proxmox/qemu', access, { ...SPEC.qemu, cpu_usage_ratio: undefined })).status,
    200,
  );
  await app.app.nanny.committer.drain();
  const plain = (await app.get('/api/guests', read)).json.data as Record<string, unknown>[];
  assert.equal(plain.length, 2);
  assert.ok(plain.every((g) => !('cpu_usage_ratio' in g)));
  const withUsage = (await app.get('/api/guests?usage=1', read)).json.data as Record<string, unknown>[];
  const ct = withUsage.find((g) => g['type'] === 'lxc');
  assert.equal(ct?.['cpu_usage_ratio'], 0.25);
  assert.equal(ct?.['mem_used_bytes'], 512 * 1048576);
  assert.equal(ct?.['disk_used_bytes'], 3 * 1024 ** 3);
});

test('GET /api/nodes/:id carries the node’s last report: CPU model, sockets, swap, I/O wait, load 5/15', async (t) => {
  const app = await makeTestApp();
  t.after(() => app.app.close());
  const { access } = await app.register('pve-node-01');
  const read = await app.pat('read');
  const extra = {
    cpu_model: 'AMD EPYC 7313P 16-Core Processor',
    cpu_sockets: 1,
    cpu_cores: 16,
    swap_total_bytes: 8 * 1024 ** 3,
    swap_used_bytes: 1024 ** 3,
    io_wait_ratio: 0.03,
    load_avg_5m: 1.5,
    load_avg_15m: 1.25,
  };
  assert.equal((await app.post('/api/proxmox/node', access, { ...SPEC.node, ...extra })).status, 200);
  await app.app.nanny.committer.drain();
  const nodes = (await app.get('/api/nodes', read)).json.data as { id: string }[];
  const detail = (await app.get(`/api/nodes/${nodes[0]!.id}`, read)).json.data as {
    report: Record<string, unknown>;
  };
  for (const [k, v] of Object.entries(extra)) assert.equal(detail.report[k], v, k);
});

test('GET /api/overview answers what the six overview reads answer, in one request', async (t) => {
  const app = await makeTestApp();
  t.after(() => app.app.close());
  const { access } = await app.register('pve-node-01');
  const read = await app.pat('read');
  for (const kind of ['cluster', 'node', 'lxc', 'qemu'] as const)
    assert.equal((await app.post(`/api/proxmox/${kind}`, access, SPEC[kind])).status, 200);
  await app.app.nanny.committer.drain();
  const r = await app.get('/api/overview?events=3', read);
  assert.equal(r.status, 200);
  const d = r.json.data as { clusters: unknown[]; nodes: unknown[]; guests: unknown; events: unknown[] };
  const get = async (path: string) => (await app.get(path, read)).json;
  assert.deepEqual(d.clusters, (await get('/api/clusters?include_standalone=true')).data);
  assert.deepEqual(d.nodes, (await get('/api/nodes')).data);
  assert.deepEqual(d.events, (await get('/api/events?limit=3')).data);
  assert.equal(d.events.length, 3);
  const all = await get('/api/guests?limit=1');
  const running = await get('/api/guests?limit=1&status=running');
  assert.deepEqual(d.guests, { total: all['total'], running: running['total'] });
  assert.equal(all['total'], 2);
  assert.equal((await app.app.inject({ method: 'GET', url: '/api/overview' })).statusCode, 401);
});
