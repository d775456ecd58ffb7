/**
 * What one evaluation pass stores (pure): the engine state entries that changed since they were last
 * stored, and for each event its alert row change and the delivery jobs it queues.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { ActiveAlert, AlertEvent, EngineState } from './types.ts';
import type { AlertRow, EvaluationBatch, NewDelivery, SilenceRow } from '../storage/alerts.ts';
import { atLeast, notificationOf } from '../notify/message.ts';
import type { Channel, NotificationState } from '../notify/types.ts';

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

export function restoreEntry(state: EngineState, entry: string, value: string): void {
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

/**
 * The entries to write: only those whose stored text differs (a guest report that changed nothing
 * writes nothing). `after` is what `persisted` becomes once the batch has committed.
 */
export function stateChanges(
  state: EngineState,
  persisted: ReadonlyMap<string, string>,
  entries: Iterable<string>,
): { upserts: { key: string; value: string }[]; deletes: string[]; after: [string, string | undefined][] } {
  const upserts: { key: string; value: string }[] = [];
  const deletes: string[] = [];
  const after: [string, string | undefined][] = [];
  for (const e of entries) {
    const v = entryValue(state, e);
    if (v === undefined) {
      if (!persisted.has(e)) continue;
      deletes.push(e);
      after.push([e, undefined]);
      continue;
    }
    const text = JSON.stringify(v);
    if (persisted.get(e) === text) continue;
    upserts.push({ key: e, value: text });
    after.push([e, text]);
  }
  return { upserts, deletes, after };
}

const silencedAt = (silences: readonly SilenceRow[], e: AlertEvent): boolean => {
  const at = new Date(e.at).toISOString();
  return silences.some(
    (s) =>
      s.starts_at <= at &&
      s.ends_at > at &&
      (s.cluster_id === null || s.cluster_id === e.clusterId || s.cluster_id === e.clusterName) &&
      (s.node === null || s.node === e.node) &&
      (s.rule === null || s.rule === e.rule),
  );
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

/** Adds the alert row changes and delivery jobs of `events` to `batch`. */
export function addEvents(
  batch: EvaluationBatch,
  events: readonly AlertEvent[],
  silences: readonly SilenceRow[],
  channels: readonly (Channel & { createdAt: string })[],
): void {
  const tenantId = batch.tenantId;
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
          e.at,
        ),
      });
      continue;
    }
    const quiet = silencedAt(silences, e);
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
        : deliveries(tenantId, channels, base, e.type === 'notice' ? 'notice' : 'firing', e.at),
    });
  }
}
