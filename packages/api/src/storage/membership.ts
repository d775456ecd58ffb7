/**
 * Membership slice: every reporter's latest view of its cluster, each node's own-agent liveness, and
 * the node states derived from them (deriveMembership, windows from domain/liveness.ts) with since
 * when each holds. Ingest calls the `record*` / `refreshMembership` helpers inside its transaction;
 * the reads derive again at the time they are asked (`now` comes in: storage reads no clock).
 */
import { deriveMembership, type Membership, type NodeState } from '@nanny/proxmox';
import {
  DEFAULT_REPORT_INTERVAL_SECONDS as DEF,
  derivedQuorate,
  replyWindowMs,
  silenceWindowMs,
  viewWindowMs,
} from '../domain/liveness.ts';
import type { EventDraft } from '../domain/derive.ts';
import type { JobContext } from './ingest-context.ts';
import type { Db, Trx } from './sql.ts';
import type { ClusterMembership, MembershipStore } from './storage.ts';

type ViewRow = { reporter: string; received_at: string; quorate: number; members: string };
type NodeRow = {
  name: string;
  last_report_at: string | null;
  interval_seconds: number | null;
  heartbeat_seconds: number | null;
  state: string | null;
  since: string | null;
};

const ms = (iso: string): number => Date.parse(iso);
const opt = (v: number | null): number | undefined => v ?? undefined;
const parseMembers = (text: string): { name: string; online: boolean }[] => {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? (v as { name: string; online: boolean }[]) : [];
  } catch {
    return [];
  }
};

/** The latest of ISO times (the first is always there; nulls and non-times are left out). */
function newest([first, ...rest]: [string, ...(string | null)[]]): string {
  let out = first;
  for (const t of rest) if (t !== null && ms(t) > ms(out)) out = t;
  return out;
}

/** Derives a cluster's membership from its stored rows at `now` (pure). */
function derive(views: ViewRow[], nodes: NodeRow[], now: number): Membership {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  return deriveMembership({
    views: views.map((v) => ({
      reporter: v.reporter,
      at: ms(v.received_at),
      quorate: v.quorate === 1,
      members: parseMembers(v.members),
      maxAgeMs: viewWindowMs(opt(byName.get(v.reporter)?.interval_seconds ?? null), DEF),
    })),
    nodes: nodes.map((n) => ({
      name: n.name,
      lastReportAt: n.last_report_at === null ? undefined : ms(n.last_report_at),
    })),
    now,
    viewMaxAgeMs: viewWindowMs(undefined, DEF),
    silentAfterMs: silenceWindowMs(undefined, undefined, DEF),
    silentAfterMsOf: (name) => {
      const n = byName.get(name);
      return n ? silenceWindowMs(opt(n.interval_seconds), opt(n.heartbeat_seconds), DEF) : undefined;
    },
    replyWithinMsOf: (name) => {
      const n = byName.get(name);
      return n ? replyWindowMs(opt(n.interval_seconds), opt(n.heartbeat_seconds), DEF) : undefined;
    },
  });
}

async function rowsOf(db: Db | Trx, clusterId: string): Promise<{ views: ViewRow[]; nodes: NodeRow[] }> {
  const views = await db
    .selectFrom('membership_views')
    .select(['reporter', 'received_at', 'quorate', 'members'])
    .where('cluster_id', '=', clusterId)
    .execute();
  const nodes = await db
    .selectFrom('membership_nodes')
    .select(['name', 'last_report_at', 'interval_seconds', 'heartbeat_seconds', 'state', 'since'])
    .where('cluster_id', '=', clusterId)
    .execute();
  return { views, nodes };
}

/** Whether any reporter of the cluster has sent a view (then node states are derived). */
/** rows per `in (…)` list */
const CHUNK = 500;

/**
 * Forgets the names that no stored view lists and that never reported themselves: members of an
 * older view only. Without this, a reporter listing new member names in every cluster report (up to
 * 512 each) added them all for good — the node quota does not cover names that are only in views
 * (issue 13, M7 re-attack: 10 reports of 200 new names, 2,001 rows under a quota of 100 nodes).
 * A node removed from the cluster leaves every view and goes too; its `nodes` row stays.
 */
async function pruneUnlisted(
  trx: Trx,
  clusterId: string,
  views: ViewRow[],
  nodes: NodeRow[],
): Promise<NodeRow[]> {
  const listed = new Set(views.flatMap((v) => [v.reporter, ...parseMembers(v.members).map((m) => m.name)]));
  const gone = nodes.filter((n) => n.last_report_at === null && !listed.has(n.name)).map((n) => n.name);
  if (gone.length === 0) return nodes;
  for (let i = 0; i < gone.length; i += CHUNK)
    await trx
      .deleteFrom('membership_nodes')
      .where('cluster_id', '=', clusterId)
      .where('name', 'in', gone.slice(i, i + CHUNK))
      .execute();
  const dropped = new Set(gone);
  return nodes.filter((n) => !dropped.has(n.name));
}

export async function hasViews(trx: Trx, clusterId: string): Promise<boolean> {
  const r = await trx
    .selectFrom('membership_views')
    .select('reporter')
    .where('cluster_id', '=', clusterId)
    .limit(1)
    .executeTakeFirst();
  return r !== undefined;
}

/** Whether some fresh view of the cluster says its partition is not quorate, at `at`. */
export async function quorumLost(trx: Trx, clusterId: string, at: string): Promise<boolean> {
  const { views, nodes } = await rowsOf(trx, clusterId);
  return derive(views, nodes, ms(at)).views.some((v) => !v.quorate);
}

/**
 * Keeps `reporter`'s latest view (ingest of a cluster report). When both this report and the
 * stored view say when they were collected, a report collected earlier than the stored view, or
 * the very same collection, does not replace it: a replica that stalled with the report in hand
 * commits it after the agent's resend or a newer report went through another replica, and receive
 * order (which is all `received_at` says) would have taken the older view back. The test is in
 * the upsert itself, so two replicas committing at once cannot both win. Returns whether the view
 * was taken (a view not taken changes nothing derived: the caller records no membership events).
 */
export async function recordView(
  trx: Trx,
  clusterId: string,
  reporter: string,
  at: string,
  collectedAt: string | null,
  quorate: boolean,
  members: { name: string; online: boolean }[],
): Promise<boolean> {
  const vals = {
    received_at: at,
    quorate: quorate ? 1 : 0,
    members: JSON.stringify(members),
    collected_at: collectedAt,
  };
  const taken = await trx
    .insertInto('membership_views')
    .values({ cluster_id: clusterId, reporter, ...vals })
    .onConflict((oc) =>
      oc
        .columns(['cluster_id', 'reporter'])
        .doUpdateSet(vals)
        .where((eb) =>
          eb.or([
            eb('excluded.collected_at', 'is', null),
            eb('membership_views.collected_at', 'is', null),
            eb('excluded.collected_at', '>', eb.ref('membership_views.collected_at')),
          ]),
        ),
    )
    .returning('reporter')
    .executeTakeFirst();
  return taken !== undefined;
}

/**
 * Notes that `name`'s own agent reported (ingest of a node report, heartbeats included).
 * `last_report_at` only moves forward, and the report intervals are the newest report's: a
 * replica that stalled with a report in hand commits it after newer reports of the node went
 * through other replicas, and taking it would make the node silent earlier than it is (a flap
 * to offline, or since moved backwards). The test is in the upsert, so racing replicas agree.
 * Returns whether the report was taken (one received before the stored one changes nothing).
 */
export async function recordNodeReport(
  trx: Trx,
  clusterId: string,
  name: string,
  at: string,
  intervalSeconds: number | null,
  heartbeatSeconds: number | null,
): Promise<boolean> {
  const vals = { last_report_at: at, interval_seconds: intervalSeconds, heartbeat_seconds: heartbeatSeconds };
  const taken = await trx
    .insertInto('membership_nodes')
    .values({ cluster_id: clusterId, name, ...vals, state: null, since: null })
    .onConflict((oc) =>
      oc
        .columns(['cluster_id', 'name'])
        .doUpdateSet(vals)
        .where((eb) =>
          eb.or([
            eb('membership_nodes.last_report_at', 'is', null),
            eb('excluded.last_report_at', '>=', eb.ref('membership_nodes.last_report_at')),
          ]),
        ),
    )
    .returning('name')
    .executeTakeFirst();
  return taken !== undefined;
}

/** The fleet event a change of derived state is, if any. */
function transition(name: string, before: string | null, after: NodeState): EventDraft[] {
  if (before === null || before === after) return [];
  const down = (s: string): boolean => s === 'offline';
  if (after === 'offline') return [{ type: 'went_offline', message: `node ${name} went offline` }];
  if (down(before)) {
    const how = after === 'partitioned' ? ' (cut off from the quorate partition)' : '';
    return [{ type: 'came_back', message: `node ${name} came back online${how}` }];
  }
  if (after === 'partitioned')
    return [{ type: 'partitioned', message: `node ${name} is cut off from the quorate partition` }];
  if (before === 'partitioned' && (after === 'online' || after === 'silent'))
    return [{ type: 'rejoined', message: `node ${name} rejoined the quorate partition` }];
  return [];
}

/**
 * Derives the cluster's node states after a report, stores the changed ones with their new
 * `since` and records the events they imply: went_offline/came_back only for a node that really
 * went down (the quorate partition sees it offline, or nobody sees it and it is silent),
 * partitioned/rejoined for a node that stayed alive on the other side of a split.
 *
 * It derives at the newest time the cluster's rows hold when that is later than this report's
 * receipt: a report committed late by a stalled replica (a node's heartbeat newer than its own last
 * one, but older than the views and reports already derived from) adds what it says, and is not a
 * trip back to its receive time: no state, `since` or event from a past the states moved on from.
 * Every derivation happened at a time some row holds, so in receive order this is the receipt.
 */
export async function refreshMembership(c: JobContext, clusterId: string): Promise<void> {
  const rows = await rowsOf(c.trx, clusterId);
  const views = rows.views;
  if (views.length === 0) return;
  const nodes = await pruneUnlisted(c.trx, clusterId, views, rows.nodes);
  const at = newest([
    c.at,
    ...views.map((v) => v.received_at),
    ...nodes.flatMap((n) => [n.last_report_at, n.since]),
  ]);
  const m = derive(views, nodes, ms(at));
  const stored = new Map(nodes.map((n) => [n.name, n]));
  // A node still settling (lost by the quorate partition, not heard from since) keeps its stored
  // state: it turns out `partitioned` or `offline`, and only that is an event.
  const changed = m.nodes.filter((n) => !n.settling && stored.get(n.name)?.state !== n.state);
  if (changed.length === 0) return;
  const ids = new Map(
    (
      await c.trx.selectFrom('nodes').select(['id', 'name']).where('cluster_id', '=', clusterId).execute()
    ).map((r) => [r.name, r.id]),
  );
  for (const n of changed) {
    const before = stored.get(n.name)?.state ?? null;
    await c.trx
      .insertInto('membership_nodes')
      .values({
        cluster_id: clusterId,
        name: n.name,
        last_report_at: null,
        interval_seconds: null,
        heartbeat_seconds: null,
        state: n.state,
        since: at,
      })
      .onConflict((oc) => oc.columns(['cluster_id', 'name']).doUpdateSet({ state: n.state, since: at }))
      .execute();
    c.event(
      'node',
      { cluster_id: clusterId, node_id: ids.get(n.name) ?? null },
      transition(n.name, before, n.state),
    );
  }
}

export function createMembershipStore(db: Db): MembershipStore {
  async function answer(clusterId: string, now: string): Promise<ClusterMembership> {
    const { views, nodes } = await rowsOf(db, clusterId);
    const m = derive(views, nodes, ms(now));
    const fresh = new Set(m.views.map((v) => v.reporter));
    const stored = new Map(nodes.map((n) => [n.name, n]));
    return {
      cluster_id: clusterId,
      split: m.split,
      partitions: m.partitions,
      quorate_partition: m.quorate,
      views: views
        .map((v) => ({
          reporter: v.reporter,
          received_at: v.received_at,
          quorate: v.quorate === 1,
          fresh: fresh.has(v.reporter),
          members: parseMembers(v.members),
        }))
        .sort((a, b) => (a.reporter < b.reporter ? -1 : 1)),
      nodes: m.nodes.map((n) => {
        const s = stored.get(n.name);
        return {
          name: n.name,
          state: n.state,
          // a state that changed by the clock alone (silence) since the last report has no stored since
          since: s?.state === n.state ? (s.since ?? null) : null,
          reporting: n.reporting,
          last_report: s?.last_report_at ?? null,
          seen_online_by: n.seenOnlineBy,
          seen_offline_by: n.seenOfflineBy,
        };
      }),
    };
  }
  /** the membership of every cluster of the tenant that has views */
  async function answers(tenantId: string, now: string): Promise<ClusterMembership[]> {
    const ids = await db
      .selectFrom('membership_views')
      .innerJoin('clusters', 'clusters.id', 'membership_views.cluster_id')
      .select('clusters.id')
      .distinct()
      .where('clusters.tenant_id', '=', tenantId)
      .execute();
    const out: ClusterMembership[] = [];
    for (const { id } of ids) out.push(await answer(id, now));
    return out;
  }
  return {
    async clusterMembership(tenantId, clusterId, now) {
      const c = await db
        .selectFrom('clusters')
        .select('id')
        .where('tenant_id', '=', tenantId)
        .where('id', '=', clusterId)
        .executeTakeFirst();
      return c ? answer(c.id, now) : undefined;
    },
    async membershipStates(tenantId, now) {
      const out = new Map<string, Map<string, { state: NodeState; since: string | null }>>();
      for (const a of await answers(tenantId, now))
        out.set(a.cluster_id, new Map(a.nodes.map((n) => [n.name, { state: n.state, since: n.since }])));
      // A standalone node sends no membership view and nobody else sees it: it is `online` while
      // its agent speaks and `offline` once silent (its silence window, 2.5 heartbeats), since the
      // moment the window ran out.
      const lone = await db
        .selectFrom('membership_nodes')
        .innerJoin('clusters', 'clusters.id', 'membership_nodes.cluster_id')
        .select([
          'membership_nodes.cluster_id',
          'membership_nodes.name',
          'membership_nodes.last_report_at',
          'membership_nodes.interval_seconds',
          'membership_nodes.heartbeat_seconds',
        ])
        .where('clusters.tenant_id', '=', tenantId)
        .where('clusters.standalone', '=', 1)
        .execute();
      for (const r of lone) {
        if (out.has(r.cluster_id) || r.last_report_at === null) continue;
        const silentAt =
          ms(r.last_report_at) + silenceWindowMs(opt(r.interval_seconds), opt(r.heartbeat_seconds), DEF);
        const offline = ms(now) >= silentAt;
        out.set(
          r.cluster_id,
          new Map([
            [
              r.name,
              {
                state: offline ? 'offline' : 'online',
                since: offline ? new Date(silentAt).toISOString() : null,
              },
            ],
          ]),
        );
      }
      return out;
    },
    async membershipQuorate(tenantId, now) {
      const out = new Map<string, number>();
      for (const a of await answers(tenantId, now)) {
        const q = derivedQuorate(a);
        if (q !== undefined) out.set(a.cluster_id, q);
      }
      return out;
    },
  };
}
