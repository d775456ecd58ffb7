/**
 * The alert engine's queue and commit (issue 14): facts wait in `ingest_queue` (written in the
 * ingest transaction), the leader reads them in order, and one transaction stores what evaluating
 * them did — engine state, alert rows, delivery jobs — and takes them off the queue, under the
 * leader's epoch. So a fact is evaluated exactly once, whichever replica dies when.
 */
import type { Kysely } from 'kysely';
import type { RuleId, Severity } from '../alerts/types.ts';
import type { Notification } from '../notify/types.ts';
import { checkEpoch } from './leader.ts';
import type { StorageHandle } from './storage.ts';
import type { IngestQueueTable } from './types.ts';
import { appendLiveChanges } from './live-changes.ts';

/** the queue topic the alert engine reads */
export const ALERTS_TOPIC = 'alerts';
/** the queue body of "a tenant's alert settings changed" (the leader reloads them there) */
export const SETTINGS_CHANGED = '{"kind":"settings"}';

export interface AlertRow {
  id: string;
  tenant_id: string;
  dedup_key: string;
  rule: RuleId;
  severity: Severity;
  /** "firing" | "resolved"; one-shot notices are stored resolved at once */
  state: 'firing' | 'resolved';
  summary: string;
  resolve_summary: string | null;
  cluster_id: string;
  cluster_name: string | null;
  node: string | null;
  vmid: number | null;
  started_at: string;
  resolved_at: string | null;
  acknowledged_by: string | null;
  acknowledged_at: string | null;
  /** 1: it started under a silence, so neither its start nor its end was notified */
  silenced: number;
}

export interface NewDelivery {
  id: string;
  tenantId: string;
  channelId: string;
  alertId: string | null;
  event: string;
  payload: Notification;
  idempotencyKey: string;
  nextAttemptAt: number;
  createdAt: string;
}

export interface EvaluationBatch {
  tenantId: string;
  upserts: { key: string; value: string }[];
  deletes: string[];
  /** inserted unless the id exists; deliveries are queued only for a new row */
  fires: { alert: AlertRow; deliveries: NewDelivery[] }[];
  /** applied only to a firing row; deliveries only when it changed and was not silenced */
  resolves: { id: string; resolvedAt: string; resolveSummary: string; deliveries: NewDelivery[] }[];
}

export interface QueuedFact {
  seq: number;
  tenantId: string;
  body: string;
}

export interface EvaluationCommit {
  batches: readonly EvaluationBatch[];
  /** queue rows this evaluation consumed: deleted here, all of them or the commit fails */
  consumed: readonly number[];
  /** the leader's epoch (storage/leader.ts): the commit fails when a newer leader exists */
  fence?: { name: string; epoch: number };
  /** epoch ms of the evaluation: stamps the dashboard's change feed */
  at: number;
}

export interface EvaluationStore {
  /** adds facts to the alert queue (the ingest path does it in its own transaction instead) */
  enqueue(rows: readonly { tenantId: string; body: string }[]): Promise<void>;
  /** the oldest `limit` queued facts, in order */
  readQueue(limit: number): Promise<QueuedFact[]>;
  commitEvaluation(c: EvaluationCommit): Promise<{ queued: number }>;
}

interface Tables {
  alert_engine_state: { tenant_id: string; key: string; value: string };
  alerts: AlertRow;
  alert_deliveries: {
    id: string;
    tenant_id: string;
    channel_id: string;
    alert_id: string | null;
    event: string;
    payload: string;
    idempotency_key: string;
    status: string;
    attempts: number;
    next_attempt_at: number;
    locked_until: number;
    last_error: string | null;
    created_at: string;
    done_at: string | null;
  };
  ingest_queue: IngestQueueTable;
}

/** rows per multi-row statement: SQLite allows 32766 bound parameters */
const CHUNK = 300;

/**
 * Engine state keys hold NUL ("n:<cluster>\0<node>"), which PostgreSQL's text type refuses; there
 * the key is stored with U+0001 instead (no cluster id or node name holds either). SQLite keeps the
 * key as it is, so state stored before this change still loads.
 */
export function stateKeyCodec(dialect: StorageHandle['dialect']): {
  store(key: string): string;
  load(key: string): string;
} {
  return dialect === 'postgres'
    ? // eslint-disable-next-line no-control-regex -- U+0001 is the stand-in for NUL
      { store: (k) => k.replace(/\0/g, '\u0001'), load: (k) => k.replace(/\u0001/g, '\0') }
    : { store: (k) => k, load: (k) => k };
}

function chunks<T>(xs: readonly T[], n = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

export function createEvaluationStore(handle: StorageHandle): EvaluationStore {
  const db = handle.db as Kysely<Tables>;
  const key = stateKeyCodec(handle.dialect);

  const insertDeliveries = async (trx: Kysely<Tables>, ds: NewDelivery[]): Promise<number> => {
    if (ds.length === 0) return 0;
    await trx
      .insertInto('alert_deliveries')
      .values(
        ds.map((d) => ({
          id: d.id,
          tenant_id: d.tenantId,
          channel_id: d.channelId,
          alert_id: d.alertId,
          event: d.event,
          payload: JSON.stringify(d.payload),
          idempotency_key: d.idempotencyKey,
          status: 'pending',
          attempts: 0,
          next_attempt_at: d.nextAttemptAt,
          locked_until: 0,
          last_error: null,
          created_at: d.createdAt,
          done_at: null,
        })),
      )
      .onConflict((oc) => oc.column('idempotency_key').doNothing())
      .execute();
    return ds.length;
  };

  return {
    async enqueue(rows) {
      for (const c of chunks(rows))
        await db
          .insertInto('ingest_queue')
          .values(c.map((r) => ({ topic: ALERTS_TOPIC, tenant_id: r.tenantId, body: r.body })))
          .execute();
    },

    async readQueue(limit) {
      const rows = await db
        .selectFrom('ingest_queue')
        .select(['seq', 'tenant_id', 'body'])
        .where('topic', '=', ALERTS_TOPIC)
        .orderBy('seq')
        .limit(limit)
        .execute();
      return rows.map((r) => ({ seq: Number(r.seq), tenantId: r.tenant_id, body: r.body }));
    },

    async commitEvaluation(c) {
      return db.transaction().execute(async (trx) => {
        if (c.fence) await checkEpoch(trx, handle.dialect, c.fence.name, c.fence.epoch);
        // On PostgreSQL, rows may become visible out of seq order (transactions commit in any
        // order), so the consumed rows are named one by one, never as "everything up to n".
        let gone = 0;
        for (const part of chunks(c.consumed)) {
          const r = await trx
            .deleteFrom('ingest_queue')
            .where('topic', '=', ALERTS_TOPIC)
            .where('seq', 'in', part)
            .executeTakeFirst();
          gone += Number(r.numDeletedRows);
        }
        if (gone !== c.consumed.length)
          throw new Error(`alert queue: ${c.consumed.length - gone} facts were taken by another evaluator`);
        let queued = 0;
        // tenant + cluster whose alerts this commit fired or resolved: every replica's streams hear it
        const changed = new Map<string, { tenantId: string; kind: string; clusterId: string }>();
        const note = (tenantId: string, clusterId: string) =>
          changed.set(`${tenantId}\0${clusterId}`, { tenantId, kind: 'alert', clusterId });
        for (const b of c.batches) {
          for (const part of chunks(b.upserts))
            await trx
              .insertInto('alert_engine_state')
              .values(part.map((u) => ({ tenant_id: b.tenantId, key: key.store(u.key), value: u.value })))
              .onConflict((oc) =>
                oc.columns(['tenant_id', 'key']).doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })),
              )
              .execute();
          for (const part of chunks(b.deletes))
            await trx
              .deleteFrom('alert_engine_state')
              .where('tenant_id', '=', b.tenantId)
              .where('key', 'in', part.map(key.store))
              .execute();
          for (const f of b.fires) {
            const r = await trx
              .insertInto('alerts')
              .values(f.alert)
              .onConflict((oc) => oc.column('id').doNothing())
              .executeTakeFirst();
            if (Number(r.numInsertedOrUpdatedRows ?? 0) > 0) {
              queued += await insertDeliveries(trx, f.deliveries);
              note(b.tenantId, f.alert.cluster_id);
            }
          }
          for (const r of b.resolves) {
            const row = await trx
              .updateTable('alerts')
              .set({ state: 'resolved', resolved_at: r.resolvedAt, resolve_summary: r.resolveSummary })
              .where('tenant_id', '=', b.tenantId)
              .where('id', '=', r.id)
              .where('state', '=', 'firing')
              .returning(['silenced', 'cluster_id'])
              .executeTakeFirst();
            if (row) note(b.tenantId, row.cluster_id);
            if (row && row.silenced === 0) queued += await insertDeliveries(trx, r.deliveries);
          }
        }
        await appendLiveChanges(trx, [...changed.values()], c.at);
        return { queued };
      });
    },
  };
}
