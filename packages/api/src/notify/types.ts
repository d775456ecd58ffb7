/** What a notification is, what a channel is, and the contract of every file in channels/. */
import type { RuleId, Severity } from '../alerts/types.ts';
import type { Outbound } from './outbound.ts';

export type ChannelType = 'webhook' | 'slack' | 'discord' | 'ntfy' | 'gotify' | 'email';
export const CHANNEL_TYPES: readonly ChannelType[] = [
  'webhook',
  'slack',
  'discord',
  'ntfy',
  'gotify',
  'email',
];

/** fire → "firing", resolve → "resolved", one-shot info rules → "notice", test-send → "test". */
export type NotificationState = 'firing' | 'resolved' | 'notice' | 'test';

/** The one message every channel renders; the generic webhook sends it as is (snake_case JSON). */
export interface Notification {
  alert_id: string;
  rule: RuleId | 'test';
  severity: Severity;
  state: NotificationState;
  summary: string;
  cluster: { id: string; name: string | null };
  node: string | null;
  vmid: number | null;
  started_at: string;
  resolved_at: string | null;
  sent_at: string;
}

export type ChannelConfig = Record<string, unknown>;

export interface Channel {
  id: string;
  tenantId: string;
  type: ChannelType;
  name: string;
  config: ChannelConfig;
  /** the least severity this channel is told about */
  minSeverity: Severity;
}

export interface SendOptions {
  /** same for every attempt of one delivery: receivers may deduplicate on it */
  idempotencyKey: string;
  timeoutMs: number;
}

// Catalogued with every other error of the API (errors.ts); re-exported where notifiers look for it.
export { DeliveryError } from '../errors.ts';

export type ParseResult = { ok: true; config: ChannelConfig } | { ok: false; errors: string[] };

/** A channel type as written in channels/: its connections go through the `out` it is handed. */
export interface ChannelSpec {
  type: ChannelType;
  fields: readonly { name: string; required: boolean; description: string }[];
  secretFields: readonly string[];
  parse(body: Record<string, unknown>, out: Outbound): ParseResult;
  send(config: ChannelConfig, n: Notification, opts: SendOptions, out: Outbound): Promise<void>;
}

/** A channel type bound to one app's outbound guard (createNotifiers). */
export interface Notifier {
  type: ChannelType;
  /** the fields a user sets, for docs and the CLI help */
  fields: readonly { name: string; required: boolean; description: string }[];
  /** fields never shown back (listings show "***") */
  secretFields: readonly string[];
  /** validates the channel's fields from a request body */
  parse(body: Record<string, unknown>): ParseResult;
  send(config: ChannelConfig, n: Notification, opts: SendOptions): Promise<void>;
}
