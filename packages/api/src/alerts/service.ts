/**
 * The alert lifecycle around the pure engine: one engine state per tenant, kept in memory and in the
 * database; evaluation on every ingest and on a timer; alerts firing → resolved; silences;
 * notifications queued in the same transaction as the change that caused them.
 *
 * Persistence rule: state entries touched by an evaluation that produced events are written in the
 * same transaction as those events (so a restart neither repeats nor loses a notification); entries
 * touched by quiet evaluations (a node's "last seen", a threshold's pending start) are written within
 * `flushMs`, in order behind them, and always on stop().
 */
import { backoffMs } from '../backoff.ts';
import { createHash, randomUUID } from 'node:crypto';
import { evaluate } from './engine.ts';
import { factFromPayload, type IngestKind } from './facts.ts';
import { createState } from './state.ts';
import type { ActiveAlert, AlertEvent, AlertSettings, EngineState, Fact } from './types.ts';
import type { AlertRow, AlertStore, EvaluationBatch, NewDelivery, SilenceRow } from '../storage/alerts.ts';
import { createNotifiers, type Notifiers } from '../notify/channels/index.ts';
import { createDeliveryWorker, type DeliveryWorker, type DeliveryWorkerOptions } from '../notify/queue.ts';
import { atLeast, notificationOf } from '../notify/message.ts';
import type { Channel, NotificationState } from '../notify/types.ts';

export interface AlertServiceOptions {
  store: AlertStore;
  now?: () => number;
  log?: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /** timer for silence and elapsed-time rules (default 10 s) */
  tickMs?: number;
  /** quiet state changes are written within this (default 1 s) */
  flushMs?: number;
  /** settings for tenants that stored none */
  defaultSettings?: AlertSettings;
  /** the channel senders (createNotifiers with the app's allow-list); default: internal addresses refused */
  notifiers?: Notifiers;
  worker?: Partial<Omit<DeliveryWorkerOptions, 'store' | 'notifiers'>>;
}

export interface IngestInput {
  tenantId: string;
  kind: IngestKind;
  clusterId: string;
  payload: unknown;
  /** ISO-8601 or epoch ms */
  receivedAt: string | number;
  /** what ingest computed beyond the report (storage: days_until_full) */
  derived?: Record<string, unknown> | undefined;
  /** the fleet events of this report: a guest `gone` retires the guest */
  events?: readonly {
    subject: string;
    type: string;
    cluster_id: string | null;
    data: Record<string, unknown> | null;
  }[];
}

export interface AlertService {
  readonly worker: DeliveryWorker;
  /** the channel senders the worker uses (the test endpoint uses the same) */
  readonly notifiers: Notifiers;
  start(): Promise<void>;
  stop(): Promise<void>;
  onIngest(r: IngestInput): Promise<void>;
  /** runs the timer rules now (the timer calls this) */
  tick(): Promise<void>;
  /** waits until everything evaluated so far is committed */
  flush(): Promise<void>;
  settingsChanged(tenantId: string, settings: AlertSettings): void;
  /** the state of one tenant, for diagnostics */
  stats(): { tenants: number; nodes: number; active: number };
}

interface Tenant {
  state: EngineState;
  settings: AlertSettings;
  dirty: Set<string>;
}

/** One id per (tenant, dedup key, start): the fire and the resolve of one alert agree on it without a lookup. */
export function alertId(tenantId: string, key: string, startedAt: number): string {
  return createHash('sha256').update(`${tenantId}\n${key}\n${startedAt}`).digest('hex').slice(0, 32);
}

function entryValue(state: EngineState, entry: string): unknown {
  const k = entry.slice(2);
  switch (entry.slice(0, 2)) {
    case 'c:':
      return state.clusters.get(k);
    case 'n:':
      return state.nodes.get(k);
    case 'g:':
      return state.guests.get(k);
    case 'a:':
      return state.active.get(k);
    default:
      return undefined;
  }
}

function restore(state: EngineState, entry: string, value: string): void {
  const k = entry.slice(2);
  const v: unknown = JSON.parse(value);
  switch (entry.slice(0, 2)) {
    case 'c:':
      state.clusters.set(k, v as EngineState['clusters'] extends Map<string, infer T> ? T : never);
      break;
    case 'n:':
      state.nodes.set(k, v as EngineState['nodes'] extends Map<string, infer T> ? T : never);
      break;
    case 'g:':
      state.guests.set(k, v as EngineState['guests'] extends Map<string, infer T> ? T : never);
      break;
    case 'a:':
      state.active.set(k, v as ActiveAlert);
      break;
  }
}

const silenced = (silences: SilenceRow[], e: AlertEvent): boolean =>
  silences.some(
    (s) =>
      (s.cluster_id === null || s.cluster_id === e.clusterId || s.cluster_id === e.clusterName) &&
      (s.node === null || s.node === e.node) &&
      (s.rule === null || s.rule === e.rule),
  );

export function createAlertService(o: AlertServiceOptions): AlertService {
  const now = o.now ?? Date.now;
  const store = o.store;
  const tenants = new Map<string, Tenant>();
  const notifiers = o.notifiers ?? createNotifiers({ allowedNetworks: [] });
  const worker = createDeliveryWorker({
    store,
    notifiers,
    now,
    ...(o.log ? { log: o.log } : {}),
    ...o.worker,
  });
  let chain: Promise<void> = Promise.resolve();
  let loaded: Promise<void> | undefined;
  let tickTimer: NodeJS.Timeout | undefined;
  let flushTimer: NodeJS.Timeout | undefined;

  const enqueue = (step: () => Promise<void>): Promise<void> => {
    const p = chain.then(step);
    chain = p.catch((err: unknown) => o.log?.error({ err }, 'alert persistence failed'));
    return p;
  };

  async function load(): Promise<void> {
    const all = await store.loadAllState();
    for (const [tenantId, entries] of all) {
      const state = createState();
      for (const e of entries) restore(state, e.key, e.value);
      // The silence clock restarts with the server: while it was down no agent could report, and
      // that is not the agents' fault. A silent agent whose alert already fired stays firing.
      const started = now();
      for (const n of state.nodes.values())
        if (n.lastSeen !== undefined && n.lastSeen < started) n.lastSeen = started;
      tenants.set(tenantId, { state, settings: o.defaultSettings ?? {}, dirty: new Set() });
    }
    for (const [tenantId, t] of tenants)
      t.settings = (await store.getSettings(tenantId)) ?? o.defaultSettings ?? {};
  }

  async function tenant(tenantId: string): Promise<Tenant> {
    await (loaded ??= load());
    let t = tenants.get(tenantId);
    if (!t) {
      const settings = (await store.getSettings(tenantId)) ?? o.defaultSettings ?? {};
      t = tenants.get(tenantId); // another call may have created it meanwhile
      if (!t) tenants.set(tenantId, (t = { state: createState(), settings, dirty: new Set() }));
    }
    return t;
  }

  const snapshot = (t: Tenant, entries: Iterable<string>) => {
    const upserts: { key: string; value: string }[] = [];
    const deletes: string[] = [];
    for (const e of entries) {
      const v = entryValue(t.state, e);
      if (v === undefined) deletes.push(e);
      else upserts.push({ key: e, value: JSON.stringify(v) });
    }
    return { upserts, deletes };
  };

  function deliveries(
    tenantId: string,
    channels: readonly Channel[],
    alert: Parameters<typeof notificationOf>[0],
    state: NotificationState,
    at: number,
  ): NewDelivery[] {
    const event = state === 'resolved' ? 'resolve' : state === 'notice' ? 'notice' : 'fire';
    const payload = notificationOf(alert, state, at);
    return channels
      .filter((c) => atLeast(alert.severity, c.minSeverity))
      .map((c) => ({
        id: randomUUID(),
        tenantId,
        channelId: c.id,
        alertId: alert.id,
        event,
        payload,
        idempotencyKey: `${alert.id}:${event}:${c.id}`,
        nextAttemptAt: at,
        createdAt: new Date(at).toISOString(),
      }));
  }

  /** Records what one evaluation did: events now (same transaction as their state), quiet changes later. */
  function record(
    tenantId: string,
    t: Tenant,
    events: AlertEvent[],
    changed: Set<string>,
    at: number,
  ): Promise<void> {
    if (events.length === 0) {
      for (const c of changed) t.dirty.add(c);
      return Promise.resolve();
    }
    for (const c of changed) t.dirty.add(c);
    const { upserts, deletes } = snapshot(t, t.dirty);
    t.dirty.clear();
    return enqueue(async () => {
      const iso = new Date(at).toISOString();
      const [silences, channels] = await Promise.all([
        store.activeSilences(tenantId, iso),
        store.listChannels(tenantId),
      ]);
      const batch: EvaluationBatch = { tenantId, upserts, deletes, fires: [], resolves: [] };
      for (const e of events) {
        const id = alertId(tenantId, e.key, e.startedAt);
        const base = {
          id,
          rule: e.rule,
          severity: e.severity,
          summary: e.summary,
          clusterId: e.clusterId,
          clusterName: e.clusterName,
          node: e.node,
          vmid: e.vmid,
          startedAt: e.startedAt,
        };
        if (e.type === 'resolve') {
          batch.resolves.push({
            id,
            resolvedAt: new Date(e.at).toISOString(),
            resolveSummary: e.summary,
            // A channel added after the alert started never heard of it: no orphan resolve there.
            deliveries: deliveries(
              tenantId,
              channels.filter((c) => Date.parse(c.createdAt) <= e.startedAt),
              { ...base, resolvedAt: e.at },
              'resolved',
              at,
            ),
          });
          continue;
        }
        const quiet = silenced(silences, e);
        const row: AlertRow = {
          id,
          tenant_id: tenantId,
          dedup_key: e.key,
          rule: e.rule,
          severity: e.severity,
          state: e.type === 'notice' ? 'resolved' : 'firing',
          summary: e.summary,
          resolve_summary: null,
          cluster_id: e.clusterId,
          cluster_name: e.clusterName ?? null,
          node: e.node ?? null,
          vmid: e.vmid ?? null,
          started_at: new Date(e.startedAt).toISOString(),
          resolved_at: e.type === 'notice' ? new Date(e.at).toISOString() : null,
          acknowledged_by: null,
          acknowledged_at: null,
          silenced: quiet ? 1 : 0,
        };
        batch.fires.push({
          alert: row,
          deliveries: quiet
            ? []
            : deliveries(tenantId, channels, base, e.type === 'notice' ? 'notice' : 'firing', at),
        });
      }
      const { queued } = await applyWithRetry(batch);
      if (queued > 0) worker.kick();
    });
  }

  /**
   * The in-memory state has already moved on, so a lost batch would lose its notification and later
   * its resolve: retry a passing failure (SQLITE_BUSY past busy_timeout, a PostgreSQL failover).
   * Batches are idempotent (alert ids and idempotency keys are deterministic), so a retry of one
   * that did commit changes nothing.
   */
  async function applyWithRetry(batch: EvaluationBatch): Promise<{ queued: number }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await store.applyEvaluation(batch);
      } catch (err) {
        if (attempt >= 4) throw err;
        o.log?.warn({ err, attempt }, 'alert batch not stored; retrying');
        await new Promise((r) => setTimeout(r, backoffMs(attempt, 1000, 8000)));
      }
    }
  }

  async function flushDirty(): Promise<void> {
    for (const [tenantId, t] of tenants) {
      if (t.dirty.size === 0) continue;
      const { upserts, deletes } = snapshot(t, t.dirty);
      t.dirty.clear();
      void enqueue(() =>
        store.applyEvaluation({ tenantId, upserts, deletes, fires: [], resolves: [] }).then(() => undefined),
      );
    }
    await chain;
  }

  function run(tenantId: string, t: Tenant, fact: Fact, at: number): Promise<void> {
    const r = evaluate(t.state, fact, at, t.settings);
    return record(tenantId, t, r.events, r.changed, at);
  }

  return {
    worker,
    notifiers,
    async start() {
      await (loaded ??= load());
      tickTimer = setInterval(() => void this.tick(), o.tickMs ?? 10_000);
      tickTimer.unref();
      flushTimer = setInterval(() => void flushDirty(), o.flushMs ?? 1_000);
      flushTimer.unref();
      worker.start();
      worker.kick();
    },
    async stop() {
      if (tickTimer) clearInterval(tickTimer);
      if (flushTimer) clearInterval(flushTimer);
      tickTimer = flushTimer = undefined;
      await flushDirty();
      await worker.stop();
    },
    async onIngest(r) {
      const t = await tenant(r.tenantId);
      const at = typeof r.receivedAt === 'number' ? r.receivedAt : Date.parse(r.receivedAt);
      const fact = factFromPayload(r.kind, r.clusterId, r.payload, Number.isNaN(at) ? now() : at, r.derived);
      const done = [run(r.tenantId, t, fact, fact.at)];
      for (const ev of r.events ?? []) {
        const vmid = ev.data?.vmid;
        if (ev.subject === 'guest' && ev.type === 'gone' && typeof vmid === 'number')
          done.push(
            run(
              r.tenantId,
              t,
              { kind: 'guest_gone', clusterId: ev.cluster_id ?? r.clusterId, vmid, at: fact.at },
              fact.at,
            ),
          );
      }
      await Promise.all(done);
    },
    async tick() {
      await (loaded ??= load());
      const at = now();
      const pending: Promise<void>[] = [];
      for (const [tenantId, t] of tenants) pending.push(run(tenantId, t, { kind: 'tick', at }, at));
      await Promise.all(pending);
    },
    flush: flushDirty,
    settingsChanged(tenantId, settings) {
      const t = tenants.get(tenantId);
      if (t) t.settings = settings;
    },
    stats() {
      let nodes = 0;
      let active = 0;
      for (const t of tenants.values()) {
        nodes += t.state.nodes.size;
        active += t.state.active.size;
      }
      return { tenants: tenants.size, nodes, active };
    },
  };
}
