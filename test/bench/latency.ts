/**
 * Detection latency end to end (issue 12 item 6, docs/performance.md "Detection latency"): the real
 * nannyapi and real nannyagent processes (the built bundles), the simulator, a webhook receiver on
 * loopback, every interval at its default (PROXMOX_INTERVAL 300, watch 5 s, heartbeat 60 s, the
 * server's defaults). Each scenario is repeated and timed from the simulator event (or the kill) to
 * the webhook's arrival at the receiver:
 *
 * - quorum: `quorum-lost` in a 3-node cluster → the `quorum_lost` webhook (then `quorum-regained`
 *   and its resolve webhook before the next round);
 * - node: `node-offline` of one node of a 3-node cluster and its agent killed (SIGKILL, whole
 *   process group) → the `node_offline` webhook (then the node back and its agent restarted);
 * - standalone: N standalone nodes, each with its agent, all killed at spread moments (the kills
 *   fall on every phase of the 60-s heartbeat) → the `agent_silent` webhook of each.
 *
 * Rounds start at a random moment (0–5 s after the previous one settled) so events fall on every
 * phase of the 5-s watch. It also counts what must not happen: during the quorum rounds no
 * `node_offline` webhook, during the node rounds none for the nodes that stayed up.
 *
 *   npm run build && npm run bench:latency -- [--rounds 10] [--only quorum,node,standalone]
 */
import { randomInt } from 'node:crypto';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor as waitForShared, type AfterHook } from '@nanny/testing';
import {
  bundlesMissing,
  layoutFlags,
  nodeNames,
  startAgents,
  startApi,
  waitFor,
  webhookReceiver,
  type ApiServer,
  type Received,
} from '../e2e/harness.ts';
import { benchContext, type BenchContext } from './context.ts';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const rounds = Number(arg('rounds') ?? 10);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds: a positive integer');
const only = new Set((arg('only') ?? 'quorum,node,standalone').split(','));

function stats(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
  const f = (v: number) => `${(v / 1000).toFixed(1)} s`;
  return `n ${s.length}  p50 ${f(q(0.5))}  p95 ${f(q(0.95))}  max ${f(s.at(-1)!)}  min ${f(s[0]!)}`;
}

type Hook = { received: Received[]; url: string };
const isCall = (r: Received, rule: string, state: string, want: Record<string, unknown> = {}) =>
  r.body.rule === rule && r.body.state === state && Object.entries(want).every(([k, v]) => r.body[k] === v);

/** The first matching webhook call that arrived at or after `from` (ms). */
async function arrival(hook: Hook, from: number, what: string, rule: string, state: string, want = {}) {
  const r = await waitForShared(
    () => hook.received.find((x) => x.at >= from && isCall(x, rule, state, want)),
    // the product's own worst case is 2.5 heartbeats + the 10-s timer; this only bounds a broken run
    { what, budget: 300_000, everyMs: 20 },
  );
  return r.at;
}

async function setup(t: AfterHook & { skip(m?: string): void }) {
  const api = await startApi(t);
  const write = api.cli(['token', 'create', '--name', 'bench', '--scope', 'write']);
  const hook = await webhookReceiver(t);
  await api.post('/api/notification-channels', write, { type: 'webhook', name: 'bench', url: hook.url });
  return { api, hook };
}

async function cluster(
  t: AfterHook & { skip(m?: string): void },
  api: ApiServer,
  name: string,
  seed: number,
) {
  const sim = layoutFlags(t, { nodes: 3, guests: 6, seed, clusterName: name });
  const names = nodeNames(sim);
  const agents = startAgents(t, sim, api, names, { intervalSeconds: 300 });
  const read = api.cli(['token', 'create', '--name', `read-${name}`, '--scope', 'read']);
  await waitFor('three nodes reporting', async () => {
    const nodes = await api.list<{ cluster_name?: string | null }>('/api/nodes', read);
    return nodes.filter((n) => n.cluster_name === name).length === 3;
  });
  return { sim, names, agents, read };
}

/**
 * Until every other node's own view (its last cluster report) shows `node` online: the peers saw it
 * come back. A node that returns and goes again within one watch interval is never seen back by
 * its peers (they look every 5 s), and the next round would time that flap, not a death.
 */
async function peersSee(api: ApiServer, read: string, name: string, names: string[], node: string) {
  await waitForShared(
    async () => {
      const c = (await api.list<{ id: string; cluster_name: string }>('/api/clusters', read)).find(
        (x) => x.cluster_name === name,
      );
      if (!c) return false;
      const m = await api.get<{
        data: { views: { reporter: string; members: { name: string; online: unknown }[] }[] };
      }>(`/api/clusters/${c.id}/membership`, read);
      return names
        .filter((n) => n !== node)
        .every((peer) =>
          m.data.views
            .find((v) => v.reporter === peer)
            ?.members.some((x) => x.name === node && (x.online === true || x.online === 1)),
        );
    },
    { what: `the peers seeing ${node} back`, budget: 60_000, everyMs: 200 },
  );
}

async function quorumRounds(t: BenchContext): Promise<number[]> {
  const { api, hook } = await setup(t);
  const { sim } = await cluster(t, api, 'bench-q', 31);
  const out: number[] = [];
  const start = Date.now();
  for (let i = 0; i < rounds; i++) {
    await sleep(randomInt(0, 5000));
    const t0 = Date.now();
    sim.apply({ type: 'quorum-lost' });
    const at = await arrival(hook, t0, 'the quorum_lost webhook', 'quorum_lost', 'firing');
    out.push(at - t0);
    const t1 = Date.now();
    sim.apply({ type: 'quorum-regained' });
    const back = await arrival(hook, t1, 'the quorum_lost resolve webhook', 'quorum_lost', 'resolved');
    console.log(`  quorum round ${i + 1}: lost → webhook ${at - t0} ms; regained → resolved ${back - t1} ms`);
  }
  const after = hook.received.filter((r) => r.at >= start);
  const offline = after.filter((r) => r.body.rule === 'node_offline').length;
  const fired = after.filter((r) => isCall(r, 'quorum_lost', 'firing')).length;
  console.log(`  webhooks: quorum_lost firing ${fired} (rounds ${rounds}), node_offline ${offline} (want 0)`);
  return out;
}

async function nodeRounds(t: BenchContext): Promise<number[]> {
  const { api, hook } = await setup(t);
  const { sim, names, agents, read } = await cluster(t, api, 'bench-n', 32);
  const victim = names[2]!;
  const agent = agents[2]!;
  const out: number[] = [];
  const start = Date.now();
  for (let i = 0; i < rounds; i++) {
    await sleep(randomInt(0, 5000));
    const t0 = Date.now();
    sim.apply({ type: 'node-offline', node: victim });
    const killed = agent.kill();
    const at = await arrival(hook, t0, 'the node_offline webhook', 'node_offline', 'firing', {
      node: victim,
    });
    out.push(at - t0);
    await killed;
    const t1 = Date.now();
    sim.apply({ type: 'node-online', node: victim });
    agent.start();
    const back = await arrival(hook, t1, 'the node_offline resolve', 'node_offline', 'resolved', {
      node: victim,
    });
    console.log(`  node round ${i + 1}: down → webhook ${at - t0} ms; back → resolved ${back - t1} ms`);
    await peersSee(api, read, 'bench-n', names, victim);
  }
  const wrong = hook.received.filter(
    (r) => r.at >= start && r.body.rule === 'node_offline' && r.body.node !== victim,
  ).length;
  console.log(`  webhooks: node_offline for nodes that stayed up ${wrong} (want 0)`);
  return out;
}

async function standaloneRounds(t: BenchContext): Promise<number[]> {
  const { api, hook } = await setup(t);
  const sim = layoutFlags(t, { nodes: rounds, standalone: true, guests: rounds, seed: 33 });
  const names = nodeNames(sim);
  const agents = startAgents(t, sim, api, names, { intervalSeconds: 300 });
  const read = api.cli(['token', 'create', '--name', 'read', '--scope', 'read']);
  await waitFor('every standalone node reporting', async () => {
    return (await api.list('/api/nodes', read)).length === names.length;
  });
  // spread the kills over one heartbeat period, so they fall on every phase of it
  const spacing = 60_000 / names.length;
  const kills = names.map(async (node, i) => {
    await sleep(Math.round(i * spacing));
    const t0 = Date.now();
    await agents[i]!.kill();
    const at = await arrival(hook, t0, `agent_silent for ${node}`, 'agent_silent', 'firing', { node });
    console.log(`  standalone ${node}: killed → agent_silent webhook ${at - t0} ms`);
    return at - t0;
  });
  return Promise.all(kills);
}

async function main(): Promise<void> {
  const missing = bundlesMissing();
  if (missing) throw new Error(missing);
  const load0 = loadavg();
  console.log(
    `detection latency, ${rounds} rounds each, default intervals; load ${load0.map((l) => l.toFixed(1)).join(' ')}`,
  );
  const results: Array<[string, number[]]> = [];
  const scenarios: Array<[string, string, (t: BenchContext) => Promise<number[]>]> = [
    ['quorum', 'quorum-lost → quorum_lost webhook (goal p95 ≤ 10 s)', quorumRounds],
    ['node', 'node-offline + agent killed → node_offline webhook (goal p95 ≤ 20 s)', nodeRounds],
    ['standalone', 'standalone agent killed → agent_silent webhook (goal ≤ 180 s)', standaloneRounds],
  ];
  for (const [key, label, run] of scenarios) {
    if (!only.has(key)) continue;
    console.log(`${label}:`);
    const t = benchContext();
    try {
      results.push([label, await run(t)]);
    } finally {
      await t.close();
    }
  }
  const load1 = loadavg();
  console.log(`\nload at the end ${load1.map((l) => l.toFixed(1)).join(' ')}`);
  for (const [label, ms] of results) console.log(`${label}\n  ${stats(ms)}`);
}

await main();
