/**
 * More membership scenarios at the DEFAULT intervals (issue 12, docs/detection.md), real processes:
 * a 4-node cluster split 2+2 (no partition holds quorum) and healed, and a node of a 3-node cluster
 * rebooting the way a real one does (it leaves corosync and its agent stops, then both come back).
 */
import { budgetMs, test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { layoutFlags, nodeNames, requireBundles, startAgents, waitFor } from './harness.ts';
import { allOnline, env, eventsOf, membership, type Env } from './detection-env.ts';

const hooks = (e: Env) =>
  e.hook.received
    .map(
      (r) => `${String(r.body.rule)}${r.body.node ? ` ${String(r.body.node)}` : ''} ${String(r.body.state)}`,
    )
    .sort();

test(
  'a 4-node cluster split 2+2 at default intervals: one quorum_lost, no node_offline, all partitioned; heal rejoins all',
  { timeout: budgetMs(170_000) },
  async (t) => {
    if (!requireBundles(t)) return;
    const e = await env(t);
    const sim = layoutFlags(t, { nodes: 4, guests: 4, seed: 45, clusterName: 'four' });
    const names = nodeNames(sim);
    startAgents(t, sim, e.api, names, { intervalSeconds: 300 });
    await waitFor('four agents reporting one quorate cluster', () => allOnline(e, names));

    sim.apply({
      type: 'partition',
      groups: [
        ['pve1', 'pve3'],
        ['pve2', 'pve4'],
      ],
    });
    await waitFor('every agent to report its half, not quorate', async () => {
      const { m } = await membership(e);
      return names.every((n) => m.views.some((v) => v.reporter === n && v.fresh && !v.quorate));
    });
    const { id, m } = await membership(e);
    assert.deepEqual(
      m.nodes.map((n) => n.state),
      ['partitioned', 'partitioned', 'partitioned', 'partitioned'],
    );
    assert.deepEqual(m.partitions.map((p) => p.nodes.join(',')).sort(), ['pve1,pve3', 'pve2,pve4']);
    assert.ok(m.partitions.every((p) => !p.quorate));
    const c = (await e.api.get<{ data: Record<string, unknown> }>(`/api/clusters/${id}`, e.read)).data;
    assert.equal(c.quorate, 0);
    assert.equal(c.split, true);
    const nodes = await e.api.list<Record<string, unknown>>('/api/nodes', e.read);
    assert.deepEqual(
      nodes.map((n) => n.state),
      ['partitioned', 'partitioned', 'partitioned', 'partitioned'],
    );
    await waitFor('the quorum_lost webhook', () => hooks(e).includes('quorum_lost firing'));
    assert.deepEqual(hooks(e), ['quorum_lost firing']);
    assert.equal((await eventsOf(e, 'partitioned')).length, 4);

    sim.apply({ type: 'heal' });
    await waitFor('the resolve and every node rejoined', async () => {
      return (
        hooks(e).includes('quorum_lost resolved') &&
        (await allOnline(e, names)) &&
        (await eventsOf(e, 'rejoined')).length === 4
      );
    });
    assert.deepEqual(hooks(e), ['quorum_lost firing', 'quorum_lost resolved']);
    for (const type of ['went_offline', 'came_back'])
      assert.deepEqual(await eventsOf(e, type), [], `no ${type}`);
    assert.equal((await eventsOf(e, 'partitioned')).length, 4, 'no second partitioned event');
  },
);

test(
  'a node of a 3-node cluster reboots at default intervals (leaves corosync, agent stops, both return)',
  { timeout: budgetMs(170_000) },
  async (t) => {
    if (!requireBundles(t)) return;
    const e = await env(t);
    const sim = layoutFlags(t, { nodes: 3, guests: 3, seed: 46, clusterName: 'trio' });
    const names = nodeNames(sim);
    const agents = startAgents(t, sim, e.api, names, { intervalSeconds: 300 });
    await waitFor('three agents reporting one quorate cluster', () => allOnline(e, names));

    // shutdown: systemd stops the agent, corosync leaves the ring
    await agents[2]!.stop();
    sim.apply({ type: 'node-offline', node: 'pve3' });
    await waitFor('the node_offline webhook', () => hooks(e).includes('node_offline pve3 firing'));
    const fired = e.hook.received.find((r) => r.body.rule === 'node_offline');
    assert.equal(fired?.body.summary, 'Node pve3 of cluster trio is offline', 'nothing says it is cut off');
    const down = (await membership(e)).m;
    assert.equal(down.nodes.find((n) => n.name === 'pve3')?.state, 'offline');
    // boot, well within the reply window (1.25 heartbeats): back in the ring with a new uptime
    sim.apply({ type: 'node-reboot', node: 'pve3' });
    sim.apply({ type: 'node-online', node: 'pve3' });
    agents[2]!.start();
    await waitFor('the resolve, the reboot notice and pve3 back', async () => {
      const h = hooks(e);
      return (
        h.includes('node_offline pve3 resolved') &&
        h.includes('node_rebooted pve3 notice') &&
        (await allOnline(e, names))
      );
    });
    assert.deepEqual(hooks(e), [
      'node_offline pve3 firing',
      'node_offline pve3 resolved',
      'node_rebooted pve3 notice',
    ]);
    assert.equal((await eventsOf(e, 'rebooted')).length, 1);
    for (const type of ['went_offline', 'came_back', 'partitioned', 'rejoined'])
      assert.deepEqual(await eventsOf(e, type), [], `a quick reboot is no ${type}`);
  },
);
