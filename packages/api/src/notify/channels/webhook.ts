/**
 * Generic webhook: POSTs the notification as JSON. With a secret, `X-Nanny-Signature: sha256=<hex>`
 * is the HMAC-SHA256 of the exact body bytes under that secret. `Idempotency-Key` is the same for
 * every attempt of one delivery. The JSON is data, not markup: nothing is escaped.
 */
import { createHmac } from 'node:crypto';
import { str, urlField } from '../http.ts';
import type { ChannelSpec } from '../types.ts';

export function sign(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export const webhook: ChannelSpec = {
  type: 'webhook',
  fields: [
    { name: 'url', required: true, description: 'http(s) URL the JSON is POSTed to' },
    { name: 'secret', required: false, description: 'HMAC-SHA256 key for X-Nanny-Signature' },
  ],
  secretFields: ['secret'],
  parse(b, out) {
    const u = urlField(b.url, out, 'url', 'an http(s) URL');
    if ('error' in u) return { ok: false, errors: [u.error] };
    if (b.secret !== undefined && typeof b.secret !== 'string')
      return { ok: false, errors: ['secret: must be a string'] };
    const secret = str(b.secret);
    return { ok: true, config: secret ? { url: u.url, secret } : { url: u.url } };
  },
  async send(config, n, opts, out) {
    const body = JSON.stringify(n);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'nannyapi',
      'idempotency-key': opts.idempotencyKey,
    };
    const secret = str(config.secret);
    if (secret) headers['x-nanny-signature'] = sign(secret, body);
    await out.post(String(config.url), body, headers, opts.timeoutMs);
  },
};
