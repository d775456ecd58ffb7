/**
 * Detection at the DEFAULT intervals (issue 12, docs/detection.md): PROXMOX_INTERVAL 300, watch 5 s,
 * heartbeat 60 s, the server's defaults. Real nannyapi, real agents (the bundles), the simulator and
 * a webhook receiver on loopback. A cycle is 300 s away, so whatever arrives here within the waits
 * came from the agents' watch (`trigger: "change"`). Latencies are measured by the benchmark
 * (test/bench/latency.ts); these prove the alerts arrive at all, once, and nothing else does.
 */
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import {
  layoutFlags,
  nodeNames,
  requireBundles,
  startAgents,
  startApi,
  waitFor,
  webhookReceiver,
  type ApiServer,
  type Received,
} from './harness.ts';

type Row = Record<string, unknown>;
interface Membership {
  split: boolean;
  partitions: { nodes: string[]; quorate: boolean }[];
  nodes: { name: string; state: string }[];
  views: { reporter: string; quorate: boolean; fresh: boolean }[];
}

interface Env {
  api: ApiServer;
  read: string;
  hook: { received: Received[] };
}

async function env(t: Parameters<typeof startApi>[0]): Promise<Env> {
  const api = await startApi(t);
  const read = api.cli(['token', 'create', '--name', 'read', '--scope', 'read']);
  const write = api.cli(['token', 'create', '--name', 'write', '--scope', 'write']);
  const hook = await webhookReceiver(t);
  await api.post('/api/notification-channels', write, { type: 'webhook', name: 'e2e', url: hook.url });
  return { api, read, hook };
}

const calls = (e: Env, rule: string) => e.hook.received.filter((r) => r.body.rule === rule);
const eventsOf = async (e: Env, type: string) =>
  e.api.list<Row>(`/api/events?type=${type}&limit=1000`, e.read);

async function membership(e: Env): Promise<{ id: string; m: Membership }> {
  const [c] = await e.api.list<Row>('/api/clusters', e.read);
  if (!c) throw new Error('no cluster yet');
  const id = String(c.id);
  return { id, m: (await e.api.get<{ data: Membership }>(`/api/clusters/${id}/membership`, e.read)).data };
}

/** Every node online in the derived membership, from a fresh view of each of them. */
async function allOnline(e: Env, names: string[]): Promise<boolean> {
  const { m } = await membership(e).catch(() => ({ m: undefined }));
  return (
    m !== undefined &&
    m.nodes.length === names.length &&
    m.nodes.every((n) => n.state === 'online') &&
    names.every((n) => m.views.some((v) => v.reporter === n && v.fresh && v.quorate))
  );
}

test("the demo's quorum loss at default intervals: one quorum_lost webhook, no node_offline, no went-offline/came-back", async (t) => {
  if (!requireBundles(t)) return;
  const e = await env(t);
  const sim = layoutFlags(t, { nodes: 3, guests: 6, seed: 41, clusterName: 'production' });
  const names = nodeNames(sim);
  startAgents(t, sim, e.api, names, { intervalSeconds: 300 });
  await waitFor('three agents reporting one quorate cluster', () => allOnline(e, names));

  sim.apply({ type: 'quorum-lost' });
  await waitFor('the quorum_lost webhook', () =>
    calls(e, 'quorum_lost').some((r) => r.body.state === 'firing'),
  );
  // Positive signal that every agent has spoken: each one's own isolated, non-quorate view is in.
  const split = await waitFor('every agent to report its isolated view', async () => {
    const { id, m } = await membership(e);
    const ok =
      m.partitions.length === 3 &&
      m.nodes.every((n) => n.state === 'partitioned') &&
      names.every((n) => m.views.some((v) => v.reporter === n && !v.quorate));
    return ok ? id : undefined;
  });
  const cluster = (await e.api.get<{ data: Row }>(`/api/clusters/${split}`, e.read)).data;
  assert.equal(cluster.quorate, 0, 'the cluster answer says what the alert says');
  assert.equal(cluster.split, true);
  assert.equal((await e.api.list<Row>('/api/alerts?rule=quorum_lost', e.read)).length, 1);

  sim.apply({ type: 'quorum-regained' });
  await waitFor('the resolve webhook', () =>
    calls(e, 'quorum_lost').some((r) => r.body.state === 'resolved'),
  );
  await waitFor('every node back and rejoined', async () => {
    return (await allOnline(e, names)) && (await eventsOf(e, 'rejoined')).length === 3;
  });

  assert.deepEqual(
    calls(e, 'quorum_lost').map((r) => r.body.state),
    ['firing', 'resolved'],
    'one call on fire and one on resolve, although three agents each reported the loss',
  );
  assert.deepEqual(calls(e, 'node_offline'), [], 'no node went down');
  assert.deepEqual(await e.api.list('/api/alerts?rule=node_offline', e.read), []);
  assert.deepEqual(await eventsOf(e, 'went_offline'), []);
  assert.deepEqual(await eventsOf(e, 'came_back'), []);
  assert.equal((await eventsOf(e, 'partitioned')).length, 3);
  const [after] = await e.api.list<Row>('/api/clusters', e.read);
  assert.equal(after?.quorate, 1);
});

test('a node of a 3-node cluster dies at default intervals: one node_offline webhook, for that node only', async (t) => {
  if (!requireBundles(t)) return;
  const e = await env(t);
  const sim = layoutFlags(t, { nodes: 3, guests: 6, seed: 42, clusterName: 'prod' });
  const names = nodeNames(sim);
  const [, , victim] = names as [string, string, string];
  const agents = startAgents(t, sim, e.api, names, { intervalSeconds: 300 });
  await waitFor('three agents reporting one quorate cluster', () => allOnline(e, names));

  sim.apply({ type: 'node-offline', node: victim });
  await agents[2]!.kill();
  const [hook] = await waitFor('the node_offline webhook', () => {
    const c = calls(e, 'node_offline');
    return c.length > 0 ? c : undefined;
  });
  assert.equal(hook!.body.node, victim);
  assert.equal(hook!.body.state, 'firing');
  // Its last view (from before it died) still counts until its agent is silent (2.5 heartbeats), so
  // the derived state says `partitioned` first and `offline` after that; its peers stay `online`.
  const { m } = await membership(e);
  assert.notEqual(m.nodes.find((n) => n.name === victim)?.state, 'online');
  assert.deepEqual(
    m.nodes.filter((n) => n.name !== victim).map((n) => n.state),
    ['online', 'online'],
  );
  assert.deepEqual(await eventsOf(e, 'came_back'), []);
  assert.deepEqual(
    calls(e, 'node_offline').map((r) => `${String(r.body.node)} ${String(r.body.state)}`),
    [`${victim} firing`],
  );
});
