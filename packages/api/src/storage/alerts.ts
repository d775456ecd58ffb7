/**
 * All SQL of the alert engine and notifications (tables of migration 0100_alerts), for SQLite and
 * PostgreSQL. Built with `storage.extend(createAlertStore)`.
 */
import type { SecretBox } from '../auth/secret-box.ts';
import { sql, type Kysely } from 'kysely';
import type { AlertSettings, RuleId, Severity } from '../alerts/types.ts';
import type { DeliveryJob, DeliveryStore } from '../notify/queue.ts';
import type { Channel, ChannelType, Notification } from '../notify/types.ts';
import type { StorageHandle } from './storage.ts';
import type { IngestQueueTable } from './types.ts';
import {
  ALERTS_TOPIC,
  SETTINGS_CHANGED,
  createEvaluationStore,
  stateKeyCodec,
  type AlertRow,
  type EvaluationStore,
} from './alert-evaluation.ts';

export type { AlertRow, EvaluationBatch, NewDelivery, QueuedFact } from './alert-evaluation.ts';

export interface SilenceRow {
  id: string;
  tenant_id: string;
  cluster_id: string | null;
  node: string | null;
  rule: string | null;
  starts_at: string;
  ends_at: string;
  comment: string | null;
  created_by: string | null;
  created_at: string;
}

interface ChannelTable {
  id: string;
  tenant_id: string;
  type: string;
  name: string;
  config: string;
  min_severity: string;
  created_at: string;
}

interface DeliveryTable {
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
}

interface AlertsDatabase {
  alert_engine_state: { tenant_id: string; key: string; value: string };
  alerts: AlertRow;
  alert_silences: SilenceRow;
  alert_settings: { tenant_id: string; settings: string; updated_at: string };
  notification_channels: ChannelTable;
  alert_deliveries: DeliveryTable;
  ingest_queue: IngestQueueTable;
}

export interface DeliveryView {
  id: string;
  channel_id: string;
  alert_id: string | null;
  event: string;
  status: string;
  attempts: number;
  last_error: string | null;
  created_at: string;
  done_at: string | null;
}

export interface AlertListFilter {
  state?: 'firing' | 'resolved' | undefined;
  clusterId?: string | undefined;
  rule?: string | undefined;
  limit: number;
  offset: number;
}

export interface AlertStore extends DeliveryStore, EvaluationStore {
  /** every tenant's engine state entries */
  loadAllState(): Promise<Map<string, { key: string; value: string }[]>>;
  activeSilences(tenantId: string, at: string): Promise<SilenceRow[]>;
  listAlerts(tenantId: string, f: AlertListFilter): Promise<AlertRow[]>;
  getAlert(tenantId: string, id: string): Promise<AlertRow | undefined>;
  acknowledge(tenantId: string, id: string, by: string, at: string): Promise<AlertRow | undefined>;
  createSilence(s: SilenceRow): Promise<void>;
  listSilences(tenantId: string, activeAt?: string): Promise<SilenceRow[]>;
  deleteSilence(tenantId: string, id: string): Promise<boolean>;
  getSettings(tenantId: string): Promise<AlertSettings | undefined>;
  /** also queues a "settings changed" row, so the leader applies them in order with the facts */
  putSettings(tenantId: string, settings: AlertSettings, at: string): Promise<void>;
  /** false when the tenant already has a channel of that name */
  createChannel(c: Channel, createdAt: string): Promise<boolean>;
  listChannels(tenantId: string): Promise<(Channel & { createdAt: string })[]>;
  deleteChannel(tenantId: string, id: string): Promise<boolean>;
  listDeliveries(
    tenantId: string,
    filter: { channelId?: string; alertId?: string; limit: number },
  ): Promise<DeliveryView[]>;
}

function toChannel(r: ChannelTable, box: SecretBox | undefined): Channel & { createdAt: string } {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    type: r.type as ChannelType,
    name: r.name,
    config: JSON.parse(box ? box.open(r.config) : r.config) as Record<string, unknown>,
    minSeverity: r.min_severity as Severity,
    createdAt: r.created_at,
  };
}

/**
 * `box` seals each channel's configuration (its secrets) at rest; a row stored in clear before is
 * sealed the first time it is read.
 */
export function createAlertStore(handle: StorageHandle, box?: SecretBox): AlertStore {
  const db = handle.db as Kysely<AlertsDatabase>;
  const pg = handle.dialect === 'postgres';

  /** migrates channels stored in clear (before sealing existed) to sealed, in place */
  const sealClear = async (rows: ChannelTable[]): Promise<void> => {
    if (!box) return;
    for (const r of rows) {
      if (box.isSealed(r.config)) continue;
      const sealed = box.seal(r.config);
      await db
        .updateTable('notification_channels')
        .set({ config: sealed })
        .where('id', '=', r.id)
        .where('config', '=', r.config)
        .execute();
      r.config = sealed;
    }
  };

  return {
    ...createEvaluationStore(handle),
    async loadAllState() {
      const rows = await db.selectFrom('alert_engine_state').selectAll().execute();
      const key = stateKeyCodec(handle.dialect);
      const out = new Map<string, { key: string; value: string }[]>();
      for (const r of rows) {
        let l = out.get(r.tenant_id);
        if (!l) out.set(r.tenant_id, (l = []));
        l.push({ key: key.load(r.key), value: r.value });
      }
      return out;
    },

    activeSilences(tenantId, at) {
      return db
        .selectFrom('alert_silences')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('starts_at', '<=', at)
        .where('ends_at', '>', at)
        .execute();
    },

    listAlerts(tenantId, f) {
      let q = db.selectFrom('alerts').selectAll().where('tenant_id', '=', tenantId);
      if (f.state) q = q.where('state', '=', f.state);
      if (f.clusterId) q = q.where('cluster_id', '=', f.clusterId);
      if (f.rule) q = q.where('rule', '=', f.rule as RuleId);
      return q.orderBy('started_at', 'desc').orderBy('id').limit(f.limit).offset(f.offset).execute();
    },

    getAlert(tenantId, id) {
      return db
        .selectFrom('alerts')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .executeTakeFirst();
    },

    async acknowledge(tenantId, id, by, at) {
      await db
        .updateTable('alerts')
        .set({ acknowledged_by: by, acknowledged_at: at })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('acknowledged_by', 'is', null)
        .execute();
      return this.getAlert(tenantId, id);
    },

    async createSilence(s) {
      await db.insertInto('alert_silences').values(s).execute();
    },
    listSilences(tenantId, activeAt) {
      let q = db.selectFrom('alert_silences').selectAll().where('tenant_id', '=', tenantId);
      if (activeAt) q = q.where('ends_at', '>', activeAt);
      return q.orderBy('starts_at').execute();
    },
    async deleteSilence(tenantId, id) {
      const r = await db
        .deleteFrom('alert_silences')
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },

    async getSettings(tenantId) {
      const r = await db
        .selectFrom('alert_settings')
        .select('settings')
        .where('tenant_id', '=', tenantId)
        .executeTakeFirst();
      return r ? (JSON.parse(r.settings) as AlertSettings) : undefined;
    },
    async putSettings(tenantId, settings, at) {
      const text = JSON.stringify(settings);
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto('alert_settings')
          .values({ tenant_id: tenantId, settings: text, updated_at: at })
          .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ settings: text, updated_at: at }))
          .execute();
        await trx
          .insertInto('ingest_queue')
          .values({ topic: ALERTS_TOPIC, tenant_id: tenantId, body: SETTINGS_CHANGED })
          .execute();
      });
    },

    async createChannel(c, createdAt) {
      const r = await db
        .insertInto('notification_channels')
        .values({
          id: c.id,
          tenant_id: c.tenantId,
          type: c.type,
          name: c.name,
          config: box ? box.seal(JSON.stringify(c.config)) : JSON.stringify(c.config),
          min_severity: c.minSeverity,
          created_at: createdAt,
        })
        .onConflict((oc) => oc.columns(['tenant_id', 'name']).doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
    },
    async listChannels(tenantId) {
      const rows = await db
        .selectFrom('notification_channels')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .orderBy('name')
        .execute();
      await sealClear(rows);
      return rows.map((r) => toChannel(r, box));
    },
    async getChannel(tenantId, id) {
      const r = await db
        .selectFrom('notification_channels')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .executeTakeFirst();
      if (r) await sealClear([r]);
      return r ? toChannel(r, box) : undefined;
    },
    async deleteChannel(tenantId, id) {
      return db.transaction().execute(async (trx) => {
        const r = await trx
          .deleteFrom('notification_channels')
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id)
          .executeTakeFirst();
        // Only when this tenant's channel went: another tenant's id must not fail its deliveries.
        if (Number(r.numDeletedRows) === 0) return false;
        await trx
          .updateTable('alert_deliveries')
          .set({ status: 'failed', last_error: 'channel deleted' })
          .where('tenant_id', '=', tenantId)
          .where('channel_id', '=', id)
          .where('status', 'in', ['pending', 'sending'])
          .execute();
        return true;
      });
    },

    async listDeliveries(tenantId, f) {
      let q = db
        .selectFrom('alert_deliveries')
        .select([
          'id',
          'channel_id',
          'alert_id',
          'event',
          'status',
          'attempts',
          'last_error',
          'created_at',
          'done_at',
        ])
        .where('tenant_id', '=', tenantId);
      if (f.channelId) q = q.where('channel_id', '=', f.channelId);
      if (f.alertId) q = q.where('alert_id', '=', f.alertId);
      return q.orderBy('created_at', 'desc').limit(f.limit).execute();
    },

    // ------------------------------------------------------------------ the delivery queue
    async claimDeliveries(now, limit, leaseMs) {
      // PostgreSQL: replicas claim concurrently, SKIP LOCKED hands each job to one of them.
      // SQLite has one writer at a time, so the UPDATE … RETURNING alone is the claim.
      const lock = pg ? sql`for update skip locked` : sql``;
      const rows = await sql<DeliveryTable>`
        update alert_deliveries set status = 'sending', locked_until = ${now + leaseMs}
        where id in (
          select id from alert_deliveries
          where (status = 'pending' and next_attempt_at <= ${now})
             or (status = 'sending' and locked_until <= ${now})
          order by next_attempt_at
          limit ${limit}
          ${lock}
        )
        returning *`.execute(db);
      return rows.rows.map((r): DeliveryJob => ({
        id: r.id,
        tenantId: r.tenant_id,
        channelId: r.channel_id,
        attempts: Number(r.attempts),
        idempotencyKey: r.idempotency_key,
        payload: JSON.parse(r.payload) as Notification,
      }));
    },
    async completeDelivery(id, now) {
      await db
        .updateTable('alert_deliveries')
        .set((eb) => ({
          status: 'done',
          done_at: new Date(now).toISOString(),
          attempts: eb('attempts', '+', 1),
          last_error: null,
        }))
        .where('id', '=', id)
        .execute();
    },
    async retryDelivery(id, attempts, nextAt, error) {
      await db
        .updateTable('alert_deliveries')
        .set({
          status: 'pending',
          attempts,
          next_attempt_at: nextAt,
          locked_until: 0,
          last_error: error.slice(0, 1000),
        })
        .where('id', '=', id)
        .execute();
    },
    async failDelivery(id, attempts, error, now) {
      await db
        .updateTable('alert_deliveries')
        .set({
          status: 'failed',
          attempts,
          last_error: error.slice(0, 1000),
          done_at: new Date(now).toISOString(),
        })
        .where('id', '=', id)
        .execute();
    },
  };
}
