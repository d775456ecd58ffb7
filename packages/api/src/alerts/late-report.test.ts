/**
 * A cluster report that arrives after a newer one from the same node (collected earlier, received
 * later) must not replace that node's view. With replicas it happens whenever a replica stalls with
 * a report in hand (a pause, a GC, a slow commit): the agent times out, sends the report again
 * through another replica, sends newer ones, and the stalled replica commits the old one later. The
 * engine compared receive times only, so the old "not quorate" view came back and fired a second
 * quorum_lost for an outage that was over (found by test/bench/replica-chaos.ts).
 */
import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { createState, evaluate } from './engine.ts';
import type { ClusterFact, EngineState } from './types.ts';

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
