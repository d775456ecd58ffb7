/**
 * The usage-history job: rolls raw samples into 5-minute buckets and those into hourly ones, then
 * deletes what each horizon no longer keeps. Every statement touches a bounded number of rows
 * (`batchRows`, 5,000 by default) and runs on its own, outside any transaction, so ingest never
 * waits behind it for long. Progress is a watermark per level in `nanny_meta`.
 *
 * On PostgreSQL the whole run holds a session advisory lock on one pooled connection: replicas
 * that find it taken skip the run. SQLite has one writer process, so it needs none (and holding
 * its single connection for the run would stall ingest).
 */
import type { Db } from './sql.ts';
import { createRawSql } from './sql.ts';
import { execOn, getMark, setMark, type Exec } from './history-exec.ts';
import type { Dialect } from './storage.ts';
import type { HistoryHorizons, HistoryJobOptions, HistoryMaintenance } from './history-types.ts';
import { pruneHistory } from './history-retention.ts';

/**
 * The job's advisory lock: this class number with the schema's hash, so replicas on one schema
 * exclude each other and servers (or test runs) on other schemas of the database do not.
 */
const LOCK_CLASS = 1853385070;
/** a report arrives a little after it was collected: a bucket is closed this long after its end */
const GRACE_S = 120;
/** buckets at most this many widths long are rolled in one run (catching up takes several runs) */
const MAX_BUCKETS_PER_RUN = 288;
const DEFAULT_BATCH_ROWS = 5000;
/**
 * A level rolls once an hour of its buckets has closed, not every 5 minutes: a series' twelve new
 * 5-minute rows then land in one page, not in twelve writes of it (pages, not rows, are what a
 * database writes). Reads fill the not-yet-rolled hour from raw samples (history.ts).
 */
const ROLL_EVERY_S = 3600;

interface Level {
  /** watermark key: every bucket before it is rolled */
  key: string;
  series: 'guests' | 'nodes';
  res: number;
  /** seconds between source rows of one series (nominal; sizes the pages) */
  sourceStep: number;
  /** closed buckets this far before the watermark are rolled again: late samples join them */
  lookback: number;
  /** the level it rolls up from (its watermark bounds this one) */
  from?: string;
  /** the INSERT … SELECT; params lo, hi (series ids), a, b (window) */
  sql: (d: Dialect) => string;
  /** the oldest source time, epoch seconds */
  oldest: (d: Dialect) => string;
  /** the window's bounds as the source stores them */
  bounds: (a: number, b: number) => [unknown, unknown];
}

/**
 * Upserts the buckets `agg` computes (its columns named as the table's), skipping each bucket
 * whose stored row already counts as many samples: raw samples are never changed, only added, so
 * an equal count is an unchanged bucket, and re-rolling the recent past writes no page for it.
 */
const upsert = (table: string, key: string, cols: string[], agg: string) => {
  const all = [key, 'res', 'bucket', 'n', ...cols];
  return `insert into "${table}" (${all.map((c) => `"${c}"`).join(', ')})
    select ${all.map((c) => `a."${c}"`).join(', ')} from (${agg}) a
    where not exists (select 1 from "${table}" r where r."${key}" = a."${key}" and r."res" = a."res"
      and r."bucket" = a."bucket" and r."n" = a."n")
    on conflict ("${key}", "res", "bucket") do update set "n" = excluded."n", ${cols.map((c) => `"${c}" = excluded."${c}"`).join(', ')}`;
};
/** the n-weighted average of a 5-minute column (rows without a value do not count) */
const wavg = (c: string) => `sum(${c} * n) / nullif(sum(case when ${c} is null then 0 else n end), 0)`;

const GUEST_COLS = [
  'cpu_avg',
  'cpu_max',
  'mem_avg',
  'mem_max',
  'disk_avg',
  'disk_max',
  'net_in_min',
  'net_in_max',
  'net_out_min',
  'net_out_max',
];
const NODE_COLS = [
  'online_min',
  'cpu_avg',
  'cpu_max',
  'mem_avg',
  'mem_max',
  'mem_total',
  'rootfs_avg',
  'rootfs_max',
  'rootfs_total',
  'load_avg',
  'load_max',
  'swap_avg',
  'swap_max',
  'swap_total',
  'iowait_avg',
  'iowait_max',
  'load5_avg',
  'load15_avg',
  'net_in_min',
  'net_in_max',
  'net_out_min',
  'net_out_max',
];
/** the raw-sample aggregates of one node bucket (the rollup job and the reads' recent fill share them) */
export const NODE_SAMPLE_AGG = `count(*) as n, min(online) as online_min,
          avg(cpu_usage_ratio) as cpu_avg, max(cpu_usage_ratio) as cpu_max,
          avg(mem_used_bytes) as mem_avg, max(mem_used_bytes) as mem_max, max(mem_total_bytes) as mem_total,
          avg(rootfs_used_bytes) as rootfs_avg, max(rootfs_used_bytes) as rootfs_max,
          max(rootfs_total_bytes) as rootfs_total, avg(load_avg_1m) as load_avg, max(load_avg_1m) as load_max,
          avg(swap_used_bytes) as swap_avg, max(swap_used_bytes) as swap_max, max(swap_total_bytes) as swap_total,
          avg(io_wait_ratio) as iowait_avg, max(io_wait_ratio) as iowait_max,
          avg(load_avg_5m) as load5_avg, avg(load_avg_15m) as load15_avg,
          min(net_in_bytes) as net_in_min, max(net_in_bytes) as net_in_max,
          min(net_out_bytes) as net_out_min, max(net_out_bytes) as net_out_max`;
/** node_samples keeps ISO text times (migration 0001): their epoch seconds, per dialect */
export const nodeEpoch = (d: Dialect) =>
  d === 'sqlite'
    ? `cast(strftime('%s', ts) as integer)`
    : `floor(extract(epoch from ts::timestamptz))::bigint`;
const isoBounds = (a: number, b: number): [unknown, unknown] => [
  new Date(a * 1000).toISOString(),
  new Date(b * 1000).toISOString(),
];

const LEVELS: Level[] = [
  {
    key: 'history.rollup.guest.300',
    series: 'guests',
    res: 300,
    sourceStep: 60,
    lookback: 300,
    sql: () =>
      upsert(
        'guest_rollups',
        'guest_id',
        GUEST_COLS,
        `select guest_id, 300 as res, ts - ts % 300 as bucket, count(*) as n,
          avg(cpu_usage_ratio) as cpu_avg, max(cpu_usage_ratio) as cpu_max,
          avg(mem_used_bytes) as mem_avg, max(mem_used_bytes) as mem_max,
          avg(disk_used_bytes) as disk_avg, max(disk_used_bytes) as disk_max,
          min(net_in_bytes) as net_in_min, max(net_in_bytes) as net_in_max,
          min(net_out_bytes) as net_out_min, max(net_out_bytes) as net_out_max
         from guest_samples where guest_id >= ? and guest_id <= ? and ts >= ? and ts < ?
         group by guest_id, ts - ts % 300`,
      ),
    oldest: () => 'select min(ts) as t from guest_samples',
    bounds: (a, b) => [a, b],
  },
  {
    key: 'history.rollup.guest.3600',
    series: 'guests',
    res: 3600,
    sourceStep: 300,
    lookback: 3600,
    from: 'history.rollup.guest.300',
    sql: () =>
      upsert(
        'guest_rollups',
        'guest_id',
        GUEST_COLS,
        `select guest_id, 3600 as res, bucket - bucket % 3600 as bucket, sum(n) as n,
          ${wavg('cpu_avg')} as cpu_avg, max(cpu_max) as cpu_max, ${wavg('mem_avg')} as mem_avg,
          max(mem_max) as mem_max, ${wavg('disk_avg')} as disk_avg, max(disk_max) as disk_max,
          min(net_in_min) as net_in_min, max(net_in_max) as net_in_max,
          min(net_out_min) as net_out_min, max(net_out_max) as net_out_max
         from guest_rollups where res = 300 and guest_id >= ? and guest_id <= ? and bucket >= ? and bucket < ?
         group by guest_id, bucket - bucket % 3600`,
      ),
    oldest: () => 'select min(bucket) as t from guest_rollups where res = 300',
    bounds: (a, b) => [a, b],
  },
  {
    key: 'history.rollup.node.300',
    series: 'nodes',
    res: 300,
    sourceStep: 60,
    lookback: 300,
    sql: (d) =>
      upsert(
        'node_rollups',
        'node_id',
        NODE_COLS,
        `select node_id, 300 as res, e - e % 300 as bucket, ${NODE_SAMPLE_AGG}
         from (select s.*, ${nodeEpoch(d)} as e from node_samples s
               where node_id >= ? and node_id <= ? and ts >= ? and ts < ?) w
         group by node_id, e - e % 300`,
      ),
    oldest: (d) => `select ${nodeEpoch(d)} as t from node_samples order by ts limit 1`,
    bounds: isoBounds,
  },
  {
    key: 'history.rollup.node.3600',
    series: 'nodes',
    res: 3600,
    sourceStep: 300,
    lookback: 3600,
    from: 'history.rollup.node.300',
    sql: () =>
      upsert(
        'node_rollups',
        'node_id',
        NODE_COLS,
        `select node_id, 3600 as res, bucket - bucket % 3600 as bucket, sum(n) as n,
          min(online_min) as online_min, ${wavg('cpu_avg')} as cpu_avg, max(cpu_max) as cpu_max,
          ${wavg('mem_avg')} as mem_avg, max(mem_max) as mem_max, max(mem_total) as mem_total,
          ${wavg('rootfs_avg')} as rootfs_avg, max(rootfs_max) as rootfs_max, max(rootfs_total) as rootfs_total,
          ${wavg('load_avg')} as load_avg, max(load_max) as load_max,
          ${wavg('swap_avg')} as swap_avg, max(swap_max) as swap_max, max(swap_total) as swap_total,
          ${wavg('iowait_avg')} as iowait_avg, max(iowait_max) as iowait_max,
          ${wavg('load5_avg')} as load5_avg, ${wavg('load15_avg')} as load15_avg,
          min(net_in_min) as net_in_min, max(net_in_max) as net_in_max,
          min(net_out_min) as net_out_min, max(net_out_max) as net_out_max
         from node_rollups where res = 300 and node_id >= ? and node_id <= ? and bucket >= ? and bucket < ?
         group by node_id, bucket - bucket % 3600`,
      ),
    oldest: () => 'select min(bucket) as t from node_rollups where res = 300',
    bounds: (a, b) => [a, b],
  },
];

/** rolls the closed buckets of one level; returns rollup rows written */
async function rollLevel(exec: Exec, d: Dialect, l: Level, nowS: number, batchRows: number): Promise<number> {
  let closed = Math.floor((nowS - GRACE_S) / l.res) * l.res;
  if (l.from !== undefined) {
    const upstream = await getMark(exec, l.from);
    closed = Math.min(closed, Math.floor((upstream ?? 0) / l.res) * l.res);
  }
  const mark = await getMark(exec, l.key);
  // less than an hour of closed buckets since the last run: wait for more
  if (mark !== undefined && closed - mark < ROLL_EVERY_S) return 0;
  let start: number;
  if (mark === undefined) {
    const { rows } = await exec<{ t: number | string | null }>(l.oldest(d), []);
    const oldest = rows[0]?.t;
    if (oldest === null || oldest === undefined) {
      // nothing to roll yet: start from here, not from the epoch
      if (closed > 0) await setMark(exec, l.key, closed);
      return 0;
    }
    start = Math.floor(Number(oldest) / l.res) * l.res;
  } else start = Math.max(0, mark - l.lookback);
  const end = Math.min(closed, start + MAX_BUCKETS_PER_RUN * l.res);
  if (end <= start) return 0;
  // a page of series whose rows in the window stay within one batch
  const perSeries = Math.ceil((end - start) / l.sourceStep);
  const page = Math.max(1, Math.floor(batchRows / perSeries));
  const [a, b] = l.bounds(start, end);
  const text = l.sql(d);
  let written = 0;
  let cursor = '';
  for (;;) {
    const { rows: ids } = await exec<{ id: string }>(
      `select "id" from "${l.series}" where "id" > ? order by "id" limit ?`,
      [cursor, page],
    );
    const lo = ids[0]?.id;
    const hi = ids.at(-1)?.id;
    if (lo === undefined || hi === undefined) break;
    written += (await exec(text, [lo, hi, a, b])).affected;
    cursor = hi;
    if (ids.length < page) break;
  }
  await setMark(exec, l.key, end);
  return written;
}

async function run(
  exec: Exec,
  d: Dialect,
  nowMs: number,
  horizons: HistoryHorizons,
  batchRows: number,
): Promise<HistoryMaintenance> {
  const nowS = Math.floor(nowMs / 1000);
  const [guest5m, guest1h, node5m, node1h] = [
    await rollLevel(exec, d, LEVELS[0]!, nowS, batchRows),
    await rollLevel(exec, d, LEVELS[1]!, nowS, batchRows),
    await rollLevel(exec, d, LEVELS[2]!, nowS, batchRows),
    await rollLevel(exec, d, LEVELS[3]!, nowS, batchRows),
  ];
  const deleted = await pruneHistory(exec, nowS, horizons, batchRows);
  return { rolledUp: { guest5m, guest1h, node5m, node1h }, deleted, statements: exec.statements };
}

export async function maintainHistory(
  db: Db,
  dialect: Dialect,
  nowMs: number,
  horizons: HistoryHorizons,
  opts: HistoryJobOptions = {},
): Promise<HistoryMaintenance | null> {
  const raw = createRawSql(dialect);
  const batchRows = opts.batchRows ?? DEFAULT_BATCH_ROWS;
  if (dialect === 'sqlite') return run(execOn(db, raw), dialect, nowMs, horizons, batchRows);
  return db.connection().execute(async (conn) => {
    const exec = execOn(conn, raw);
    const { rows } = await exec<{ ok: boolean }>(
      'select pg_try_advisory_lock(?::int, hashtext(current_schema())) as ok',
      [LOCK_CLASS],
    );
    if (rows[0]?.ok !== true) return null;
    try {
      return await run(exec, dialect, nowMs, horizons, batchRows);
    } finally {
      await exec('select pg_advisory_unlock(?::int, hashtext(current_schema()))', [LOCK_CLASS]);
    }
  });
}
