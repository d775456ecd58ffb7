import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { createState, evaluate } from './engine.ts';
import { ruleSettings } from './settings.ts';
import type { AlertSettings, ClusterFact, EngineState, Fact, GuestFact, NodeFact } from './types.ts';

const T0 = Date.parse('2026-11-25T00:00:00Z');
const s = (sec: number): number => T0 + sec * 1000;

type Step =
  | ({ t: number } & { kind: 'cluster' } & Partial<Omit<ClusterFact, 'kind'>>)
  | ({ t: number } & { kind: 'node' } & Partial<Omit<NodeFact, 'kind'>>)
  | ({ t: number } & { kind: 'guest' } & Partial<Omit<GuestFact, 'kind'>>)
  | { t: number; kind: 'tick' };

function fact(step: Step): Fact {
  const at = s(step.t);
  switch (step.kind) {
    case 'cluster':
      return { clusterId: 'c1', clusterName: 'prod', quorate: true, nodes: 3, ...step, at } as ClusterFact;
    case 'node':
      return { clusterId: 'c1', clusterName: 'prod', node: 'pve1', ...step, at } as NodeFact;
    case 'guest':
      return {
        clusterId: 'c1',
        vmid: 100,
        guestType: 'lxc',
        node: 'pve1',
        status: 'running',
        tags: [],
        ...step,
        at,
      } as GuestFact;
    case 'tick':
      return { kind: 'tick', at };
  }
}

/** Runs the steps; returns "type rule" per event, in order. */
function run(steps: Step[], settings: AlertSettings = {}, state: EngineState = createState()): string[] {
  const out: string[] = [];
  for (const st of steps) {
    const r = evaluate(state, fact(st), s(st.t), settings);
    for (const e of r.events) out.push(`${e.type} ${e.rule}${e.node ? ` ${e.node}` : ''}`);
  }
  return out;
}

const members = (...online: number[]) => online.map((o, i) => ({ name: `pve${i + 1}`, online: o === 1 }));

const cases: { name: string; steps: Step[]; expect: string[]; settings?: AlertSettings }[] = [
  {
    name: 'a non-quorate report fires quorum_lost once and a quorate one resolves it',
    steps: [
      { t: 0, kind: 'cluster', quorate: true },
      { t: 10, kind: 'cluster', quorate: false },
      { t: 20, kind: 'cluster', quorate: false },
      { t: 30, kind: 'cluster', quorate: true },
      { t: 40, kind: 'cluster', quorate: true },
    ],
    expect: ['fire quorum_lost', 'resolve quorum_lost'],
  },
  {
    name: 'in a split, the majority saying quorate does not resolve what the minority reports',
    steps: [
      { t: 0, kind: 'cluster', quorate: false, reportingNode: 'pve3' },
      { t: 1, kind: 'cluster', quorate: true, reportingNode: 'pve1' },
      { t: 2, kind: 'cluster', quorate: true, reportingNode: 'pve2' },
      { t: 300, kind: 'cluster', quorate: true, reportingNode: 'pve3' },
    ],
    expect: ['fire quorum_lost', 'resolve quorum_lost'],
  },
  {
    name: 'a node cut off from a quorate majority: one quorum_lost and one node_offline, no flapping',
    steps: [
      { t: 0, kind: 'cluster', quorate: false, reportingNode: 'pve3', members: members(0, 0, 1) },
      { t: 1, kind: 'cluster', quorate: true, reportingNode: 'pve1', members: members(1, 1, 0) },
      { t: 300, kind: 'cluster', quorate: false, reportingNode: 'pve3', members: members(0, 0, 1) },
      { t: 301, kind: 'cluster', quorate: true, reportingNode: 'pve1', members: members(1, 1, 0) },
      { t: 600, kind: 'cluster', quorate: false, reportingNode: 'pve3', members: members(0, 0, 1) },
      { t: 601, kind: 'cluster', quorate: true, reportingNode: 'pve1', members: members(1, 1, 0) },
      { t: 900, kind: 'cluster', quorate: true, reportingNode: 'pve3', members: members(1, 1, 1) },
    ],
    expect: [
      'fire quorum_lost',
      'fire node_offline pve3',
      'resolve quorum_lost',
      'resolve node_offline pve3',
    ],
  },
  {
    name: 'a non-quorate reporter that goes quiet is settled by quorate reports after 2.5 intervals',
    steps: [
      { t: 0, kind: 'cluster', quorate: false, reportingNode: 'pve3' },
      { t: 300, kind: 'cluster', quorate: true, reportingNode: 'pve1' },
      { t: 751, kind: 'cluster', quorate: true, reportingNode: 'pve1' },
    ],
    expect: ['fire quorum_lost', 'resolve quorum_lost'],
  },
  {
    name: 'one offline report is not an outage; two consecutive are',
    steps: [
      { t: 0, kind: 'cluster', members: members(1, 1, 1) },
      { t: 300, kind: 'cluster', members: members(1, 0, 1) },
      { t: 600, kind: 'cluster', members: members(1, 1, 1) },
      { t: 900, kind: 'cluster', members: members(1, 0, 1) },
      { t: 1200, kind: 'cluster', members: [] },
      { t: 1500, kind: 'cluster', members: members(1, 0, 1) },
      { t: 1800, kind: 'cluster', members: members(1, 0, 1) },
      { t: 2100, kind: 'cluster', members: members(1, 1, 1) },
    ],
    expect: ['fire node_offline pve2', 'resolve node_offline pve2'],
  },
  {
    name: 'the same cluster report sent twice (a retry) does not confirm an outage',
    steps: [
      { t: 0, kind: 'cluster', members: members(1, 0), reportingNode: 'pve1', collectedAt: s(0) },
      { t: 5, kind: 'cluster', members: members(1, 0), reportingNode: 'pve1', collectedAt: s(0) },
    ],
    expect: [],
  },
  {
    name: 'a node that leaves the cluster resolves its offline alert',
    steps: [
      { t: 0, kind: 'cluster', members: members(1, 0, 0) },
      { t: 300, kind: 'cluster', members: members(1, 0, 0) },
      { t: 600, kind: 'cluster', members: members(1, 1) },
      { t: 900, kind: 'cluster', members: members(1, 1) },
    ],
    expect: [
      'fire node_offline pve2',
      'fire node_offline pve3',
      'resolve node_offline pve2',
      'resolve node_offline pve3',
    ],
  },
  {
    name: 'a silent agent fires after 2.5 intervals while the cluster says the node is online',
    steps: [
      { t: 0, kind: 'node', node: 'pve2', intervalSeconds: 60 },
      { t: 0, kind: 'cluster', members: members(1, 1) },
      { t: 140, kind: 'tick' },
      { t: 151, kind: 'tick' },
      { t: 200, kind: 'tick' },
      { t: 210, kind: 'node', node: 'pve2', intervalSeconds: 60 },
    ],
    expect: ['fire agent_silent pve2', 'resolve agent_silent pve2'],
  },
  {
    name: 'a silent agent on a node its cluster confirms offline is node_offline, not agent_silent',
    steps: [
      { t: 0, kind: 'node', node: 'pve2', intervalSeconds: 60 },
      { t: 60, kind: 'cluster', members: members(1, 0) },
      { t: 120, kind: 'cluster', members: members(1, 0) },
      { t: 400, kind: 'tick' },
    ],
    expect: ['fire node_offline pve2'],
  },
  {
    name: 'the configured node count changing is one notice per change',
    steps: [
      { t: 0, kind: 'cluster', nodes: 3, configVersion: 5 },
      { t: 10, kind: 'cluster', nodes: 3, configVersion: 5 },
      { t: 20, kind: 'cluster', nodes: 4, configVersion: 6 },
      { t: 21, kind: 'cluster', nodes: 3, configVersion: 5 },
      { t: 30, kind: 'cluster', nodes: 4, configVersion: 6 },
    ],
    expect: ['notice node_count_changed'],
  },
  {
    name: 'a version change is one notice; a replayed older report does not repeat it',
    steps: [
      { t: 0, kind: 'node', pveVersion: 'pve-manager/8.3.0/aaaa', collectedAt: s(0) },
      { t: 300, kind: 'node', pveVersion: 'pve-manager/8.4.1/bbbb', collectedAt: s(300) },
      { t: 301, kind: 'node', pveVersion: 'pve-manager/8.3.0/aaaa', collectedAt: s(0) },
      { t: 600, kind: 'node', pveVersion: 'pve-manager/8.4.1/bbbb', collectedAt: s(600) },
    ],
    expect: ['notice version_upgraded pve1'],
  },
  {
    name: 'mixed versions are tolerated during the grace period, then fire, then resolve',
    settings: { rules: { version_mismatch: { graceSeconds: 3600 }, agent_silent: { enabled: false } } },
    steps: [
      { t: 0, kind: 'node', node: 'pve1', pveVersion: 'pve-manager/8.4.1/x' },
      { t: 0, kind: 'node', node: 'pve2', pveVersion: 'pve-manager/8.3.0/y' },
      { t: 1800, kind: 'tick' },
      { t: 3601, kind: 'tick' },
      { t: 3700, kind: 'node', node: 'pve2', pveVersion: 'pve-manager/8.4.1/x' },
    ],
    expect: ['fire version_mismatch', 'notice version_upgraded pve2', 'resolve version_mismatch'],
  },
  {
    name: 'a rolling upgrade finished within the grace period raises nothing but the upgrade notices',
    settings: { rules: { agent_silent: { enabled: false } } },
    steps: [
      { t: 0, kind: 'node', node: 'pve1', pveVersion: 'pve-manager/8.3.0/y' },
      { t: 0, kind: 'node', node: 'pve2', pveVersion: 'pve-manager/8.3.0/y' },
      { t: 600, kind: 'node', node: 'pve1', pveVersion: 'pve-manager/8.4.1/x' },
      { t: 1200, kind: 'tick' },
      { t: 1800, kind: 'node', node: 'pve2', pveVersion: 'pve-manager/8.4.1/x' },
      { t: 30000, kind: 'tick' },
    ],
    expect: ['notice version_upgraded pve1', 'notice version_upgraded pve2'],
  },
  {
    name: 'uptime going backwards is a reboot notice',
    steps: [
      { t: 0, kind: 'node', uptimeSeconds: 1000 },
      { t: 300, kind: 'node', uptimeSeconds: 1300 },
      { t: 600, kind: 'node', uptimeSeconds: 40 },
      { t: 900, kind: 'node', uptimeSeconds: 340 },
    ],
    expect: ['notice node_rebooted pve1'],
  },
  {
    name: 'a reboot hidden by a long gap is caught through the boot time',
    steps: [
      { t: 0, kind: 'node', uptimeSeconds: 100, collectedAt: s(0) },
      { t: 3600, kind: 'node', uptimeSeconds: 600, collectedAt: s(3600) },
    ],
    expect: ['notice node_rebooted pve1'],
  },
  {
    name: 'CPU flapping around the trigger does not fire; sustained CPU fires once and clears with hysteresis',
    steps: [
      { t: 0, kind: 'node', cpuRatio: 0.91 },
      { t: 300, kind: 'node', cpuRatio: 0.89 },
      { t: 600, kind: 'node', cpuRatio: 0.91 },
      { t: 900, kind: 'node', cpuRatio: 0.89 },
      { t: 1200, kind: 'node', cpuRatio: 0.95 },
      { t: 1500, kind: 'node', cpuRatio: 0.95 },
      { t: 1800, kind: 'node', cpuRatio: 0.85 },
      { t: 2100, kind: 'node', cpuRatio: 0.92 },
      { t: 2400, kind: 'node', cpuRatio: 0.81 },
      { t: 2700, kind: 'node', cpuRatio: 0.5 },
      { t: 3000, kind: 'node', cpuRatio: 0.5 },
    ],
    expect: ['fire cpu_high pve1', 'resolve cpu_high pve1'],
  },
  {
    name: 'a sustained threshold fires on the timer when the next report is a moment late',
    steps: [
      { t: 0, kind: 'node', cpuRatio: 0.95, intervalSeconds: 300 },
      { t: 299, kind: 'node', cpuRatio: 0.95, intervalSeconds: 300 },
      { t: 305, kind: 'tick' },
    ],
    expect: ['fire cpu_high pve1'],
  },
  {
    name: 'memory, root fs, swap and load thresholds use their own ratios',
    steps: [
      {
        t: 0,
        kind: 'node',
        memUsed: 95,
        memTotal: 100,
        rootfsUsed: 95,
        rootfsTotal: 100,
        swapUsed: 0,
        swapTotal: 0,
      },
      { t: 0, kind: 'node', node: 'pve2', load5: 20, cpuThreads: 8, swapUsed: 9, swapTotal: 10 },
      { t: 600, kind: 'node', memUsed: 95, memTotal: 100, rootfsUsed: 86, rootfsTotal: 100 },
      { t: 600, kind: 'node', node: 'pve2', load5: 20, cpuThreads: 8, swapUsed: 9, swapTotal: 10 },
      { t: 900, kind: 'node', memUsed: 10, memTotal: 100, rootfsUsed: 80, rootfsTotal: 100 },
    ],
    expect: [
      'fire rootfs_high pve1',
      'fire memory_high pve1',
      'fire swap_high pve2',
      'fire load_high pve2',
      'resolve memory_high pve1',
      'resolve rootfs_high pve1',
    ],
  },
  {
    name: 'overrides per node change the trigger',
    settings: { nodes: { 'prod/pve1': { cpu_high: { trigger: 0.5, clear: 0.4, sustainSeconds: 0 } } } },
    steps: [
      { t: 0, kind: 'node', cpuRatio: 0.6 },
      { t: 0, kind: 'node', node: 'pve2', cpuRatio: 0.6 },
    ],
    expect: ['fire cpu_high pve1'],
  },
  {
    name: 'a running guest that stops on its node fires; running again resolves',
    steps: [
      { t: 0, kind: 'guest', status: 'running' },
      { t: 300, kind: 'guest', status: 'stopped' },
      { t: 600, kind: 'guest', status: 'stopped' },
      { t: 900, kind: 'guest', status: 'running' },
    ],
    expect: ['fire guest_stopped pve1', 'resolve guest_stopped pve1'],
  },
  {
    name: 'a migration is not a stopped guest',
    steps: [
      { t: 0, kind: 'guest', status: 'running' },
      { t: 300, kind: 'guest', status: 'stopped', node: 'pve2' },
      { t: 600, kind: 'guest', status: 'running', node: 'pve2' },
      { t: 900, kind: 'guest', status: 'stopped', node: 'pve2', lock: 'migrate' },
    ],
    expect: [],
  },
  {
    name: 'a guest tag override disables guest_stopped for that guest',
    settings: { tags: { lab: { guest_stopped: { enabled: false } } } },
    steps: [
      { t: 0, kind: 'guest', status: 'running', tags: ['lab'] },
      { t: 300, kind: 'guest', status: 'stopped', tags: ['lab'] },
    ],
    expect: [],
  },
];

for (const c of cases) {
  test(c.name, () => {
    assert.deepEqual(run(c.steps, c.settings), c.expect);
  });
}

test('events carry key, severity, summary and start time; resolve keeps the start time', () => {
  const st = createState();
  const a = evaluate(st, fact({ t: 0, kind: 'cluster', quorate: false, reportingNode: 'pve2' }), s(0));
  const fired = a.events[0];
  assert.ok(fired);
  assert.equal(fired.severity, 'critical');
  assert.equal(fired.key, 'quorum_lost|c1||');
  assert.match(fired.summary, /prod has lost quorum \(reported by pve2\)/);
  const b = evaluate(st, fact({ t: 60, kind: 'cluster', quorate: true, reportingNode: 'pve2' }), s(60));
  const resolved = b.events[0];
  assert.ok(resolved);
  assert.equal(resolved.type, 'resolve');
  assert.equal(resolved.startedAt, s(0));
  assert.equal(resolved.at, s(60));
  assert.ok(b.changed.has('a:quorum_lost|c1||'));
});

test('override precedence is default < global < cluster < node < tag', () => {
  const set: AlertSettings = {
    rules: { cpu_high: { trigger: 0.7 } },
    clusters: { prod: { cpu_high: { trigger: 0.75, clear: 0.5 } } },
    nodes: { pve1: { cpu_high: { trigger: 0.8 } } },
  };
  assert.equal(ruleSettings(set, 'cpu_high', {}).trigger, 0.7);
  assert.equal(ruleSettings(set, 'cpu_high', {}).clear, 0.8);
  assert.equal(ruleSettings(set, 'cpu_high', { clusterName: 'prod' }).trigger, 0.75);
  const n = ruleSettings(set, 'cpu_high', { clusterName: 'prod', node: 'pve1' });
  assert.equal(n.trigger, 0.8);
  assert.equal(n.clear, 0.5);
});

test('evaluation touches only the entries of the reporting node, whatever the fleet size', () => {
  const st = createState();
  for (let i = 0; i < 2000; i++)
    evaluate(st, fact({ t: 0, kind: 'node', node: `n${i}`, cpuRatio: 0.1 }), s(0));
  const r = evaluate(st, fact({ t: 300, kind: 'node', node: 'n5', cpuRatio: 0.2 }), s(300));
  assert.deepEqual([...r.changed].sort(), ['n:c1\u0000n5']);
});

test('a guest retired as gone resolves its stopped alert and leaves the state', () => {
  const st = createState();
  run(
    [
      { t: 0, kind: 'guest', status: 'running' },
      { t: 300, kind: 'guest', status: 'stopped' },
    ],
    {},
    st,
  );
  const r = evaluate(st, { kind: 'guest_gone', clusterId: 'c1', vmid: 100, at: s(600) }, s(600));
  assert.deepEqual(
    r.events.map((e) => `${e.type} ${e.rule}`),
    ['resolve guest_stopped'],
  );
  assert.equal(st.guests.size, 0);
  assert.ok(r.changed.has('g:c1\u0000100'));
});

test('a standalone node is named "standalone" in summaries, never by its internal site id', () => {
  const st = createState();
  const settings: AlertSettings = { rules: { rootfs_high: { sustainSeconds: 0 } } };
  const node = { clusterId: 'site-uuid-1234', clusterName: undefined, node: 'pve-solo' };
  const full = { rootfsUsed: 95, rootfsTotal: 100 };
  const r = evaluate(st, fact({ t: 0, kind: 'node', ...node, ...full }), s(0), settings);
  const again = evaluate(st, fact({ t: 60, kind: 'node', ...node, ...full }), s(60), settings);
  const fired = [...r.events, ...again.events].find((e) => e.rule === 'rootfs_high');
  assert.ok(fired, 'rootfs_high fired');
  assert.match(fired.summary, /on node pve-solo \(standalone\)/);
  assert.doesNotMatch(fired.summary, /site-uuid-1234/);
});

/** Membership scenarios: three agents with the watch and heartbeats on (interval 300 s, heartbeat 60 s). */
const trio = ['pve1', 'pve2', 'pve3'];
const sees = (...online: string[]) => trio.map((name) => ({ name, online: online.includes(name) }));
const beat = (t: number, node: string): Step => ({
  t,
  kind: 'node',
  node,
  intervalSeconds: 300,
  heartbeatSeconds: 60,
});
const view = (t: number, reporter: string, quorate: boolean, online: string[]): Step => ({
  t,
  kind: 'cluster',
  reportingNode: reporter,
  quorate,
  members: sees(...online),
  collectedAt: s(t),
});
const healthy = (t: number): Step[] => trio.flatMap((r) => [beat(t, r), view(t, r, true, trio)]);

test("the demo's quorum loss (every node isolated, reports alternating for 36 s): one quorum_lost, no node_offline", () => {
  const steps: Step[] = [...healthy(0)];
  // Each isolated agent reports what its partition of one sees, in turns, again and again.
  for (let i = 0, t = 10; t <= 46; i += 1, t += 3) {
    const r = trio[i % 3] as string;
    steps.push(beat(t, r), view(t, r, false, [r]));
    if (i % 3 === 2) steps.push({ t, kind: 'tick' });
  }
  steps.push(...healthy(50), { t: 60, kind: 'tick' });
  const out = run(steps);
  assert.deepEqual(out, ['fire quorum_lost', 'resolve quorum_lost']);
});

test('the quorum_lost summary names the partitions', () => {
  const state = createState();
  run([...healthy(0), beat(10, 'pve3'), view(10, 'pve3', false, ['pve3'])], {}, state);
  const r = evaluate(state, fact(view(11, 'pve1', true, ['pve1', 'pve2'])), s(11));
  assert.equal(r.events.length, 0);
  assert.match(state.active.get('quorum_lost|c1||')?.summary ?? '', /partitions: .*\{pve3\}/);
});

test('a node cut off alone from a quorate majority fires node_offline once while the reports alternate', () => {
  const steps: Step[] = [...healthy(0)];
  for (let t = 10; t < 300; t += 20) {
    steps.push(beat(t, 'pve3'), view(t, 'pve3', false, ['pve3']));
    steps.push(beat(t + 1, 'pve1'), view(t + 1, 'pve1', true, ['pve1', 'pve2']));
    steps.push(beat(t + 2, 'pve2'), view(t + 2, 'pve2', true, ['pve1', 'pve2']));
    steps.push({ t: t + 5, kind: 'tick' });
  }
  steps.push(...healthy(300));
  // On the heal, the quorate side's first view that sees pve3 again places it back at once
  // (node_offline resolves); quorum_lost waits for pve3's own view to say quorate.
  assert.deepEqual(run(steps), [
    'fire quorum_lost',
    'fire node_offline pve3',
    'resolve node_offline pve3',
    'resolve quorum_lost',
  ]);
});

test('a dead node (the quorate partition sees it offline, its agent quiet) is node_offline within seconds', () => {
  const steps: Step[] = [
    ...healthy(0),
    // pve3 dies: the two survivors' watches report at once; pve3 says nothing more.
    beat(5, 'pve1'),
    view(5, 'pve1', true, ['pve1', 'pve2']),
    beat(6, 'pve2'),
    view(6, 'pve2', true, ['pve1', 'pve2']),
  ];
  const state = createState();
  const out = run(steps, {}, state);
  assert.deepEqual(out, ['fire node_offline pve3']);
  // and its agent's silence later does not add agent_silent; its return resolves once
  assert.deepEqual(
    run(
      [
        ...[100, 200, 300, 390].flatMap((t) => [beat(t, 'pve1'), beat(t, 'pve2')]),
        { t: 400, kind: 'tick' },
        beat(410, 'pve3'),
        ...trio.map((r) => view(410, r, true, trio)),
        { t: 420, kind: 'tick' },
      ],
      {},
      state,
    ),
    ['resolve node_offline pve3'],
  );
});

test('one survivor seeing a node offline once is not yet an outage; the node’s silence confirms it', () => {
  const state = createState();
  // pve2 has no agent: pve1 is the quorate partition's only reporter.
  const start = ['pve1', 'pve3'].flatMap((r) => [beat(0, r), view(0, r, true, trio)]);
  const first = run([...start, beat(5, 'pve1'), view(5, 'pve1', true, ['pve1', 'pve2'])], {}, state);
  assert.deepEqual(first, []);
  // pve3 stops beating: 150 s after its last word its silence confirms, on the timer.
  assert.deepEqual(run([beat(60, 'pve1'), { t: 100, kind: 'tick' }], {}, state), []);
  assert.deepEqual(run([beat(120, 'pve1'), { t: 160, kind: 'tick' }], {}, state), ['fire node_offline pve3']);
});

test('with heartbeats, a standalone node whose agent dies is agent_silent within 3 minutes, on the timer', () => {
  const steps: Step[] = [{ t: 0, kind: 'node', node: 'solo', intervalSeconds: 300, heartbeatSeconds: 60 }];
  for (let t = 10; t <= 180; t += 10) steps.push({ t, kind: 'tick' });
  const state = createState();
  const out: string[] = [];
  for (const st of steps) {
    const r = evaluate(state, fact(st), s(st.t));
    for (const e of r.events) out.push(`${st.t} ${e.type} ${e.rule}`);
  }
  assert.deepEqual(out, ['160 fire agent_silent']);
});
