/**
 * Usage history (issue 14 item 3): what the read API asks of storage, and the background job
 * that rolls samples up and keeps each resolution to its horizon (history-rollup.ts,
 * history-retention.ts; reads in history.ts).
 */

/** `raw`: every sample as stored; `5m` / `1h`: rollups with that bucket width */
export type HistoryResolution = 'raw' | '5m' | '1h';

export const RESOLUTION_SECONDS: Readonly<Record<HistoryResolution, number>> = {
  raw: 60,
  '5m': 300,
  '1h': 3600,
};

/** how long each resolution is kept, in days */
export interface HistoryHorizons {
  rawDays: number;
  fiveMinuteDays: number;
  hourlyDays: number;
}

export interface HistoryRange {
  /** ISO-8601, inclusive */
  from: string;
  /** ISO-8601, inclusive */
  to: string;
  resolution: HistoryResolution;
  limit: number;
}

/** One point of a node's history: a raw sample is a bucket of one (avg = max = its value). */
export interface NodeHistoryPoint {
  /** sample time, or the bucket's start */
  ts: string;
  /** samples in the point */
  n: number;
  /** 0 when the node was offline in any of them */
  online_min: number | null;
  cpu_avg: number | null;
  cpu_max: number | null;
  mem_avg: number | null;
  mem_max: number | null;
  mem_total: number | null;
  rootfs_avg: number | null;
  rootfs_max: number | null;
  rootfs_total: number | null;
  load_avg: number | null;
  load_max: number | null;
  swap_avg: number | null;
  swap_max: number | null;
  swap_total: number | null;
  iowait_avg: number | null;
  iowait_max: number | null;
  load5_avg: number | null;
  load15_avg: number | null;
  /** the node's network counters (bytes since boot): traffic in the point is max − min */
  net_in_min: number | null;
  net_in_max: number | null;
  net_out_min: number | null;
  net_out_max: number | null;
}

/** One point of a guest's usage history. Network counters are cumulative since the guest started. */
export interface GuestHistoryPoint {
  ts: string;
  n: number;
  cpu_avg: number | null;
  cpu_max: number | null;
  mem_avg: number | null;
  mem_max: number | null;
  disk_avg: number | null;
  disk_max: number | null;
  net_in_min: number | null;
  net_in_max: number | null;
  net_out_min: number | null;
  net_out_max: number | null;
}

/** What one run of the history job did. */
export interface HistoryMaintenance {
  /** rollup rows written (inserted or recomputed) per level */
  rolledUp: { node5m: number; node1h: number; guest5m: number; guest1h: number };
  /** rows deleted per table */
  deleted: { nodeSamples: number; guestSamples: number; nodeRollups: number; guestRollups: number };
  /** statements run: every one touches at most `batchRows` rows (about, for rollups) */
  statements: number;
}

export interface HistoryJobOptions {
  /** rows one statement may read or delete (default 5,000) */
  batchRows?: number;
}

export interface HistoryStore {
  /** undefined: no such node in the tenant */
  nodeHistory(tenantId: string, nodeId: string, range: HistoryRange): Promise<NodeHistoryPoint[] | undefined>;
  /** undefined: no such guest in the tenant */
  guestHistory(
    tenantId: string,
    guestId: string,
    range: HistoryRange,
  ): Promise<GuestHistoryPoint[] | undefined>;
  /**
   * Rolls closed buckets up and deletes what is past each horizon, in bounded statements with no
   * transaction around them. On PostgreSQL only one process at a time runs it (a session advisory
   * lock): null when another replica holds it.
   */
  maintainHistory(
    nowMs: number,
    horizons: HistoryHorizons,
    opts?: HistoryJobOptions,
  ): Promise<HistoryMaintenance | null>;
}
