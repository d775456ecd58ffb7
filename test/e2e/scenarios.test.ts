/**
 * The spec's three deployment scenarios, end to end: real nannyapi, real nannyagent processes, the
 * simulator, real HTTP on loopback.
 */
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { requireBundles, layout, layoutFlags, nodeNames, startAgents, startApi, waitFor } from './harness.ts';

type Row = Record<string, unknown>;

function guestsOf(sim: ReturnType<typeof layoutFlags>, nodes?: string[]) {
  return sim.state().guests.filter((g) => nodes === undefined || nodes.includes(g.node));
}

test('scenario 1: a standalone node sends node, LXC and QEMU data and creates no cluster', async (t) => {
  if (!requireBundles(t)) return;
  const api = await startApi(t);
  const read = api.cli(['token', 'create', '--name', 'e2e', '--scope', 'read']);
  const sim = layoutFlags(t, { nodes: 1, standalone: true, guests: 6, seed: 21 });
  const [node] = nodeNames(sim);
  assert.ok(node);
  startAgents(t, sim, api, [node]);
  const expected = guestsOf(sim);
  assert.ok(expected.some((g) => g.kind === 'lxc') && expected.some((g) => g.kind === 'qemu'), 'mixed fleet');

  const guests = await waitFor('all guests stored', async () => {
    const rows = await api.list<Row>('/api/guests?limit=1000', read);
    return rows.length === expected.length ? rows : undefined;
  });
  const nodes = await api.list<Row>('/api/nodes', read);
  assert.equal(nodes.length, 1);
  assert.equal(nodes[0]!.name, node);
  assert.equal(nodes[0]!.online, 1);
  assert.deepEqual(await api.list('/api/clusters', read), [], 'a standalone node creates no cluster');
  const sites = await api.list<Row>('/api/clusters?include_standalone=true', read);
  assert.equal(sites.length, 1);
  assert.equal(sites[0]!.standalone, true, 'it is its own single-node site');
  assert.equal(sites[0]!.quorate, null, 'with no cluster info');
  for (const g of expected) {
    const row = guests.find((r) => r.vmid === g.vmid);
    assert.ok(row, `guest ${g.vmid} stored`);
    assert.equal(row.type, g.kind);
    assert.equal(row.node, node);
  }
});

test('scenario 2: three agents of one cluster give one cluster with three nodes, each guest once on its node', async (t) => {
  if (!requireBundles(t)) return;
  const api = await startApi(t);
  const read = api.cli(['token', 'create', '--name', 'e2e', '--scope', 'read']);
  const sim = layoutFlags(t, { nodes: 3, guests: 9, seed: 5, clusterName: 'production' });
  const names = nodeNames(sim);
  startAgents(t, sim, api, names);
  const expected = guestsOf(sim);

  const guests = await waitFor('every guest stored', async () => {
    const rows = await api.list<Row>('/api/guests?limit=1000', read);
    return rows.length === expected.length ? rows : undefined;
  });
  const clusters = await waitFor('the cluster', async () => {
    const rows = await api.list<Row>('/api/clusters', read);
    return rows.length > 0 ? rows : undefined;
  });
  assert.equal(clusters.length, 1, 'three agents sending the cluster give one cluster');
  assert.equal(clusters[0]!.cluster_name, 'production');
  assert.equal(clusters[0]!.quorate, 1);
  assert.equal(clusters[0]!.nodes, 3);
  const nodes = await waitFor('three nodes', async () => {
    const rows = await api.list<Row>('/api/nodes', read);
    return rows.length === 3 ? rows : undefined;
  });
  for (const n of nodes) assert.equal(n.cluster_id, clusters[0]!.id);
  assert.deepEqual(nodes.map((n) => n.name).sort(), [...names].sort());
  const vmids = guests.map((g) => g.vmid);
  assert.equal(new Set(vmids).size, vmids.length, 'each guest once');
  for (const g of expected)
    assert.equal(guests.find((r) => r.vmid === g.vmid)?.node, g.node, `guest ${g.vmid} on ${g.node}`);
});

test('scenario 3: two clusters with the same name and id "cluster" stay two, each with its own nodes and guests', async (t) => {
  if (!requireBundles(t)) return;
  const api = await startApi(t);
  const read = api.cli(['token', 'create', '--name', 'e2e', '--scope', 'read']);
  const sim = layout(t, {
    seed: 13,
    clusters: [
      { name: 'prod', nodes: [{ name: 'pve-a-01' }, { name: 'pve-a-02' }], guests: 3 },
      { name: 'prod', nodes: [{ name: 'pve-b-01' }, { name: 'pve-b-02' }], guests: 3 },
    ],
  });
  const names = nodeNames(sim);
  assert.equal(names.length, 4);
  startAgents(t, sim, api, names);

  const clusters = await waitFor('two clusters', async () => {
    const rows = await api.list<Row>('/api/clusters', read);
    const nodes = await api.list<Row>('/api/nodes', read);
    return rows.length === 2 && nodes.length === 4 ? rows : undefined;
  });
  assert.deepEqual(
    clusters.map((c) => c.cluster_name),
    ['prod', 'prod'],
  );
  const nodes = await api.list<Row>('/api/nodes', read);
  const byCluster = new Map<unknown, string[]>();
  for (const n of nodes)
    byCluster.set(n.cluster_id, [...(byCluster.get(n.cluster_id) ?? []), String(n.name)]);
  assert.deepEqual([...byCluster.values()].map((v) => v.sort().join(',')).sort(), [
    'pve-a-01,pve-a-02',
    'pve-b-01,pve-b-02',
  ]);
  const expected = sim.state().guests.length;
  const guests = await waitFor('every guest of both clusters', async () => {
    const rows = await api.list<Row>('/api/guests?limit=1000', read);
    return rows.length === expected ? rows : undefined;
  });
  for (const c of clusters) {
    const own = guests.filter((g) => g.cluster_id === c.id);
    assert.ok(own.length > 0, `cluster ${String(c.id)} has its own guests`);
  }
});
