/**
 * A cluster report that arrives after a newer one from the same node (collected earlier, received
 * later) must not replace that node's view. With replicas it happens whenever a replica stalls with
 * a report in hand (a pause, a GC, a slow commit): the agent times out, sends the report again
 * through another replica, sends newer ones, and the stalled replica commits the old one later. The
 * engine compared receive times only, so the old "not quorate" view came back and fired a second
 * quorum_lost for an outage that was over (found by test/bench/replica-chaos.ts).
 *
 * The same holds for the very collection the engine holds, sent again: the original waited in a
 * stalled replica while the agent's resend went through another one. Taking it again only moved its
 * receive time past a newer view from another reporter, and the newest view places the nodes:
 * an outage that was over came back (a second node_offline in one episode, replica chaos run).
 */
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { createState, evaluate } from './engine.ts';
import type { ClusterFact, EngineState, Fact } from './types.ts';

const T0 = Date.parse('2026-12-01T00:00:00Z');
const s = (sec: number) => T0 + sec * 1000;
const NODES = ['pve1', 'pve2', 'pve3'];

/** `from`'s cluster report, collected at `collected` s and received (evaluated) at `received` s */
function report(
  from: string,
  quorate: boolean,
  collected: number,
  received: number,
  offline?: string,
): ClusterFact {
  return {
    kind: 'cluster',
    clusterId: 'c1',
    clusterName: 'prod',
    at: s(received),
    collectedAt: s(collected),
    quorate,
    nodes: 3,
    reportingNode: from,
    members: NODES.map((name) => ({ name, online: name !== offline })),
  };
}

function events(state: EngineState, facts: ClusterFact[]): string[] {
  const out: string[] = [];
  for (const f of facts)
    for (const e of evaluate(state, f, f.at, {}).events)
      out.push(`${e.type} ${e.rule}${e.node ? ` ${e.node}` : ''}`);
  return out;
}

test('an old "not quorate" report committed late does not fire quorum_lost again', () => {
  const state = createState();
  const episode = events(state, [
    ...NODES.map((n, i) => report(n, true, i, i)),
    ...NODES.map((n, i) => report(n, false, 10 + i, 10 + i)),
    ...NODES.map((n, i) => report(n, true, 20 + i, 20 + i)),
  ]);
  assert.deepEqual(episode, ['fire quorum_lost', 'resolve quorum_lost']);
  // pve2's report of the outage, collected at 11 s, reaches the engine at 40 s
  assert.deepEqual(events(state, [report('pve2', false, 11, 40)]), []);
  // a newer report still counts
  assert.deepEqual(events(state, [report('pve2', false, 41, 41)]), ['fire quorum_lost']);
});

test('an old "node offline" report committed late does not fire node_offline again', () => {
  const state = createState();
  const episode = events(state, [
    ...NODES.map((n, i) => report(n, true, i, i)),
    report('pve1', true, 10, 10, 'pve3'),
    report('pve2', true, 11, 11, 'pve3'),
    ...NODES.map((n, i) => report(n, true, 20 + i, 20 + i)),
  ]);
  assert.deepEqual(episode, ['fire node_offline pve3', 'resolve node_offline pve3']);
  assert.deepEqual(
    events(state, [report('pve1', true, 10, 40, 'pve3'), report('pve2', true, 11, 41, 'pve3')]),
    [],
  );
});

test('a collection committed again after a newer view from another reporter does not fire node_offline again', () => {
  const state = createState();
  const episode = events(state, [
    ...NODES.map((n, i) => report(n, true, i, i)),
    // pve1 and pve2 lose pve3 (each report acknowledged through a live replica)
    report('pve1', true, 10, 10, 'pve3'),
    report('pve2', true, 11, 11, 'pve3'),
    // pve1 sees it back
    report('pve1', true, 20, 20),
  ]);
  assert.deepEqual(episode, ['fire node_offline pve3', 'resolve node_offline pve3']);
  // the stalled replica wakes and commits the originals of pve2's and pve1's outage reports
  assert.deepEqual(
    events(state, [report('pve2', true, 11, 21, 'pve3'), report('pve1', true, 10, 22, 'pve3')]),
    [],
  );
  // pve2 sees it back as well: nothing more to say
  assert.deepEqual(events(state, [report('pve2', true, 23, 23)]), []);
});

test('one collection is one sighting: committed twice, it does not confirm node_offline by itself', () => {
  const state = createState();
  // (the cut-off node's own view fires quorum_lost: not the point here)
  const offline = (facts: ClusterFact[]) => events(state, facts).filter((e) => e.includes('node_offline'));
  // pve3 is cut off: it sees only itself, without quorum
  const cutOff: ClusterFact = {
    ...report('pve3', false, 11, 11),
    members: NODES.map((name) => ({ name, online: name === 'pve3' })),
  };
  assert.deepEqual(
    offline([...NODES.map((n, i) => report(n, true, i, i)), report('pve1', true, 10, 10, 'pve3'), cutOff]),
    [],
    'one sighting by the quorate partition: not confirmed yet',
  );
  // the original of pve1's report, committed after its resend by a replica that stalled
  assert.deepEqual(offline([report('pve1', true, 10, 12, 'pve3')]), []);
  // pve1's next collection confirms it
  assert.deepEqual(offline([report('pve1', true, 13, 13, 'pve3')]), ['fire node_offline pve3']);
});

test('a node report received long ago and committed late does not turn back its silence clock', () => {
  const state = createState();
  const node = (received: number): Fact => ({
    kind: 'node',
    clusterId: 'c1',
    clusterName: 'prod',
    node: 'pve1',
    at: s(received),
    collectedAt: s(received),
    intervalSeconds: 60,
  });
  const run = (f: Fact) => evaluate(state, f, f.at, {}).events.map((e) => `${e.type} ${e.rule}`);
  assert.deepEqual([...run(node(0)), ...run(node(200))], []);
  // received at 10 s by a replica that stalled, evaluated after the report of 200 s
  assert.deepEqual(run(node(10)), []);
  // 100 s after the last word: inside the 150-s silence window
  assert.deepEqual(run({ kind: 'tick', at: s(300) }), []);
  assert.deepEqual(run({ kind: 'tick', at: s(351) }), ['fire agent_silent']);
});
