/**
 * A standalone node's agent dies. Nobody else can see a standalone node, so only the agent's own
 * silence tells: the agent announces its heartbeat interval in its node reports and nannyapi calls
 * it silent after 2.5 of them plus its 10-s timer. At the default 60-s heartbeat that is the
 * product's own 160 s, longer than a test file may run (3 min, docs/testing.md), so this test runs the
 * agent with a 10-s heartbeat (everything else at its default) and proves the rule follows the
 * announced interval; the benchmark (test/bench/latency.ts) times the default over ten agents.
 */
import assert from 'node:assert/strict';
import { budgets, test, waitFor as waitForShared } from '@nanny/testing';
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

test('a standalone node whose agent dies: one agent_silent webhook, after 2.5 announced heartbeats', async (t) => {
  if (!requireBundles(t)) return;
  const api = await startApi(t);
  const read = api.cli(['token', 'create', '--name', 'read', '--scope', 'read']);
  const write = api.cli(['token', 'create', '--name', 'write', '--scope', 'write']);
  const hook = await webhookReceiver(t);
  await api.post('/api/notification-channels', write, { type: 'webhook', name: 'e2e', url: hook.url });
  const sim = layoutFlags(t, { nodes: 1, standalone: true, guests: 2, seed: 43 });
  const [node] = nodeNames(sim) as [string];
  const [agent] = startAgents(t, sim, api, [node], {
    intervalSeconds: 300,
    env: { NANNYAGENT_HEARTBEAT_INTERVAL: '10' },
  });
  await waitFor('the node reported', async () => (await api.list<Row>('/api/nodes', read)).length === 1);
  await agent!.kill();

  const call = await waitForShared(() => hook.received.find((r) => r.body.rule === 'agent_silent'), {
    what: 'the agent_silent webhook (2.5 × 10 s of silence + the 10-s timer)',
    budget: budgets.long + budgets.medium,
    everyMs: 500,
  });
  assert.equal(call.body.node, node);
  assert.equal(call.body.state, 'firing');
  assert.deepEqual(
    hook.received.map((r) => r.body.rule),
    ['agent_silent'],
    'the only notification: a standalone node has no peers to call it offline',
  );
});
