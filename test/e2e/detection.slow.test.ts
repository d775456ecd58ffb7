/**
 * A standalone node's agent dies, at the DEFAULT intervals (issue 12: "an alert within 3 minutes").
 * Nobody else can see a standalone node, so only the agent's own silence tells: it announces its
 * 60-s heartbeat and nannyapi calls it silent after 2.5 of them (150 s) plus its 10-s timer. That is
 * the product's own time, so this file waits minutes (a `*.slow.test.ts`, docs/testing.md); the
 * benchmark (test/bench/latency.ts) times it over ten agents.
 */
import { budgetMs, test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { waitFor as waitForShared } from '@nanny/testing';
import {
  layoutFlags,
  nodeNames,
  requireBundles,
  startAgents,
  startApi,
  waitFor,
  webhookReceiver,
} from './harness.ts';

type Row = Record<string, unknown>;

test(
  'a standalone node whose agent dies: an agent_silent webhook (2.5 heartbeats + the timer), nothing else',
  { timeout: budgetMs(330_000) },
  async (t) => {
    if (!requireBundles(t)) return;
    const api = await startApi(t);
    const read = api.cli(['token', 'create', '--name', 'read', '--scope', 'read']);
    const write = api.cli(['token', 'create', '--name', 'write', '--scope', 'write']);
    const hook = await webhookReceiver(t);
    await api.post('/api/notification-channels', write, { type: 'webhook', name: 'e2e', url: hook.url });
    const sim = layoutFlags(t, { nodes: 1, standalone: true, guests: 2, seed: 43 });
    const [node] = nodeNames(sim) as [string];
    const [agent] = startAgents(t, sim, api, [node], { intervalSeconds: 300 });
    await waitFor('the node reported', async () => (await api.list<Row>('/api/nodes', read)).length === 1);
    await agent!.kill();

    const call = await waitForShared(() => hook.received.find((r) => r.body.rule === 'agent_silent'), {
      what: 'the agent_silent webhook',
      // 150 s of silence + the 10-s evaluation timer is the product's bound; the rest is slack
      budget: 240_000,
      everyMs: 500,
    });
    assert.equal(call.body.node, node);
    assert.equal(call.body.state, 'firing');
    assert.deepEqual(
      hook.received.map((r) => r.body.rule),
      ['agent_silent'],
      'the only notification: a standalone node has no peers to call it offline',
    );
  },
);
