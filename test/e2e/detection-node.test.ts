/**
 * A node of a 3-node cluster dies (cut off and its agent killed) at the DEFAULT intervals (issue 12,
 * docs/detection.md): its peers' watches report it offline within seconds and nannyapi sends one
 * node_offline, for that node only. The benchmark (test/bench/latency.ts) times it.
 */
import { budgetMs, test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { layoutFlags, nodeNames, requireBundles, startAgents, waitFor } from './harness.ts';
import { allOnline, calls, env, eventsOf, membership } from './detection-env.ts';

test(
  'a node of a 3-node cluster dies at default intervals: one node_offline webhook, for that node only',
  { timeout: budgetMs(170_000) },
  async (t) => {
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
    // The quorate partition sees it offline and its agent has not spoken since: `offline` at once
    // (its last view, "all fine", does not make it `partitioned`); its peers stay `online`.
    const { m } = await membership(e);
    assert.equal(m.nodes.find((n) => n.name === victim)?.state, 'offline');
    assert.deepEqual(
      m.nodes.filter((n) => n.name !== victim).map((n) => n.state),
      ['online', 'online'],
    );
    assert.deepEqual(await eventsOf(e, 'came_back'), []);
    assert.deepEqual(
      calls(e, 'node_offline').map((r) => `${String(r.body.node)} ${String(r.body.state)}`),
      [`${victim} firing`],
    );
  },
);
