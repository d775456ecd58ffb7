/** Builds the channel-neutral notification from an alert and the event that changed it. */
import type { ActiveAlert, Severity } from '../alerts/types.ts';
import type { Notification, NotificationState } from './types.ts';

/** A stored alert as notifications see it: the engine's fields, its id instead of the dedup key. */
export interface AlertLike extends Omit<ActiveAlert, 'key'> {
  id: string;
  resolvedAt?: number | undefined;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function notificationOf(a: AlertLike, state: NotificationState, sentAt: number): Notification {
  return {
    alert_id: a.id,
    rule: a.rule,
    severity: a.severity,
    state,
    summary: a.summary,
    cluster: { id: a.clusterId, name: a.clusterName ?? null },
    node: a.node ?? null,
    vmid: a.vmid ?? null,
    started_at: iso(a.startedAt),
    resolved_at: a.resolvedAt !== undefined ? iso(a.resolvedAt) : null,
    sent_at: iso(sentAt),
  };
}

export function testNotification(channelName: string, now: number): Notification {
  return {
    alert_id: 'test',
    rule: 'test',
    severity: 'info',
    state: 'test',
    summary: `Test notification from nannyapi to channel "${channelName}"`,
    cluster: { id: 'test', name: null },
    node: null,
    vmid: null,
    started_at: iso(now),
    resolved_at: null,
    sent_at: iso(now),
  };
}

const RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };
export const atLeast = (s: Severity, min: Severity): boolean => RANK[s] >= RANK[min];
