/**
 * Issue 13, M2: an agent reports for the node it is bound to. A freshly enrolled agent of the same
 * organisation cannot speak for another node: not its guests, not its cluster.
 */
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { makeTestApp } from '../testing.ts';

const FP = 'ab'.repeat(32);
const FP_OTHER = 'cd'.repeat(32);
const cluster = (over: Record<string, unknown> = {}) => ({
  cluster_name: 'prod',
  cluster_id: 'cluster',
  cluster_fingerprint: FP,
  nodes: 2,
  quorate: 1,
  reporting_node: 'pve1',
  members: [
    { name: 'pve1', node_id: 1, online: 1 },
    { name: 'pve2', node_id: 2, online: 1 },
  ],
  ...over,
});

async function setup(t: { after: (fn: () => Promise<unknown>) => void }) {
  const ta = await makeTestApp();
  t.after(() => ta.app.close());
  const pve1 = await ta.register('pve1');
  const base = { cluster_name: 'prod', cluster_fingerprint: FP };
  const ok = async (kind: string, token: string, body: Record<string, unknown>) => {
    const r = await ta.post(`/api/proxmox/${kind}`, token, body);
    assert.equal(r.status, 200, JSON.stringify(r.json));
  };
  await ok('node', pve1.access, { name: 'pve1', ...base });
  await ok('cluster', pve1.access, cluster());
  await ok('lxc', pve1.access, { vmid: 100, node: 'pve1', status: 'running', name: 'web', ...base });
  const read = await ta.pat('read');
  const write = await ta.pat('write');
  return { ta, pve1, base, ok, read, write };
}

test('a fresh agent cannot report another node, its guests, or its cluster', async (t) => {
  const { ta, pve1, base, ok, read } = await setup(t);
  const evil = await ta.register('evil');
  const refused = async (kind: string, body: Record<string, unknown>) => {
    const r = await ta.post(`/api/proxmox/${kind}`, evil.access, body);
    assert.equal(r.status, 403, `${kind}: ${JSON.stringify(r.json)}`);
    assert.equal(r.json.error, 'forbidden');
    assert.equal(r.json.success, false);
  };
  // Claiming pve1 (whose own agent reports) as its node: refused, it cannot bind to it.
  await refused('node', { name: 'pve1', ...base, uptime_seconds: 1 });
  await refused('lxc', { vmid: 100, node: 'pve1', status: 'stopped', name: 'web', ...base });
  await refused('cluster', cluster({ cluster_name: 'renamed', quorate: 0 }));
  // Bound to its own node, it still cannot speak for pve1's guests or pve1's view of the cluster.
  await ok('node', evil.access, { name: 'evil', cluster_fingerprint: FP_OTHER });
  await refused('lxc', { vmid: 100, node: 'pve1', status: 'stopped', name: 'web', ...base });
  await refused('node', { name: 'pve1', ...base });
  await refused('cluster', cluster({ quorate: 0, members: [{ name: 'pve1', node_id: 1, online: 0 }] }));
  // …nor report the cluster as its own node: it is bound to another cluster.
  await refused('cluster', cluster({ reporting_node: 'evil', cluster_name: 'renamed', quorate: 0 }));

  const clusters = (await ta.get('/api/clusters', read)).json.data as {
    cluster_name: string;
    quorate: number;
  }[];
  assert.deepEqual(
    clusters.filter((c) => c.cluster_name !== 'evil').map((c) => [c.cluster_name, c.quorate]),
    [['prod', 1]],
  );
  const guests = (await ta.get('/api/guests', read)).json.data as { vmid: number; status: string }[];
  assert.deepEqual(
    guests.map((g) => [g.vmid, g.status]),
    [[100, 'running']],
  );
  const nodes = (await ta.get('/api/nodes', read)).json.data as { name: string; online: number | boolean }[];
  assert.ok(nodes.some((n) => n.name === 'pve1' && (n.online === 1 || n.online === true)));
  // pve1's own agent keeps reporting.
  await ok('node', pve1.access, { name: 'pve1', ...base });
});

test('a cluster report without reporting_node is the bound node’s; another node’s is refused', async (t) => {
  const { ta, pve1 } = await setup(t);
  const r = await ta.post('/api/proxmox/cluster', pve1.access, cluster({ reporting_node: 'pve2' }));
  assert.equal(r.status, 403);
  const plain = await ta.post('/api/proxmox/cluster', pve1.access, cluster({ reporting_node: undefined }));
  assert.equal(plain.status, 200);
});

test('rebind (API) lets a reinstalled node report again under a new identity', async (t) => {
  const { ta, pve1, ok, write, read } = await setup(t);
  // The node was reinstalled as a standalone host: another fingerprint, so another site.
  const moved = { name: 'pve1', cluster_fingerprint: FP_OTHER };
  assert.equal((await ta.post('/api/proxmox/node', pve1.access, moved)).status, 403);
  assert.equal((await ta.post(`/api/agents/${pve1.agentId}/rebind`, read, {})).status, 403);
  const other = await ta.pat('write', 'org-other');
  assert.equal((await ta.post(`/api/agents/${pve1.agentId}/rebind`, other, {})).status, 404);
  const r = await ta.post(`/api/agents/${pve1.agentId}/rebind`, write, {});
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { success: true });
  await ok('node', pve1.access, moved);
  const agents = (await ta.get('/api/agents', read)).json.data as { id: string; bound_node: string }[];
  assert.equal(agents.find((a) => a.id === pve1.agentId)?.bound_node, 'pve1');
});

test('a revoked agent frees its node for the next one', async (t) => {
  const { ta, pve1, base, ok, write } = await setup(t);
  assert.equal((await ta.post(`/api/agents/${pve1.agentId}/revoke`, write, {})).status, 200);
  const next = await ta.register('pve1');
  await ok('node', next.access, { name: 'pve1', ...base });
});

test('a fresh agent may join a cluster others report for only as a member they list', async (t) => {
  const { ta, base, ok, read } = await setup(t);
  const evil = await ta.register('evil');
  const refused = async (kind: string, body: Record<string, unknown>, why: RegExp) => {
    const r = await ta.post(`/api/proxmox/${kind}`, evil.access, body);
    assert.equal(r.status, 403, `${kind}: ${JSON.stringify(r.json)}`);
    assert.equal(r.json.error, 'forbidden');
    assert.match(String(r.json.error_description), why);
  };
  // A name pve1's reports never listed: no new node, no guests, no view of the cluster under it.
  await refused('node', { name: 'pve9', ...base }, /pve9 is not a member of this cluster/);
  await refused('lxc', { vmid: 900, node: 'pve9', status: 'running', ...base }, /not a member/);
  await refused('cluster', cluster({ reporting_node: 'pve9', quorate: 0 }), /not a member/);
  // Naming no node at all: before this rule the fresh agent's "view" set pve1 and pve2 offline.
  await refused(
    'cluster',
    cluster({
      reporting_node: undefined,
      quorate: 0,
      members: [
        { name: 'pve1', node_id: 1, online: 0, local: 1 },
        { name: 'pve2', node_id: 2, online: 0 },
      ],
    }),
    /has not reported its node yet/,
  );
  const nodes = (await ta.get('/api/nodes', read)).json.data as { name: string; online: number | boolean }[];
  assert.deepEqual(nodes.map((n) => n.name).sort(), ['pve1', 'pve2']);
  assert.ok(nodes.every((n) => n.online === 1 || n.online === true));
  // pve2 is a member pve1 lists and nobody reports yet: its agent binds (the residual risk that
  // docs/security.md names: whoever holds an enrollment token can be that agent first).
  await ok('node', evil.access, { name: 'pve2', ...base });
  // A cluster nobody reports for yet takes any first node.
  const fresh = await ta.register('solo');
  await ok('node', fresh.access, { name: 'solo', cluster_fingerprint: FP_OTHER });
});
