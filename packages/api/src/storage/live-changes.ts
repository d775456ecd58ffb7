/**
 * The change feed of the dashboard's streams across replicas (table of migration 0400): the alert
 * leader appends a row per tenant and cluster whose alerts it fired or resolved, in the evaluation's
 * own transaction (alert-evaluation.ts); each replica's live module reads the rows after the last
 * one it saw. Only the leader writes, one evaluation after another, so rows become visible in `seq`
 * order and "after the last seen" misses none (on PostgreSQL too).
 */
import type { Generated, Kysely } from 'kysely';
import type { StorageHandle } from './storage.ts';

/** rows older than this are deleted: a replica that looked less often reloads anyway (resync) */
export const LIVE_CHANGE_HORIZON_MS = 10 * 60_000;

export interface LiveChangesTable {
  live_changes: { seq: Generated<number>; tenant_id: string; kind: string; cluster_id: string; at: number };
}

export interface LiveChangeRow {
  seq: number;
  tenantId: string;
  kind: string;
  clusterId: string;
}

export interface LiveChangeStore {
  /** the newest row's seq (0 when none): where a reader starts */
  latest(): Promise<number>;
  /** the rows after `seq`, oldest first, at most `limit` */
  since(seq: number, limit: number): Promise<LiveChangeRow[]>;
}

/** Appends changes and deletes those past the horizon, inside the caller's transaction. */
export async function appendLiveChanges(
  trx: unknown,
  rows: readonly { tenantId: string; kind: string; clusterId: string }[],
  at: number,
): Promise<void> {
  if (rows.length === 0) return;
  const db = trx as Kysely<LiveChangesTable>;
  await db
    .deleteFrom('live_changes')
    .where('at', '<', at - LIVE_CHANGE_HORIZON_MS)
    .execute();
  await db
    .insertInto('live_changes')
    .values(rows.map((r) => ({ tenant_id: r.tenantId, kind: r.kind, cluster_id: r.clusterId, at })))
    .execute();
}

export function createLiveChangeStore(handle: StorageHandle): LiveChangeStore {
  const db = handle.db as Kysely<LiveChangesTable>;
  return {
    async latest() {
      const r = await db
        .selectFrom('live_changes')
        .select((eb) => eb.fn.max('seq').as('seq'))
        .executeTakeFirst();
      return Number(r?.seq ?? 0);
    },
    async since(seq, limit) {
      const rows = await db
        .selectFrom('live_changes')
        .select(['seq', 'tenant_id', 'kind', 'cluster_id'])
        .where('seq', '>', seq)
        .orderBy('seq')
        .limit(limit)
        .execute();
      return rows.map((r) => ({
        seq: Number(r.seq),
        tenantId: r.tenant_id,
        kind: r.kind,
        clusterId: r.cluster_id,
      }));
    },
  };
}
