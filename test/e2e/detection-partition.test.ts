/**
 * A 5-node cluster split 3+2 at the DEFAULT intervals (issue 12, docs/detection.md), with real
 * nannyapi, five real agents (the bundles), the simulator's `partition` event and a webhook receiver
 * on loopback. The two cut-off nodes are `partitioned` in their own eyes and `node_offline` from
 * the cluster's (one alert each, no flapping); nannyapi and one agent restart in the middle of the
 * split without a second alert or event; the heal resolves each alert once.
 */
import { budgetMs, test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { layoutFlags, nodeNames, requireBundles, startAgents, waitFor } from './harness.ts';
import { allOnline, calls, env, eventsOf, membership, type Env, type Row } from './detection-env.ts';

const hooks = (e: Env) =>
  e.hook.received
    .map(
      (r) => `${String(r.body.rule)}${r.body.node ? ` ${String(r.body.node)}` : ''} ${String(r.body.state)}`,
    )
    .sort();

async function nodeStates(e: Env): Promise<Record<string, unknown>> {
  const nodes = await e.api.list<Row>('/api/nodes', e.read);
  return Object.fromEntries(nodes.map((n) => [String(n.name), n.state]).sort());
}

test(
  'a 5-node cluster split 3+2 at default intervals: node_offline once per cut-off node, no churn, across restarts',
  { timeout: budgetMs(170_000) },
  async (t) => {
    if (!requireBundles(t)) return;
    const e = await env(t);
    const sim = layoutFlags(t, { nodes: 5, guests: 5, seed: 44, clusterName: 'five' });
    const names = nodeNames(sim);
    const agents = startAgents(t, sim, e.api, names, { intervalSeconds: 300 });
    await waitFor('five agents reporting one quorate cluster', () => allOnline(e, names));

    sim.apply({ type: 'partition', groups: [names.slice(0, 3), names.slice(3)] });
    const expected = {
      pve1: 'online',
      pve2: 'online',
      pve3: 'online',
      pve4: 'partitioned',
      pve5: 'partitioned',
    };
    await waitFor('node_offline for both cut-off nodes and quorum_lost', () => {
      const h = hooks(e);
      return ['node_offline pve4 firing', 'node_offline pve5 firing', 'quorum_lost firing'].every((x) =>
        h.includes(x),
      );
    });
    // every agent has spoken: each view is the new one
    await waitFor('every agent to report its side of the split', async () => {
      const { m } = await membership(e);
      return names.every((n) => {
        const v = m.views.find((x) => x.reporter === n);
        return v?.fresh === true && v.quorate === ['pve1', 'pve2', 'pve3'].includes(n);
      });
    });
    const check = async (what: string): Promise<void> => {
      const { id, m } = await membership(e);
      assert.deepEqual(Object.fromEntries(m.nodes.map((n) => [n.name, n.state])), expected, what);
      assert.deepEqual(await nodeStates(e), expected, `${what}: /api/nodes`);
      assert.deepEqual(
        m.partitions.map((p) => `${p.nodes.join(',')}${p.quorate ? ' quorate' : ''}`),
        ['pve1,pve2,pve3 quorate', 'pve4,pve5'],
      );
      const c = (await e.api.get<{ data: Row }>(`/api/clusters/${id}`, e.read)).data;
      assert.equal(c.split, true, what);
      assert.deepEqual(
        hooks(e),
        ['node_offline pve4 firing', 'node_offline pve5 firing', 'quorum_lost firing'],
        `${what}: one webhook per alert`,
      );
      assert.deepEqual(
        (await eventsOf(e, 'partitioned')).map((x) => String(x.message)).sort(),
        [
          'node pve4 is cut off from the quorate partition',
          'node pve5 is cut off from the quorate partition',
        ],
        what,
      );
      for (const type of ['rejoined', 'went_offline', 'came_back', 'quorum_regained'])
        assert.deepEqual(await eventsOf(e, type), [], `${what}: no ${type}`);
    };
    await check('after the split');

    // nannyapi restarts in the middle of the split
    await e.api.stop();
    await e.api.start();
    await check('after the nannyapi restart');
    // a cut-off node's agent restarts: its start-up cycle reports the same view again
    const before = (await membership(e)).m.views.find((v) => v.reporter === 'pve4');
    await agents[3]!.stop();
    agents[3]!.start();
    await waitFor('the restarted agent to report again', async () => {
      const v = (await membership(e)).m.views.find((x) => x.reporter === 'pve4') as
        { received_at?: string } | undefined;
      return v?.received_at !== (before as { received_at?: string } | undefined)?.received_at;
    });
    // past the alert timer (10 s): a re-evaluation after the restarts adds nothing
    await new Promise((r) => setTimeout(r, 12_000));
    await check('after the agent restart');

    sim.apply({ type: 'heal' });
    await waitFor('every alert resolved and both cut-off nodes rejoined', async () => {
      const h = hooks(e);
      return (
        ['node_offline pve4 resolved', 'node_offline pve5 resolved', 'quorum_lost resolved'].every((x) =>
          h.includes(x),
        ) &&
        (await eventsOf(e, 'rejoined')).length === 2 &&
        (await allOnline(e, names))
      );
    });
    assert.deepEqual(hooks(e), [
      'node_offline pve4 firing',
      'node_offline pve4 resolved',
      'node_offline pve5 firing',
      'node_offline pve5 resolved',
      'quorum_lost firing',
      'quorum_lost resolved',
    ]);
    assert.deepEqual(calls(e, 'agent_silent'), []);
    assert.deepEqual(await eventsOf(e, 'went_offline'), []);
    assert.deepEqual(await eventsOf(e, 'came_back'), []);
    assert.equal((await eventsOf(e, 'quorum_lost')).length, 1);
    assert.equal((await eventsOf(e, 'quorum_regained')).length, 1);
  },
);
