/** The JSON shapes the alert and channel endpoints answer with. */
import type { AlertRow, SilenceRow } from '../storage/alerts.ts';
import { NOTIFIERS } from '../notify/channels/index.ts';
import { redact, withoutUserinfo } from '../notify/http.ts';
import type { Channel } from '../notify/types.ts';

export function alertView(a: AlertRow) {
  return {
    id: a.id,
    rule: a.rule,
    severity: a.severity,
    state: a.state,
    summary: a.summary,
    cluster_id: a.cluster_id,
    cluster_name: a.cluster_name,
    node: a.node,
    vmid: a.vmid,
    started_at: a.started_at,
    resolved_at: a.resolved_at,
    resolve_summary: a.resolve_summary,
    acknowledged_by: a.acknowledged_by,
    acknowledged_at: a.acknowledged_at,
    silenced: a.silenced === 1,
  };
}

export function silenceView(s: SilenceRow) {
  return {
    id: s.id,
    cluster_id: s.cluster_id,
    node: s.node,
    rule: s.rule,
    starts_at: s.starts_at,
    ends_at: s.ends_at,
    comment: s.comment,
    created_by: s.created_by,
    created_at: s.created_at,
  };
}

/** Secrets are never shown back; a Slack/Discord URL is itself a secret, so only its host is shown. */
export function channelView(c: Channel & { createdAt?: string }) {
  const config: Record<string, unknown> = { ...c.config };
  for (const f of NOTIFIERS[c.type].secretFields) {
    if (config[f] === undefined) continue;
    config[f] = f === 'url' ? redact(String(config[f])) : '***';
  }
  // rows stored before user:password@ was refused must not show it
  if (typeof config.url === 'string') config.url = withoutUserinfo(config.url);
  return {
    id: c.id,
    type: c.type,
    name: c.name,
    min_severity: c.minSeverity,
    ...config,
    ...(c.createdAt ? { created_at: c.createdAt } : {}),
  };
}
