/**
 * Usage history reads: a node's or guest's points at the resolution the caller chose (raw samples,
 * 5-minute or hourly rollups), always after checking the series belongs to the tenant.
 */
import type { Db } from './sql.ts';
import {
  RESOLUTION_SECONDS,
  type GuestHistoryPoint,
  type HistoryRange,
  type HistoryStore,
  type NodeHistoryPoint,
} from './history-types.ts';
import { NODE_SAMPLE_AGG, maintainHistory, nodeEpoch } from './history-rollup.ts';
import { sql } from 'kysely';
import type { Dialect } from './storage.ts';
import type { GuestRollupTable, NodeRollupTable } from './types.ts';

const sec = (iso: string) => Math.floor(Date.parse(iso) / 1000);
const iso = (s: number) => new Date(s * 1000).toISOString();
/** bigint columns come back as strings from some drivers; averages as strings from PG numeric */
const n = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export function createHistoryStore(db: Db, dialect: Dialect): Pick<HistoryStore, keyof HistoryStore> {
  const bucketRange = (r: HistoryRange) => {
    const res = RESOLUTION_SECONDS[r.resolution];
    // the bucket holding `from` starts before it: it still has samples in the range
    return { res, lo: Math.floor(sec(r.from) / res) * res, hi: sec(r.to) };
  };
  const mark = async (key: string) => {
    const row = await db.selectFrom('nanny_meta').select('value').where('key', '=', key).executeTakeFirst();
    return row ? Number(row.value) : 0;
  };
  // The 5-minute buckets after the job's watermark (it rolls hourly) are computed from raw samples
  // here, so a 5-minute answer reaches up to the last sample.
  async function recentGuest(guestId: string, lo: number, hi: number) {
    const from = Math.max(lo, await mark('history.rollup.guest.300'));
    const { rows } = await sql<GuestRollupTable>`
      select ts - ts % 300 as bucket, count(*) as n,
        avg(cpu_usage_ratio) as cpu_avg, max(cpu_usage_ratio) as cpu_max,
        avg(mem_used_bytes) as mem_avg, max(mem_used_bytes) as mem_max,
        avg(disk_used_bytes) as disk_avg, max(disk_used_bytes) as disk_max,
        min(net_in_bytes) as net_in_min, max(net_in_bytes) as net_in_max,
        min(net_out_bytes) as net_out_min, max(net_out_bytes) as net_out_max
      from guest_samples where guest_id = ${guestId} and ts >= ${from} and ts <= ${hi}
      group by ts - ts % 300 order by 1`.execute(db);
    return { from, rows };
  }
  async function recentNode(nodeId: string, lo: number, hi: number) {
    const from = Math.max(lo, await mark('history.rollup.node.300'));
    const { rows } = await sql<NodeRollupTable>`
      select e - e % 300 as bucket, ${sql.raw(NODE_SAMPLE_AGG)}
      from (select s.*, ${sql.raw(nodeEpoch(dialect))} as e from node_samples s
            where node_id = ${nodeId} and ts >= ${iso(from)} and ts <= ${iso(hi + 299)}) w
      where e <= ${hi}
      group by e - e % 300 order by 1`.execute(db);
    return { from, rows };
  }
  return {
    async nodeHistory(tenantId, nodeId, r) {
      const node = await db
        .selectFrom('nodes')
        .select('id')
        .where('tenant_id', '=', tenantId)
        .where('id', '=', nodeId)
        .executeTakeFirst();
      if (!node) return undefined;
      if (r.resolution === 'raw') {
        const rows = await db
          .selectFrom('node_samples')
          .select([
            'ts',
            'online',
            'cpu_usage_ratio',
            'mem_used_bytes',
            'mem_total_bytes',
            'rootfs_used_bytes',
            'rootfs_total_bytes',
            'load_avg_1m',
            'swap_used_bytes',
            'swap_total_bytes',
            'io_wait_ratio',
            'load_avg_5m',
            'load_avg_15m',
            'net_in_bytes',
            'net_out_bytes',
          ])
          .where('node_id', '=', nodeId)
          .where('ts', '>=', r.from)
          .where('ts', '<=', r.to)
          .orderBy('ts', 'desc')
          .limit(r.limit)
          .execute();
        return rows.reverse().map((s): NodeHistoryPoint => ({
          ts: s.ts,
          n: 1,
          online_min: s.online,
          cpu_avg: s.cpu_usage_ratio,
          cpu_max: s.cpu_usage_ratio,
          mem_avg: n(s.mem_used_bytes),
          mem_max: n(s.mem_used_bytes),
          mem_total: n(s.mem_total_bytes),
          rootfs_avg: n(s.rootfs_used_bytes),
          rootfs_max: n(s.rootfs_used_bytes),
          rootfs_total: n(s.rootfs_total_bytes),
          load_avg: s.load_avg_1m,
          load_max: s.load_avg_1m,
          swap_avg: n(s.swap_used_bytes),
          swap_max: n(s.swap_used_bytes),
          swap_total: n(s.swap_total_bytes),
          iowait_avg: n(s.io_wait_ratio),
          iowait_max: n(s.io_wait_ratio),
          load5_avg: n(s.load_avg_5m),
          load15_avg: n(s.load_avg_15m),
          net_in_min: n(s.net_in_bytes),
          net_in_max: n(s.net_in_bytes),
          net_out_min: n(s.net_out_bytes),
          net_out_max: n(s.net_out_bytes),
        }));
      }
      const { res, lo, hi } = bucketRange(r);
      const fill = res === 300 ? await recentNode(nodeId, lo, hi) : { from: Infinity, rows: [] };
      const rows = await db
        .selectFrom('node_rollups')
        .selectAll()
        .where('node_id', '=', nodeId)
        .where('res', '=', res)
        .where('bucket', '>=', lo)
        .where('bucket', '<=', Math.min(hi, fill.from - 1))
        .orderBy('bucket', 'desc')
        .limit(r.limit)
        .execute();
      return [...rows.reverse(), ...fill.rows].slice(-r.limit).map((b): NodeHistoryPoint => ({
        ts: iso(Number(b.bucket)),
        n: Number(b.n),
        online_min: n(b.online_min),
        cpu_avg: n(b.cpu_avg),
        cpu_max: n(b.cpu_max),
        mem_avg: n(b.mem_avg),
        mem_max: n(b.mem_max),
        mem_total: n(b.mem_total),
        rootfs_avg: n(b.rootfs_avg),
        rootfs_max: n(b.rootfs_max),
        rootfs_total: n(b.rootfs_total),
        load_avg: n(b.load_avg),
        load_max: n(b.load_max),
        swap_avg: n(b.swap_avg),
        swap_max: n(b.swap_max),
        swap_total: n(b.swap_total),
        iowait_avg: n(b.iowait_avg),
        iowait_max: n(b.iowait_max),
        load5_avg: n(b.load5_avg),
        load15_avg: n(b.load15_avg),
        net_in_min: n(b.net_in_min),
        net_in_max: n(b.net_in_max),
        net_out_min: n(b.net_out_min),
        net_out_max: n(b.net_out_max),
      }));
    },
    async guestHistory(tenantId, guestId, r) {
      const guest = await db
        .selectFrom('guests')
        .select('id')
        .where('tenant_id', '=', tenantId)
        .where('id', '=', guestId)
        .executeTakeFirst();
      if (!guest) return undefined;
      if (r.resolution === 'raw') {
        const rows = await db
          .selectFrom('guest_samples')
          .selectAll()
          .where('guest_id', '=', guestId)
          .where('ts', '>=', sec(r.from))
          .where('ts', '<=', sec(r.to))
          .orderBy('ts', 'desc')
          .limit(r.limit)
          .execute();
        return rows.reverse().map((s): GuestHistoryPoint => ({
          ts: iso(Number(s.ts)),
          n: 1,
          cpu_avg: n(s.cpu_usage_ratio),
          cpu_max: n(s.cpu_usage_ratio),
          mem_avg: n(s.mem_used_bytes),
          mem_max: n(s.mem_used_bytes),
          disk_avg: n(s.disk_used_bytes),
          disk_max: n(s.disk_used_bytes),
          net_in_min: n(s.net_in_bytes),
          net_in_max: n(s.net_in_bytes),
          net_out_min: n(s.net_out_bytes),
          net_out_max: n(s.net_out_bytes),
        }));
      }
      const { res, lo, hi } = bucketRange(r);
      const fill = res === 300 ? await recentGuest(guestId, lo, hi) : { from: Infinity, rows: [] };
      const rows = await db
        .selectFrom('guest_rollups')
        .selectAll()
        .where('guest_id', '=', guestId)
        .where('res', '=', res)
        .where('bucket', '>=', lo)
        .where('bucket', '<=', Math.min(hi, fill.from - 1))
        .orderBy('bucket', 'desc')
        .limit(r.limit)
        .execute();
      return [...rows.reverse(), ...fill.rows].slice(-r.limit).map((b): GuestHistoryPoint => ({
        ts: iso(Number(b.bucket)),
        n: Number(b.n),
        cpu_avg: n(b.cpu_avg),
        cpu_max: n(b.cpu_max),
        mem_avg: n(b.mem_avg),
        mem_max: n(b.mem_max),
        disk_avg: n(b.disk_avg),
        disk_max: n(b.disk_max),
        net_in_min: n(b.net_in_min),
        net_in_max: n(b.net_in_max),
        net_out_min: n(b.net_out_min),
        net_out_max: n(b.net_out_max),
      }));
    },
    maintainHistory: (nowMs, horizons, opts) => maintainHistory(db, dialect, nowMs, horizons, opts),
  };
}
