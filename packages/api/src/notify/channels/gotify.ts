/** Gotify: POST <server>/message with the application token in `X-Gotify-Key`. Priority 8 / 5 / 2. */
import { httpUrl, post, str, title } from '../http.ts';
import type { Notification, Notifier } from '../types.ts';

const PRIORITY = { critical: 8, warning: 5, info: 2 } as const;

export function gotifyBody(n: Notification): Record<string, unknown> {
  return {
    title: title(n),
    message: n.summary,
    priority: n.state === 'resolved' ? 2 : PRIORITY[n.severity],
    extras: { 'client::display': { contentType: 'text/plain' }, nanny: n },
  };
}

export const gotify: Notifier = {
  type: 'gotify',
  fields: [
    { name: 'url', required: true, description: 'Gotify server URL' },
    { name: 'token', required: true, description: 'application token' },
  ],
  secretFields: ['token'],
  parse(b) {
    const url = httpUrl(b.url);
    const token = str(b.token);
    const errors: string[] = [];
    if (!url) errors.push('url: the Gotify server URL is required');
    if (!token) errors.push('token: the application token is required');
    return url && token ? { ok: true, config: { url, token } } : { ok: false, errors };
  },
  async send(config, n, opts) {
    const base = String(config.url).replace(/\/+$/, '');
    await post(
      `${base}/message`,
      JSON.stringify(gotifyBody(n)),
      { 'content-type': 'application/json', 'x-gotify-key': String(config.token) },
      opts.timeoutMs,
    );
  },
};
