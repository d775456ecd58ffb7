import { test } from '@nanny/testing';
import assert from 'node:assert/strict';
import { deriveMembership, type MembershipInput, type MembershipView, type NodeState } from './membership.ts';

const NOW = 1_000_000_000;
const WINDOWS = { viewMaxAgeMs: 30_000, silentAfterMs: 150_000 };

/** A view as a node of an n-node cluster reports it: `sees` online, the rest offline. */
const view = (
  reporter: string,
  sees: string[],
  quorate: boolean,
  ageMs = 1_000,
  all = ['a', 'b', 'c'],
): MembershipView => ({
  reporter,
  at: NOW - ageMs,
  quorate,
  members: all.map((name) => ({ name, online: sees.includes(name) })),
});
const alive = (...names: string[]) => names.map((name) => ({ name, lastReportAt: NOW - 2_000 }));
const quiet = (...names: string[]) => names.map((name) => ({ name, lastReportAt: NOW - 600_000 }));
const states = (
  input: Omit<MembershipInput, 'now' | 'viewMaxAgeMs' | 'silentAfterMs'>,
): Record<string, NodeState> =>
  Object.fromEntries(
    deriveMembership({ ...input, now: NOW, ...WINDOWS }).nodes.map((n) => [n.name, n.state]),
  );

test('a healthy cluster is one quorate partition with every node online', () => {
  const m = deriveMembership({
    views: ['a', 'b', 'c'].map((r) => view(r, ['a', 'b', 'c'], true)),
    nodes: alive('a', 'b', 'c'),
    now: NOW,
    ...WINDOWS,
  });
  assert.deepEqual(m.partitions, [{ nodes: ['a', 'b', 'c'], reporters: ['a', 'b', 'c'], quorate: true }]);
  assert.equal(m.quorate, 0);
  assert.equal(m.split, false);
  assert.deepEqual(
    m.nodes.map((n) => n.state),
    ['online', 'online', 'online'],
  );
});

test('a full three-way split: every live node is partitioned, none offline, no quorate partition', () => {
  const m = deriveMembership({
    views: [view('a', ['a'], false), view('b', ['b'], false), view('c', ['c'], false)],
    nodes: alive('a', 'b', 'c'),
    now: NOW,
    ...WINDOWS,
  });
  assert.equal(m.partitions.length, 3);
  assert.equal(m.quorate, null);
  assert.equal(m.split, true);
  assert.deepEqual(
    m.nodes.map((n) => n.state),
    ['partitioned', 'partitioned', 'partitioned'],
  );
  assert.deepEqual(m.nodes.find((n) => n.name === 'a')?.seenOfflineBy, ['b', 'c']);
});

test('a node cut off alone from a quorate majority is partitioned, and the majority sees it offline', () => {
  const m = deriveMembership({
    views: [view('a', ['a', 'b'], true), view('b', ['a', 'b'], true), view('c', ['c'], false)],
    nodes: alive('a', 'b', 'c'),
    now: NOW,
    ...WINDOWS,
  });
  assert.deepEqual(m.partitions[0], { nodes: ['a', 'b'], reporters: ['a', 'b'], quorate: true });
  assert.deepEqual(m.partitions[1], { nodes: ['c'], reporters: ['c'], quorate: false });
  const c = m.nodes.find((n) => n.name === 'c');
  assert.equal(c?.state, 'partitioned');
  assert.deepEqual(c?.seenOfflineBy, ['a', 'b']);
});

test('a dead node (the quorate partition sees it offline, its agent quiet) is offline', () => {
  assert.deepEqual(
    states({
      views: [view('a', ['a', 'b'], true), view('b', ['a', 'b'], true)],
      nodes: [...alive('a', 'b'), ...quiet('c')],
    }),
    { a: 'online', b: 'online', c: 'offline' },
  );
});

test('a node whose agent is quiet while its peers see it online is silent, not offline', () => {
  assert.deepEqual(
    states({
      views: [view('a', ['a', 'b', 'c'], true), view('b', ['a', 'b', 'c'], true)],
      nodes: [...alive('a', 'b'), ...quiet('c')],
    }),
    { a: 'online', b: 'online', c: 'silent' },
  );
});

test('a node without an agent counts as online when the quorate partition sees it', () => {
  assert.deepEqual(
    states({
      views: [view('a', ['a', 'b', 'c'], true), view('b', ['a', 'b', 'c'], true)],
      nodes: alive('a', 'b'),
    }),
    { a: 'online', b: 'online', c: 'online' },
  );
});

test('a view older than the window is ignored: a dead reporter does not vouch for itself', () => {
  const m = deriveMembership({
    views: [
      view('a', ['a', 'b'], true),
      view('b', ['a', 'b'], true),
      view('c', ['a', 'b', 'c'], true, 60_000),
    ],
    nodes: [...alive('a', 'b'), ...quiet('c')],
    now: NOW,
    ...WINDOWS,
  });
  assert.equal(m.nodes.find((n) => n.name === 'c')?.state, 'offline');
  assert.deepEqual(m.nodes.find((n) => n.name === 'c')?.seenOnlineBy, []);
});

test('only one partition is quorate: a stale "quorate" minority view loses to the larger partition', () => {
  const m = deriveMembership({
    views: [
      view('a', ['a', 'b'], true, 2_000),
      view('b', ['a', 'b'], true, 2_000),
      view('c', ['c'], true, 20_000),
    ],
    nodes: alive('a', 'b', 'c'),
    now: NOW,
    ...WINDOWS,
  });
  assert.deepEqual(
    m.partitions.map((p) => p.quorate),
    [true, false],
  );
  assert.equal(m.nodes.find((n) => n.name === 'c')?.state, 'partitioned');
});

test('without any cluster view a node is online while its agent reports and offline when it is quiet', () => {
  assert.deepEqual(states({ views: [], nodes: alive('solo') }), { solo: 'online' });
  assert.deepEqual(states({ views: [], nodes: quiet('solo') }), { solo: 'offline' });
});

test('the order in which views arrive does not change the result (no last-report-wins flapping)', () => {
  const views = [view('a', ['a', 'b'], true), view('b', ['a', 'b'], true), view('c', ['c'], false)];
  const nodes = alive('a', 'b', 'c');
  const one = deriveMembership({ views, nodes, now: NOW, ...WINDOWS });
  for (const order of [
    [2, 0, 1],
    [1, 2, 0],
    [2, 1, 0],
  ]) {
    const shuffled = order.map((i) => views[i] as MembershipView);
    assert.deepEqual(deriveMembership({ views: shuffled, nodes, now: NOW, ...WINDOWS }), one);
  }
});

test('only the newest view of a reporter counts', () => {
  const m = deriveMembership({
    views: [
      view('a', ['a'], false, 5_000),
      view('a', ['a', 'b', 'c'], true, 1_000),
      view('b', ['a', 'b', 'c'], true),
    ],
    nodes: alive('a', 'b', 'c'),
    now: NOW,
    ...WINDOWS,
  });
  assert.equal(m.split, false);
  assert.deepEqual(m.partitions[0]?.nodes, ['a', 'b', 'c']);
});

test('a silent reporter does not vouch for itself even while its view is within the window', () => {
  const m = deriveMembership({
    views: [
      view('a', ['a', 'b'], true),
      view('b', ['a', 'b'], true),
      view('c', ['a', 'b', 'c'], true, 20_000),
    ],
    nodes: [...alive('a', 'b'), { name: 'c', lastReportAt: NOW - 20_000 }],
    now: NOW,
    ...WINDOWS,
    silentAfterMsOf: (name) => (name === 'c' ? 10_000 : undefined),
  });
  assert.equal(m.nodes.find((n) => n.name === 'c')?.state, 'offline');
  assert.equal(m.split, false);
});

test('a view carries its own freshness window (a reporter with a long interval)', () => {
  const m = deriveMembership({
    views: [{ ...view('a', ['a', 'b', 'c'], true, 100_000), maxAgeMs: 750_000 }],
    nodes: alive('a'),
    now: NOW,
    ...WINDOWS,
  });
  assert.deepEqual(m.partitions[0]?.nodes, ['a', 'b', 'c']);
});

test('a node without an agent that a minority partition sees online is partitioned, not offline', () => {
  assert.deepEqual(
    states({
      views: [
        view('a', ['a', 'b'], true, 1_000, ['a', 'b', 'c', 'd']),
        view('b', ['a', 'b'], true, 1_000, ['a', 'b', 'c', 'd']),
        view('c', ['c', 'd'], false, 1_000, ['a', 'b', 'c', 'd']),
      ],
      nodes: alive('a', 'b', 'c'),
    }),
    { a: 'online', b: 'online', c: 'partitioned', d: 'partitioned' },
  );
});

/**
 * Every agent reports its new view within one watch interval, in any order; until it does, its old
 * view still counts. Replays `before` → `after` one reporter at a time in every order (each agent's
 * last report is its view's) and returns each node's states along the way as a caller recording
 * transitions sees them: without repeats, skipping `settling` states.
 */
function settle(
  all: string[],
  before: Record<string, [string[], boolean]>,
  after: Record<string, [string[], boolean]>,
): Map<string, Set<string>> {
  const perms = (xs: string[]): string[][] =>
    xs.length <= 1
      ? [xs]
      : xs.flatMap((x, i) => perms([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
  const paths = new Map<string, Set<string>>();
  for (const order of perms(all)) {
    const views = new Map(all.map((r) => [r, view(r, ...before[r]!, 29_000, all)]));
    const seq = new Map<string, string[]>(all.map((n) => [n, []]));
    const step = () => {
      const nodes = [...views.values()].map((v) => ({ name: v.reporter, lastReportAt: v.at }));
      const m = deriveMembership({ views: [...views.values()], nodes, now: NOW, ...WINDOWS });
      for (const n of m.nodes) {
        const s = seq.get(n.name)!;
        if (!n.settling && s.at(-1) !== n.state) s.push(n.state);
      }
    };
    step();
    order.forEach((r, i) => {
      views.set(r, view(r, ...after[r]!, 20_000 - i * 1_000, all));
      step();
    });
    for (const [n, s] of seq) paths.set(n, new Set([...(paths.get(n) ?? []), s.join(' → ')]));
  }
  return paths;
}
const FIVE = ['pve1', 'pve2', 'pve3', 'pve4', 'pve5'];
const ring = (nodes: string[], quorate: boolean) =>
  Object.fromEntries(nodes.map((n) => [n, [nodes, quorate] as [string[], boolean]]));

test('a 3+2 split settling in any report order: the majority stays online, the minority goes partitioned once', () => {
  const paths = settle(FIVE, ring(FIVE, true), {
    ...ring(['pve1', 'pve2', 'pve3'], true),
    ...ring(['pve4', 'pve5'], false),
  });
  for (const n of ['pve1', 'pve2', 'pve3']) assert.deepEqual([...paths.get(n)!], ['online'], n);
  for (const n of ['pve4', 'pve5']) assert.deepEqual([...paths.get(n)!], ['online → partitioned'], n);
});

test('a 3+2 split healing in any report order: each minority node rejoins once, the majority stays online', () => {
  const paths = settle(
    FIVE,
    { ...ring(['pve1', 'pve2', 'pve3'], true), ...ring(['pve4', 'pve5'], false) },
    ring(FIVE, true),
  );
  for (const n of ['pve1', 'pve2', 'pve3']) assert.deepEqual([...paths.get(n)!], ['online'], n);
  for (const n of ['pve4', 'pve5']) assert.deepEqual([...paths.get(n)!], ['partitioned → online'], n);
});

test('a 2+2 split of four nodes, and its heal, in any report order: no node changes state twice', () => {
  const four = ['pve1', 'pve2', 'pve3', 'pve4'];
  const split = { ...ring(['pve1', 'pve2'], false), ...ring(['pve3', 'pve4'], false) };
  for (const [from, to, end] of [
    [ring(four, true), split, 'partitioned'],
    [split, ring(four, true), 'online'],
  ] as const) {
    for (const [n, ps] of settle(four, from, to)) {
      for (const p of ps) {
        const s = p.split(' → ');
        assert.equal(s.at(-1), end, `${n}: ${p}`);
        assert.equal(new Set(s).size, s.length, `${n} goes back to a state: ${p}`);
      }
    }
  }
});

test('of two partitions claiming quorum, the newer claim wins, whatever their sizes', () => {
  // pve1 (the only agent of the majority) has reported the split; the minority's agents have not
  const m = deriveMembership({
    views: [
      view('pve1', ['pve1', 'pve2', 'pve3'], true, 1_000, FIVE),
      ...['pve4', 'pve5'].map((r) => view(r, FIVE, true, 9_000, FIVE)),
    ],
    nodes: alive('pve1', 'pve4', 'pve5'),
    now: NOW,
    ...WINDOWS,
  });
  assert.deepEqual(m.partitions, [
    { nodes: ['pve1', 'pve2', 'pve3'], reporters: ['pve1'], quorate: true },
    { nodes: ['pve4', 'pve5'], reporters: ['pve4', 'pve5'], quorate: false },
  ]);
});

test('a node the quorate partition lost, quiet since: offline (settling) in its reply window, then its last words stop counting', () => {
  const at = (ageMs: number) => ({
    views: [
      // c's last words, before it died: all fine
      view('c', ['a', 'b', 'c'], true, 20_000),
      view('a', ['a', 'b'], true, ageMs),
      view('b', ['a', 'b'], true, ageMs - 500),
    ],
    nodes: [...alive('a', 'b'), { name: 'c', lastReportAt: NOW - 20_000 }],
    now: NOW,
    ...WINDOWS,
    replyWithinMsOf: () => 15_000,
  });
  const soon = deriveMembership(at(10_000));
  const c1 = soon.nodes.find((n) => n.name === 'c');
  assert.deepEqual([c1?.state, c1?.settling], ['offline', true], 'the quorate partition says offline');
  const later = deriveMembership(at(18_000));
  const c2 = later.nodes.find((n) => n.name === 'c');
  assert.deepEqual([c2?.state, c2?.settling], ['offline', false]);
  assert.deepEqual(c2?.seenOnlineBy, [], 'its own stale view no longer counts');
  assert.deepEqual(later.partitions, [{ nodes: ['a', 'b'], reporters: ['a', 'b'], quorate: true }]);
  assert.equal(later.split, false);
  // without a reply window of its own, the node's silence window is the limit
  const { replyWithinMsOf: _, ...noReply } = at(18_000);
  assert.equal(deriveMembership(noReply).nodes.find((n) => n.name === 'c')?.settling, true);
});

test('a node the quorate partition lost that spoke since: partitioned at once with its own new view; with only a heartbeat, settling until its reply window ends', () => {
  const base = {
    now: NOW,
    ...WINDOWS,
    replyWithinMsOf: () => 15_000,
  };
  // a heartbeat says alive, not where: its view may still say it is back (a rebooted node's
  // start-up node report comes just before its cluster report)
  const lostAgo = (ms: number) =>
    deriveMembership({
      ...base,
      views: [
        view('c', ['a', 'b', 'c'], true, 25_000),
        view('a', ['a', 'b'], true, ms),
        view('b', ['a', 'b'], true, ms),
      ],
      nodes: [...alive('a', 'b'), { name: 'c', lastReportAt: NOW - 5_000 }],
    }).nodes.find((n) => n.name === 'c');
  assert.deepEqual([lostAgo(10_000)?.state, lostAgo(10_000)?.settling], ['partitioned', true]);
  assert.deepEqual([lostAgo(18_000)?.state, lostAgo(18_000)?.settling], ['partitioned', false]);
  const own = deriveMembership({
    ...base,
    views: [
      view('c', ['c'], false, 8_000),
      view('a', ['a', 'b'], true, 10_000),
      view('b', ['a', 'b'], true, 10_000),
    ],
    nodes: [...alive('a', 'b'), { name: 'c', lastReportAt: NOW - 8_000 }],
  });
  const c2 = own.nodes.find((n) => n.name === 'c');
  assert.deepEqual([c2?.state, c2?.settling], ['partitioned', false]);
});

test('a node whose own agent is gone but whose minority peers see it online is partitioned, not dead', () => {
  const m = deriveMembership({
    views: [
      view('pve1', ['pve1', 'pve2', 'pve3'], true, 12_000, FIVE),
      view('pve2', ['pve1', 'pve2', 'pve3'], true, 12_000, FIVE),
      view('pve4', ['pve4', 'pve5'], false, 10_000, FIVE),
      // pve5's agent crashed before the split: its last view still shows everybody
      view('pve5', FIVE, true, 25_000, FIVE),
    ],
    nodes: [...alive('pve1', 'pve2', 'pve4'), { name: 'pve5', lastReportAt: NOW - 25_000 }],
    now: NOW,
    ...WINDOWS,
    replyWithinMsOf: () => 5_000,
  });
  const pve5 = m.nodes.find((n) => n.name === 'pve5');
  assert.deepEqual([pve5?.state, pve5?.settling], ['partitioned', false]);
  assert.deepEqual(m.partitions[1], { nodes: ['pve4', 'pve5'], reporters: ['pve4', 'pve5'], quorate: false });
});
