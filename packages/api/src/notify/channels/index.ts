/** Every channel type, once. A new type is a file in this folder plus one line here. */
import { createOutbound, type Outbound, type OutboundOptions } from '../outbound.ts';
import type { ChannelSpec, ChannelType, Notifier } from '../types.ts';
import { discord } from './discord.ts';
import { email } from './email.ts';
import { gotify } from './gotify.ts';
import { ntfy } from './ntfy.ts';
import { slack } from './slack.ts';
import { webhook } from './webhook.ts';

/** The channel types' descriptions (fields, secret fields); sending needs createNotifiers. */
export const NOTIFIERS: Readonly<Record<ChannelType, ChannelSpec>> = {
  webhook,
  slack,
  discord,
  ntfy,
  gotify,
  email,
};

export type Notifiers = Readonly<Record<ChannelType, Notifier>>;

/**
 * The channel types bound to one outbound guard: every connection they make is checked against
 * `allowedNetworks` (NANNYAPI_ALLOWED_CHANNEL_NETWORKS). One per app; tests pass their own
 * `resolve` to map names to addresses without DNS.
 */
export function createNotifiers(o: OutboundOptions | { outbound: Outbound }): Notifiers {
  const out = 'outbound' in o ? o.outbound : createOutbound(o);
  const bind = (s: ChannelSpec): Notifier => ({
    type: s.type,
    fields: s.fields,
    secretFields: s.secretFields,
    parse: (body) => s.parse(body, out),
    send: (config, n, opts) => s.send(config, n, opts, out),
  });
  return {
    webhook: bind(webhook),
    slack: bind(slack),
    discord: bind(discord),
    ntfy: bind(ntfy),
    gotify: bind(gotify),
    email: bind(email),
  };
}
