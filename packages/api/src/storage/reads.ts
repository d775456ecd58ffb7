/** Reads slice: the read API's queries, always tenant-scoped. Rows become views in views.ts. */
import { sql } from 'kysely';
import type { ClusterView, GuestFilter, GuestUsage, NodeView, ReadStore } from './storage.ts';
import { escapeLike, type Db } from './sql.ts';
import { clusterView, eventView, guestView, nodeView, parseJson, type ClusterCounts } from './views.ts';

const COUNT_TTL_MS = 5000;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Totals of guest lists for a few seconds: COUNT(*) over 100,000 guests costs more than the page
 * itself. Cleared by every ingest batch that changed a guest's existence, node or status in this
 * process (the ingest slice calls `clear`); another replica's changes show within COUNT_TTL_MS.
 * The age is measured on the callers' `now`, never on a clock read here.
 */
export interface GuestTotals {
  get(key: string, nowMs: number): number | undefined;
  set(key: string, n: number, nowMs: number): void;
  clear(): void;
}

export function createGuestTotals(): GuestTotals {
  const cache = new Map<string, { n: number; at: number }>();
  return {
    get(key, nowMs) {
      const hit = cache.get(key);
      // a `now` before the entry (another caller's clock) is a miss too, not a forever-hit
      return hit && nowMs >= hit.at && nowMs - hit.at < COUNT_TTL_MS ? hit.n : undefined;
    },
    set(key, n, nowMs) {
      if (cache.size > 1000) cache.clear();
      cache.set(key, { n, at: nowMs });
    },
    clear: () => cache.clear(),
  };
}

export function createReadStore(db: Db, totals: GuestTotals): ReadStore {
  async function clusterCounts(tenantId: string): Promise<Map<string, ClusterCounts>> {
    const nodes = await db
      .selectFrom('nodes')
      .select((eb) => [
        'cluster_id',
        eb.fn.countAll<number>().as('n'),
        eb.fn.sum<number>(eb.case().when('online', '=', 1).then(1).else(0).end()).as('online'),
        eb.fn.count<number>('last_report_at').as('reporting'),
      ])
      .where('tenant_id', '=', tenantId)
      .groupBy('cluster_id')
      .execute();
    const guests = await db
      .selectFrom('guests')
      .select((eb) => ['cluster_id', eb.fn.countAll<number>().as('n')])
      .where('tenant_id', '=', tenantId)
      .where('gone_at', 'is', null)
      .groupBy('cluster_id')
      .execute();
    const m = new Map<string, ClusterCounts>();
    for (const n of nodes)
      m.set(n.cluster_id, { reporting: Number(n.reporting), online: Number(n.online), guests: 0 });
    for (const g of guests) {
      const e = m.get(g.cluster_id) ?? { reporting: 0, online: 0, guests: 0 };
      e.guests = Number(g.n);
      m.set(g.cluster_id, e);
    }
    return m;
  }

  async function listClusters(tenantId: string): Promise<ClusterView[]> {
    const rows = await db
      .selectFrom('clusters')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .orderBy('name')
      .orderBy('id')
      .execute();
    const counts = await clusterCounts(tenantId);
    return rows.map((r) => clusterView(r, counts.get(r.id)));
  }

  async function listNodes(tenantId: string, filter: { clusterId?: string }): Promise<NodeView[]> {
    let q = db
      .selectFrom('nodes')
      .innerJoin('clusters', 'clusters.id', 'nodes.cluster_id')
      .selectAll('nodes')
      .select('clusters.name as cluster_name')
      .where('nodes.tenant_id', '=', tenantId);
    if (filter.clusterId) q = q.where('nodes.cluster_id', '=', filter.clusterId);
    const rows = await q.orderBy('clusters.name').orderBy('nodes.name').execute();
    return rows.map(nodeView);
  }

  return {
    listClusters,
    listNodes,
    async getCluster(tenantId, id) {
      const r = await db
        .selectFrom('clusters')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .executeTakeFirst();
      if (!r) return undefined;
      const counts = await clusterCounts(tenantId);
      return clusterView(r, counts.get(r.id));
    },
    async getNode(tenantId, id) {
      const r = await db
        .selectFrom('nodes')
        .innerJoin('clusters', 'clusters.id', 'nodes.cluster_id')
        .selectAll('nodes')
        .select('clusters.name as cluster_name')
        .where('nodes.tenant_id', '=', tenantId)
        .where('nodes.id', '=', id)
        .executeTakeFirst();
      return r ? nodeView(r) : undefined;
    },
    async nodeSamples(tenantId, nodeId, from, to, limit) {
      const rows = await db
        .selectFrom('node_samples')
        .select([
          'ts',
          'received_at',
          'online',
          'cpu_usage_ratio',
          'mem_used_bytes',
          'mem_total_bytes',
          'rootfs_used_bytes',
          'rootfs_total_bytes',
          'load_avg_1m',
          'uptime_seconds',
          'swap_used_bytes',
          'swap_total_bytes',
          'io_wait_ratio',
          'load_avg_5m',
          'load_avg_15m',
          'net_in_bytes',
          'net_out_bytes',
        ])
        .where('tenant_id', '=', tenantId)
        .where('node_id', '=', nodeId)
        .where('ts', '>=', from)
        .where('ts', '<=', to)
        .orderBy('ts', 'desc')
        .limit(limit)
        .execute();
      return rows.reverse();
    },
    async listGuests(tenantId, f) {
      const q = guestQuery(db, tenantId, f);
      const { limit: _l, offset: _o, now, ...rest } = f;
      const countKey = `${tenantId}|${JSON.stringify(rest)}`;
      const nowMs = now === undefined ? NaN : Date.parse(now);
      let total = Number.isNaN(nowMs) ? undefined : totals.get(countKey, nowMs);
      if (total === undefined) {
        const totalRow = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
        total = Number(totalRow.n);
        if (!Number.isNaN(nowMs)) totals.set(countKey, total, nowMs);
      }
      const rows = await q
        .innerJoin('clusters', 'clusters.id', 'guests.cluster_id')
        .select([
          'guests.id',
          'guests.vmid',
          'guests.type',
          'guests.name',
          'guests.node_name',
          'guests.node_id',
          'guests.cluster_id',
          'clusters.name as cluster_name',
          'guests.status',
          'guests.tags',
          'guests.uptime_seconds',
          'guests.cpu_cores',
          'guests.memory_mb',
          'guests.template',
          'guests.gone_at',
          'guests.first_seen_at',
          'guests.last_seen_at',
          'guests.collected_at',
        ])
        .orderBy('guests.vmid')
        .orderBy('guests.id')
        .limit(f.limit)
        .offset(f.offset)
        .execute();
      return { data: rows.map(guestView), total };
    },
    async guestUsage(tenantId, guestIds) {
      const out = new Map<string, GuestUsage>();
      const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
      // in slices: one IN list per 500 ids keeps every dialect under its parameter limit
      for (let i = 0; i < guestIds.length; i += 500) {
        const rows = await db
          .selectFrom('guest_reports')
          .select(['guest_id', 'report'])
          .where('tenant_id', '=', tenantId)
          .where('guest_id', 'in', guestIds.slice(i, i + 500))
          .execute();
        for (const r of rows) {
          const rep = parseJson(r.report);
          out.set(r.guest_id, {
            cpu_usage_ratio: num(rep['cpu_usage_ratio']),
            mem_used_bytes: num(rep['mem_used_bytes']),
            disk_used_bytes: num(rep['disk_used_bytes']),
          });
        }
      }
      return out;
    },
    async nodeReport(tenantId, nodeId) {
      const r = await db
        .selectFrom('nodes')
        .select('report')
        .where('tenant_id', '=', tenantId)
        .where('id', '=', nodeId)
        .executeTakeFirst();
      return r ? parseJson(r.report) : undefined;
    },
    async getGuest(tenantId, id) {
      const r = await db
        .selectFrom('guests')
        .innerJoin('clusters', 'clusters.id', 'guests.cluster_id')
        .leftJoin('guest_reports', 'guest_reports.guest_id', 'guests.id')
        .selectAll('guests')
        .select(['clusters.name as cluster_name', 'guest_reports.report'])
        .where('guests.tenant_id', '=', tenantId)
        .where('guests.id', '=', id)
        .executeTakeFirst();
      if (!r) return undefined;
      const versions = await db
        .selectFrom('guest_config_versions')
        .select(['ts', 'config_hash', 'diff'])
        .where('guest_id', '=', id)
        .orderBy('id', 'desc')
        .limit(100)
        .execute();
      const changes = await db
        .selectFrom('guest_status_changes')
        .select(['ts', 'from_status', 'to_status'])
        .where('guest_id', '=', id)
        .orderBy('id', 'desc')
        .limit(100)
        .execute();
      return {
        ...guestView(r),
        report: parseJson(r.report),
        config_versions: versions.map((v) => ({
          ts: v.ts,
          config_hash: v.config_hash,
          diff: v.diff ? parseJson(v.diff) : null,
        })),
        status_changes: changes,
      };
    },
    async listEvents(tenantId, f) {
      let q = db.selectFrom('events').where('tenant_id', '=', tenantId);
      if (f.clusterId) q = q.where('cluster_id', '=', f.clusterId);
      if (f.nodeId) q = q.where('node_id', '=', f.nodeId);
      if (f.guestId) q = q.where('guest_id', '=', f.guestId);
      if (f.type) q = q.where('type', '=', f.type);
      if (f.since) q = q.where('occurred_at', '>=', f.since);
      if (f.until) q = q.where('occurred_at', '<=', f.until);
      const total = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      const rows = await q
        .selectAll()
        .orderBy('occurred_at', 'desc')
        .orderBy('id', 'desc')
        .limit(f.limit)
        .offset(f.offset)
        .execute();
      return { total: Number(total.n), data: rows.map(eventView) };
    },
    async fleet(tenantId) {
      const clusters = await listClusters(tenantId);
      const nodes = await listNodes(tenantId, {});
      const guests = await db
        .selectFrom('guests')
        .select(['cluster_id', 'node_name as node', 'vmid', 'type', 'name', 'status'])
        .where('tenant_id', '=', tenantId)
        .where('gone_at', 'is', null)
        .execute();
      return { clusters, nodes, guests };
    },
  };
}

/** the guests of a tenant that match the filter (paging is the caller's) */
function guestQuery(db: Db, tenantId: string, f: GuestFilter) {
  let q = db.selectFrom('guests').where('guests.tenant_id', '=', tenantId);
  if (!f.includeGone) q = q.where('guests.gone_at', 'is', null);
  if (f.clusterId) q = q.where('guests.cluster_id', '=', f.clusterId);
  if (f.node) {
    const node = f.node;
    // an id (UUID) or a name: one indexed equality instead of an OR that no index serves
    q = UUID_RE.test(node) ? q.where('guests.node_id', '=', node) : q.where('guests.node_name', '=', node);
  }
  if (f.type) q = q.where('guests.type', '=', f.type);
  if (f.status) q = q.where('guests.status', '=', f.status);
  if (f.tag)
    q = q.where(sql<string>`',' || guests.tags || ','`, 'like', `%,${escapeLike(f.tag.toLowerCase())},%`);
  if (f.q) {
    const text = f.q;
    const asInt = /^\d{1,9}$/.test(text) ? Number(text) : null;
    q = q.where((eb) =>
      eb.or([
        eb(eb.fn('lower', ['guests.name']), 'like', `%${escapeLike(text.toLowerCase())}%`),
        ...(asInt !== null ? [eb('guests.vmid', '=', asInt)] : []),
      ]),
    );
  }
  return q;
}
