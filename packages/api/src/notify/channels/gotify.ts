/**
 * Gotify: POST <server>/message with the application token in `X-Gotify-Key`. Priority 8 / 5 / 2.
 * `contentType: text/plain` keeps clients from rendering fleet text as markdown.
 */
import { str, title, urlField } from '../http.ts';
import type { ChannelSpec, Notification } from '../types.ts';

const PRIORITY = { critical: 8, warning: 5, info: 2 } as const;

export function gotifyBody(n: Notification): Record<string, unknown> {
  return {
    title: title(n),
    message: n.summary,
    priority: n.state === 'resolved' ? 2 : PRIORITY[n.severity],
    extras: { 'client::display': { contentType: 'text/plain' }, nanny: n },
  };
}

export const gotify: ChannelSpec = {
  type: 'gotify',
  fields: [
    { name: 'url', required: true, description: 'Gotify server URL' },
    { name: 'token', required: true, description: 'application token' },
  ],
  secretFields: ['token'],
  parse(b, out) {
    const u = urlField(b.url, out, 'url', 'the Gotify server URL');
    const token = str(b.token);
    const errors: string[] = [];
    if ('error' in u) errors.push(u.error);
    if (!token) errors.push('token: the application token is required');
    return 'url' in u && token ? { ok: true, config: { url: u.url, token } } : { ok: false, errors };
  },
  async send(config, n, opts, out) {
    const base = String(config.url).replace(/\/+$/, '');
    await out.post(
      `${base}/message`,
      JSON.stringify(gotifyBody(n)),
      { 'content-type': 'application/json', 'x-gotify-key': String(config.token) },
      opts.timeoutMs,
    );
  },
};
