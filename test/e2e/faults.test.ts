/**
 * Faults end to end: the API goes away and comes back, pmxcfs hangs, access tokens expire, an agent
 * is revoked. Real processes, real HTTP, the simulator.
 */
import { budgetMs, test } from '@nanny/testing';
import assert from 'node:assert/strict';
import {
  requireBundles,
  layoutFlags,
  nodeNames,
  onCleanup,
  startAgents,
  startApi,
  waitFor,
} from './harness.ts';

type Row = Record<string, unknown>;
interface NodeDetail {
  id: string;
  last_seen: string;
  history: { samples: Array<{ ts: string; received_at: string }> };
}

test('the API is down for three cycles: every spooled report arrives after the restart, in order, none twice', async (t) => {
  if (!requireBundles(t)) return;
  const api = await startApi(t);
  const read = api.cli(['token', 'create', '--name', 'read', '--scope', 'read']);
  const sim = layoutFlags(t, { nodes: 1, standalone: true, guests: 2, seed: 3 });
  const [node] = nodeNames(sim) as [string];
  const [agent] = startAgents(t, sim, api, [node]);
  const nodeId = await waitFor(
    'the node',
    async () => (await api.list<Row>('/api/nodes', read))[0]?.id as string,
  );
  await agent!.cycles(1);

  await api.stop();
  const downFrom = new Date().toISOString();
  // Four finished cycles: the first may have collected its node report before the API stopped, so
  // at least three reports were collected while it was down.
  await agent!.cycles(4);
  const downTo = new Date().toISOString();
  assert.ok(!agent!.log.includes('Data ingested'), 'sanity: nothing was delivered while the API was down');
  await api.start();

  const detail = await waitFor('the spooled node reports', async () => {
    const d = (await api.get<{ data: NodeDetail }>(`/api/nodes/${nodeId}`, read)).data;
    const during = d.history.samples.filter((s) => s.ts > downFrom && s.ts < downTo);
    return during.length >= 3 ? d : undefined;
  });
  const ts = detail.history.samples.map((s) => s.ts);
  assert.equal(new Set(ts).size, ts.length, 'no report stored twice');
  const byReceipt = [...detail.history.samples].sort(
    (a, b) => a.received_at.localeCompare(b.received_at) || a.ts.localeCompare(b.ts),
  );
  assert.deepEqual(
    byReceipt.map((s) => s.ts),
    [...ts].sort(),
    'reports were received in the order they were collected',
  );
});

test('pmxcfs hangs: the node report still arrives and each cycle ends in bounded time', async (t) => {
  if (!requireBundles(t)) return;
  const api = await startApi(t);
  const read = api.cli(['token', 'create', '--name', 'read', '--scope', 'read']);
  const sim = layoutFlags(t, { nodes: 3, guests: 6, seed: 4 });
  const [pve1] = nodeNames(sim) as [string];
  const [agent] = startAgents(t, sim, api, [pve1], {
    source: 'files',
    env: { NANNYAGENT_PMXCFS_TIMEOUT: '1', NANNYAGENT_COMMAND_TIMEOUT: '2' },
  });
  const nodeId = await waitFor(
    'the node',
    async () => (await api.list<Row>('/api/nodes', read))[0]?.id as string,
  );
  await agent!.cycles(1);

  sim.apply({ type: 'pmxcfs-hang', node: pve1 });
  onCleanup(t, () => sim.apply({ type: 'pmxcfs-release', node: pve1 }));
  const hungAt = new Date().toISOString();
  await agent!.cycles(2);
  const last = agent!.lastCycle()!;
  // The product's bound (1 s pmxcfs + 2 s command timeouts), not a test timing: a cycle that waited
  // for the hung pmxcfs would never finish. Scaled, since a crowded machine stretches every step.
  const bound = budgetMs(10_000);
  assert.ok(
    last.duration_ms < bound,
    `a cycle under a hung pmxcfs took ${last.duration_ms} ms (bound ${bound})`,
  );
  assert.ok(last.errors.length > 0, 'the cycle says what failed');
  await waitFor('a node report sent while pmxcfs hangs', async () => {
    const d = (await api.get<{ data: NodeDetail }>(`/api/nodes/${nodeId}`, read)).data;
    return d.history.samples.some((s) => s.ts > hungAt);
  });
  assert.ok(agent!.proc!.running, 'the agent lives on');
});

test('an expired access token is refreshed and the agent goes on; a revoked agent gets 401s and says so', async (t) => {
  if (!requireBundles(t)) return;
  const api = await startApi(t, { env: { NANNYAPI_ACCESS_TOKEN_TTL: '2' } });
  const read = api.cli(['token', 'create', '--name', 'read', '--scope', 'read']);
  const sim = layoutFlags(t, { nodes: 1, standalone: true, guests: 1, seed: 8 });
  const [node] = nodeNames(sim) as [string];
  const [agent] = startAgents(t, sim, api, [node]);
  const nodeId = await waitFor(
    'the node',
    async () => (await api.list<Row>('/api/nodes', read))[0]?.id as string,
  );
  const seen = async () => (await api.get<{ data: NodeDetail }>(`/api/nodes/${nodeId}`, read)).data.last_seen;

  // The access token lives 2 s and cycles are 1 s apart: wait until the agent says it refreshed,
  // then for a report newer than that moment.
  await waitFor('the agent to refresh its access token', () => /access token refreshed/.test(agent!.log));
  const before = await seen();
  await waitFor('reports after the token expired', async () => (await seen()) > before);
  assert.match(agent!.log, /refresh/i, 'the agent says it refreshed');

  const agents = await api.list<Row>('/api/agents', read).catch(() => [] as Row[]);
  const agentId =
    (agents[0]?.id as string | undefined) ??
    /agent[_ ]id[^\w]+([\w-]+)/i.exec(agent!.run(['status']).out)?.[1];
  assert.ok(agentId, 'agent id known');
  const logBefore = agent!.log.length;
  api.cli(['agent', 'revoke', agentId]);
  await waitFor('the agent to report the revocation', () =>
    /unauthori[sz]ed|revoked/i.test(agent!.log.slice(logBefore)),
  );
  const status = agent!.run(['status']);
  assert.match(status.out, /delivery: +REFUSED/, `status says so:\n${status.out}`);
});
