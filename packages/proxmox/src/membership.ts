/**
 * One truth from many views of a cluster's membership (pure).
 *
 * Every agent of a cluster reports what *its* corosync partition sees: `/cluster/status` (or
 * `.members`) lists the nodes of the reporter's own partition as online and everybody else as
 * offline, and `quorate` says whether that partition holds quorum. During a network split the views
 * disagree — each isolated node says its peers are offline — so "the last report wins" makes node
 * states flap. This module keeps every reporter's latest view apart and derives:
 * - the partitions: newest view first, each view's reporter with the members it sees online that no
 *   newer view placed (a ring is symmetric, so newer sight outweighs older);
 * - the quorate partition, if one exists;
 * - a state for every node: `online`, `offline`, `partitioned` or `silent`.
 *
 * Corosync semantics behind the rules (PVE 7/8, corosync 3): a node's view marks online exactly
 * the members of its own totem ring membership; only a partition with more than half of the
 * expected votes is quorate, so at most one partition can be quorate at a time. Two "quorate"
 * partitions can only appear here through a stale view taken before the split settled; the newer
 * claim is trusted.
 */

/** The latest membership view one node's agent reported. */
export interface MembershipView {
  /** the node whose agent sent the view */
  reporter: string;
  /** when the server received it (ms since the epoch) */
  at: number;
  quorate: boolean;
  members: ReadonlyArray<{ name: string; online: boolean }>;
  /** this view's own freshness window (ms), overriding `viewMaxAgeMs` (reporters differ in interval) */
  maxAgeMs?: number;
}

/** What the server knows of one node's own agent. */
export interface NodeLiveness {
  name: string;
  /** the last report of any kind from this node's agent (ms since the epoch); absent: no agent */
  lastReportAt?: number | undefined;
}

export type NodeState = 'online' | 'offline' | 'partitioned' | 'silent';

export interface Partition {
  /** every node of the partition, sorted */
  nodes: string[];
  /** the nodes of the partition whose agents sent a fresh view, sorted */
  reporters: string[];
  quorate: boolean;
}

export interface NodeMembership {
  name: string;
  state: NodeState;
  /** reporters whose fresh view lists this node online / offline */
  seenOnlineBy: string[];
  seenOfflineBy: string[];
  /** whether the node's own agent reported within the silence window */
  reporting: boolean;
  /**
   * The quorate partition has just lost the node and its agent has not spoken since: dead, or cut
   * off and about to say so. Its state is `offline` meanwhile; a caller recording transitions
   * waits until this is false (then it is `partitioned` or still `offline`), so neither a dead node
   * nor a cut-off one gets an event it takes back seconds later.
   */
  settling: boolean;
}

export interface Membership {
  partitions: Partition[];
  /** index into `partitions`, or null when no partition holds quorum */
  quorate: number | null;
  /** more than one partition, or none quorate while views exist */
  split: boolean;
  nodes: NodeMembership[];
  /** the views that counted (fresh, the newest per reporter), sorted by reporter */
  views: MembershipView[];
}

export interface MembershipInput {
  views: readonly MembershipView[];
  nodes: readonly NodeLiveness[];
  now: number;
  /** a view older than this no longer describes the cluster (ms) */
  viewMaxAgeMs: number;
  /** an agent quiet for longer than this is silent (ms) */
  silentAfterMs: number;
  /** per node override of `silentAfterMs` (an agent with a heartbeat is silent sooner) */
  silentAfterMsOf?: (name: string) => number | undefined;
  /**
   * How soon a live agent of this node speaks again (ms): after the quorate partition lost the node,
   * this long without a word from it means it is down, not cut off. Default: its silence window.
   */
  replyWithinMsOf?: (name: string) => number | undefined;
}

const sorted = (xs: Iterable<string>): string[] => [...new Set(xs)].sort();

/**
 * A node outside the quorate partition whose own view still shows it with the quorate partition's
 * nodes, while newer views of that partition see it offline, has not confirmed the split: it may
 * be dead (its last words were "we are all fine") or cut off with its report on the way. Once it
 * stays quiet for its reply window after the loss, it is taken for dead: its view stops counting
 * and it is `offline` (a second pass without its view).
 */
export function deriveMembership(input: MembershipInput): Membership {
  const first = deriveOnce(input, new Set());
  const gone = new Set(first.nodes.filter((n) => n.gone).map((n) => n.name));
  return strip(gone.size === 0 ? first : deriveOnce(input, gone));
}

type Derived = Omit<Membership, 'nodes'> & { nodes: (NodeMembership & { gone: boolean })[] };
const strip = (m: Derived): Membership => ({
  ...m,
  nodes: m.nodes.map(({ gone: _gone, ...n }) => n),
});

function deriveOnce(input: MembershipInput, gone: ReadonlySet<string>): Derived {
  const { now } = input;
  const lastReport = new Map(input.nodes.map((n) => [n.name, n.lastReportAt]));
  const reporting = (name: string): boolean => {
    const at = lastReport.get(name);
    return at !== undefined && now - at <= (input.silentAfterMsOf?.(name) ?? input.silentAfterMs);
  };
  const fresh = new Map<string, MembershipView>();
  for (const v of input.views) {
    if (now - v.at > (v.maxAgeMs ?? input.viewMaxAgeMs)) continue;
    // A view stands only while its reporter's agent is alive: a dead node must not keep vouching
    // for itself (and for peers it saw) through its last words.
    if (lastReport.get(v.reporter) !== undefined && !reporting(v.reporter)) continue;
    if (gone.has(v.reporter)) continue;
    const prev = fresh.get(v.reporter);
    if (!prev || prev.at < v.at) fresh.set(v.reporter, v);
  }
  const onlineIn = (v: MembershipView, name: string): boolean =>
    v.members.some((m) => m.name === name && m.online);

  const all = new Set<string>(input.nodes.map((n) => n.name));
  for (const v of fresh.values()) {
    all.add(v.reporter);
    for (const m of v.members) all.add(m.name);
  }

  // Newest view first: a corosync view is the reporter's whole ring at the time it was sent, and a
  // ring is symmetric, so a newer view that places a node outweighs that node's own older view.
  // Each view forms a partition of its reporter and the members it sees online that no newer view
  // placed yet; a reporter a newer view placed adds its (superseded) view to that partition only
  // as a reporter. Why not "reporters that see each other online" (mutual sight, transitively)?
  // While a split settles, the views not yet updated still see everybody: two of them, one on each
  // side, chained the new majority and the new minority into one partition whose newest view
  // (the minority's) said "not quorate", so the majority flapped partitioned → online and the
  // minority partitioned → online → partitioned.
  const newestFirst = [...fresh.values()].sort(
    (a, b) => b.at - a.at || (a.reporter < b.reporter ? -1 : a.reporter > b.reporter ? 1 : 0),
  );
  const placed = new Map<
    string,
    { nodes: Set<string>; reporters: Set<string>; quorate: boolean; at: number }
  >();
  const groups: { nodes: Set<string>; reporters: Set<string>; quorate: boolean; at: number }[] = [];
  for (const v of newestFirst) {
    const home = placed.get(v.reporter);
    if (home) {
      home.reporters.add(v.reporter);
      continue;
    }
    const g = {
      nodes: new Set([v.reporter]),
      reporters: new Set([v.reporter]),
      quorate: v.quorate,
      at: v.at,
    };
    placed.set(v.reporter, g);
    for (const m of v.members) {
      if (!m.online || placed.has(m.name)) continue;
      g.nodes.add(m.name);
      placed.set(m.name, g);
    }
    groups.push(g);
  }

  // A partition's quorum is what its newest view says. When two claim quorum (a stale view from
  // before the split), the newer claim wins: at the time it was sent it was the only quorate ring.
  const partitions: (Partition & { at: number })[] = groups.map((g) => ({
    nodes: sorted(g.nodes),
    reporters: sorted(g.reporters),
    quorate: g.quorate,
    at: g.at,
  }));
  partitions.sort(
    (a, b) => Number(b.quorate) - Number(a.quorate) || b.at - a.at || b.nodes.length - a.nodes.length,
  );
  // Only one partition can hold quorum; a second "quorate" one is a stale view from before the split.
  const quorateIdx = partitions.findIndex((p) => p.quorate);
  partitions.forEach((p, i) => {
    if (i !== quorateIdx) p.quorate = false;
  });
  const quoratePart = quorateIdx >= 0 ? partitions[quorateIdx] : undefined;
  const partitionsOut: Partition[] = partitions.map(({ nodes, reporters, quorate }) => ({
    nodes,
    reporters,
    quorate,
  }));
  const partitionOf = (name: string): Partition | undefined => partitions.find((p) => p.nodes.includes(name));

  /**
   * When the quorate partition lost `name` while its own view still shows it with them and no newer
   * view from elsewhere sees it alive (undefined otherwise).
   */
  const lostAt = (name: string): number | undefined => {
    const own = fresh.get(name);
    if (!own || !quoratePart || quoratePart.nodes.includes(name)) return undefined;
    const withThem = own.members.some(
      (m) => m.online && m.name !== name && quoratePart.nodes.includes(m.name),
    );
    if (!withThem) return undefined;
    // a newer view from outside the quorate partition that sees it online: alive over there
    const vouched = [...fresh.values()].some(
      (v) =>
        v.at > own.at && v.reporter !== name && !quoratePart.nodes.includes(v.reporter) && onlineIn(v, name),
    );
    if (vouched) return undefined;
    const ats = quoratePart.reporters
      .map((r) => fresh.get(r) as MembershipView)
      .filter((v) => v.at > own.at && v.members.some((m) => m.name === name && !m.online))
      .map((v) => v.at);
    return ats.length > 0 ? Math.min(...ats) : undefined;
  };

  const nodes = sorted(all).map((name) => {
    const seenOnlineBy = sorted([...fresh.values()].filter((v) => onlineIn(v, name)).map((v) => v.reporter));
    const seenOfflineBy = sorted(
      [...fresh.values()]
        .filter((v) => v.members.some((m) => m.name === name && !m.online))
        .map((v) => v.reporter),
    );
    const alive = reporting(name);
    const hasAgent = lastReport.get(name) !== undefined;
    const lost = lostAt(name);
    const spokeSince = lost !== undefined && (lastReport.get(name) ?? 0) > lost;
    const replyWithin = input.replyWithinMsOf?.(name) ?? input.silentAfterMsOf?.(name) ?? input.silentAfterMs;
    let state: NodeState;
    let settling = false;
    let dead = false;
    if (fresh.size === 0) {
      // No cluster view at all (a standalone node, or every agent quiet): its own agent decides.
      state = alive ? 'online' : 'offline';
    } else if (quoratePart?.nodes.includes(name)) {
      state = hasAgent && !alive ? 'silent' : 'online';
    } else if (gone.has(name)) {
      state = 'offline';
    } else if (lost !== undefined) {
      // Unconfirmed: its own view still shows it with the quorate partition. Within the reply
      // window it is settling: `offline` (what the quorate partition says) or, once its agent spoke
      // again, `partitioned` — but its next view may still say it is back (a rebooted node's
      // start-up report comes just before its view), so nothing is final yet. After the window: a
      // node that spoke is cut off, one that did not is dead.
      settling = now - lost < replyWithin;
      state = spokeSince ? 'partitioned' : 'offline';
      dead = !settling && !spokeSince;
    } else if (alive || partitionOf(name)) {
      // Alive outside the quorate partition: its own agent reports, or a partition of live
      // reporters sees it online (a node without an agent in the minority is not down either).
      state = 'partitioned';
    } else {
      state = 'offline';
    }
    return { name, state, seenOnlineBy, seenOfflineBy, reporting: alive, settling, gone: dead };
  });

  return {
    partitions: partitionsOut,
    quorate: quorateIdx >= 0 ? quorateIdx : null,
    split: partitions.length > 1 || (fresh.size > 0 && quorateIdx < 0),
    nodes,
    views: [...fresh.values()].sort((a, b) => (a.reporter < b.reporter ? -1 : 1)),
  };
}
