/**
 * Detection at the DEFAULT intervals (issue 12, docs/detection.md): PROXMOX_INTERVAL 300, watch 5 s,
 * heartbeat 60 s, the server's defaults. Real nannyapi, real agents (the bundles), the simulator and
 * a webhook receiver on loopback. A cycle is 300 s away, so whatever arrives here within the waits
 * came from the agents' watch (`trigger: "change"`). Latencies are measured by the benchmark
 * (test/bench/latency.ts); these prove the alerts arrive at all, once, and nothing else does.
 */
import { budgetMs, test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { layoutFlags, nodeNames, requireBundles, startAgents, waitFor } from './harness.ts';
import { allOnline, calls, env, eventsOf, membership, type Row } from './detection-env.ts';

test(
  "the demo's quorum loss at default intervals: one quorum_lost webhook, no node_offline, no went-offline/came-back",
  // several processes and two Node starts per CLI call: slow on a crowded machine, bounded by the file
  { timeout: budgetMs(170_000) },
  async (t) => {
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
  },
);
