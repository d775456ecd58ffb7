/**
 * Issue 13, M7: per-organisation quotas on clusters, nodes and guests. A report that would store
 * one more than the quota is a 403 `quota_exceeded` in the envelope and writes nothing; what is
 * stored already keeps updating; other organisations are not affected.
 */
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { makeTestApp, SPEC } from '../testing.ts';
import { loadConfig } from '../config.ts';

const node = (name: string) => ({ ...SPEC.node, name });
const lxc = (vmid: number, extra: Record<string, unknown> = {}) => ({
  ...SPEC.lxc,
  vmid,
  lxc_id: `lxc/${vmid}`,
  ...extra,
});

test('quotas default to 1,000 clusters, 5,000 nodes, 100,000 guests and are settings', () => {
  const { config, errors } = loadConfig({ NANNYAPI_DATA_DIR: '/nonexistent-nannyapi-test' });
  assert.deepEqual(errors, []);
  assert.deepEqual(config.quotas, { clusters: 1000, nodes: 5000, guests: 100000 });
  const set = loadConfig({
    NANNYAPI_DATA_DIR: '/nonexistent-nannyapi-test',
    NANNYAPI_QUOTA_CLUSTERS: '0',
    NANNYAPI_QUOTA_NODES: '7',
    NANNYAPI_QUOTA_GUESTS: '9',
  });
  assert.deepEqual(set.config.quotas, { clusters: 0, nodes: 7, guests: 9 });
  const bad = loadConfig({ NANNYAPI_DATA_DIR: '/x', NANNYAPI_QUOTA_GUESTS: '-1' });
  assert.match(bad.errors.join('\n'), /NANNYAPI_QUOTA_GUESTS/);
});

test('guest quota: a new guest over it is refused, known guests keep updating', async (t) => {
  const ta = await makeTestApp({ quotas: { clusters: 10, nodes: 10, guests: 2 } });
  t.after(() => ta.app.close());
  const { access } = await ta.register('pve-node-01');
  const read = await ta.pat('read');
  assert.equal((await ta.post('/api/proxmox/node', access, SPEC.node)).status, 200);
  assert.equal((await ta.post('/api/proxmox/lxc', access, lxc(100))).status, 200);
  assert.equal((await ta.post('/api/proxmox/lxc', access, lxc(101))).status, 200);

  const over = await ta.post('/api/proxmox/qemu', access, { ...SPEC.qemu, vmid: 102 });
  assert.equal(over.status, 403);
  assert.equal(over.json.success, false);
  assert.equal(over.json.error, 'quota_exceeded');
  // what the agent logs when it drops the report: which quota, which setting, what happened
  assert.match(
    String(over.json.error_description),
    /holds 2 guests, its quota is 2 \(NANNYAPI_QUOTA_GUESTS\)/,
  );
  assert.match(String(over.json.error_description), /new qemu 102 on node pve-node-01 is not stored/);

  // an existing guest's change is stored
  assert.equal((await ta.post('/api/proxmox/lxc', access, lxc(100, { status: 'stopped' }))).status, 200);
  const guests = (await ta.get('/api/guests', read)).json.data as { vmid: number; status: string }[];
  assert.deepEqual(guests.map((g) => [g.vmid, g.status]).sort(), [
    [100, 'stopped'],
    [101, 'running'],
  ]);
  // another organisation has its own count
  const other = await ta.register('pve-node-01', {}, 'other-org');
  assert.equal((await ta.post('/api/proxmox/lxc', other.access, lxc(102))).status, 200);
});

test('node quota: a new node over it is refused; a cluster report leaves out new members over it', async (t) => {
  const ta = await makeTestApp({ quotas: { clusters: 10, nodes: 2, guests: 100 } });
  t.after(() => ta.app.close());
  const read = await ta.pat('read');
  const fp = { cluster_name: 'prod', cluster_fingerprint: 'ab'.repeat(32) };
  const a = await ta.register('pve-node-01', fp);
  assert.equal((await ta.post('/api/proxmox/node', a.access, { ...node('pve-node-01'), ...fp })).status, 200);
  const members = ['pve-node-01', 'pve-node-02', 'pve-node-03'].map((name, i) => ({
    name,
    node_id: i + 1,
    online: 1,
  }));
  const cluster = { ...SPEC.cluster, ...fp, reporting_node: 'pve-node-01', members };
  assert.equal((await ta.post('/api/proxmox/cluster', a.access, cluster)).status, 200);
  const names = async () =>
    ((await ta.get('/api/nodes', read)).json.data as { name: string }[]).map((n) => n.name).sort();
  assert.deepEqual(await names(), ['pve-node-01', 'pve-node-02']);

  // pve-node-02 is stored already: its agent reports; pve-node-03's agent is refused
  const b = await ta.register('pve-node-02', fp);
  assert.equal((await ta.post('/api/proxmox/node', b.access, { ...node('pve-node-02'), ...fp })).status, 200);
  const c = await ta.register('pve-node-03', fp);
  const r = await ta.post('/api/proxmox/node', c.access, { ...node('pve-node-03'), ...fp });
  assert.equal(r.status, 403);
  assert.equal(r.json.error, 'quota_exceeded');
  assert.match(String(r.json.error_description), /NANNYAPI_QUOTA_NODES/);
  // a guest report would add its node: refused as well, and no guest is stored
  const g = await ta.post('/api/proxmox/lxc', c.access, { ...lxc(300), node: 'pve-node-03', ...fp });
  assert.equal(g.status, 403);
  assert.equal((await ta.get('/api/guests', read)).json.data instanceof Array, true);
  assert.equal(((await ta.get('/api/guests', read)).json.data as unknown[]).length, 0);
  assert.deepEqual(await names(), ['pve-node-01', 'pve-node-02']);
  // the known nodes keep updating
  const up = await ta.post('/api/proxmox/node', a.access, {
    ...node('pve-node-01'),
    ...fp,
    uptime_seconds: 42,
  });
  assert.equal(up.status, 200);
});

test('cluster quota: a new cluster over it is refused, the known one keeps updating', async (t) => {
  const ta = await makeTestApp({ quotas: { clusters: 1, nodes: 10, guests: 10 } });
  t.after(() => ta.app.close());
  const a = await ta.register('pve-a', { cluster_name: 'one' });
  assert.equal((await ta.post('/api/proxmox/node', a.access, node('pve-a'))).status, 200);
  const b = await ta.register('pve-b', { cluster_name: 'two' });
  const refused = await ta.post('/api/proxmox/node', b.access, node('pve-b'));
  assert.equal(refused.status, 403);
  assert.equal(refused.json.error, 'quota_exceeded');
  assert.match(
    String(refused.json.error_description),
    /holds 1 clusters, its quota is 1 \(NANNYAPI_QUOTA_CLUSTERS\)/,
  );
  const cr = await ta.post('/api/proxmox/cluster', b.access, { ...SPEC.cluster, cluster_name: 'two' });
  assert.equal(cr.status, 403);
  assert.equal(cr.json.error, 'quota_exceeded');
  assert.equal(
    (await ta.post('/api/proxmox/cluster', a.access, { ...SPEC.cluster, cluster_name: 'one' })).status,
    200,
  );
  const read = await ta.pat('read');
  const clusters = (await ta.get('/api/clusters?include_standalone=true', read)).json.data as {
    cluster_name: string;
  }[];
  assert.deepEqual(
    clusters.map((c) => c.cluster_name),
    ['one'],
  );
});

test('quota 0 means no limit', async (t) => {
  const ta = await makeTestApp({ quotas: { clusters: 0, nodes: 0, guests: 0 } });
  t.after(() => ta.app.close());
  const { access } = await ta.register('pve-node-01');
  assert.equal((await ta.post('/api/proxmox/node', access, SPEC.node)).status, 200);
  for (let vmid = 100; vmid < 105; vmid++)
    assert.equal((await ta.post('/api/proxmox/lxc', access, lxc(vmid))).status, 200);
});
