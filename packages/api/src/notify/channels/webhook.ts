/**
 * Generic webhook: POSTs the notification as JSON. With a secret, `X-Nanny-Signature: sha256=<hex>`
 * is the HMAC-SHA256 of the exact body bytes under that secret. `Idempotency-Key` is the same for
 * every attempt of one delivery.
 */
import { createHmac } from 'node:crypto';
import { httpUrl, post, str } from '../http.ts';
import type { Notifier } from '../types.ts';

export function sign(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export const webhook: Notifier = {
  type: 'webhook',
  fields: [
    { name: 'url', required: true, description: 'http(s) URL the JSON is POSTed to' },
    { name: 'secret', required: false, description: 'HMAC-SHA256 key for X-Nanny-Signature' },
  ],
  secretFields: ['secret'],
  parse(b) {
    const url = httpUrl(b.url);
    if (!url) return { ok: false, errors: ['url: an http(s) URL is required'] };
    if (b.secret !== undefined && typeof b.secret !== 'string')
      return { ok: false, errors: ['secret: must be a string'] };
    const secret = str(b.secret);
    return { ok: true, config: secret ? { url, secret } : { url } };
  },
  async send(config, n, opts) {
    const body = JSON.stringify(n);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'nannyapi',
      'idempotency-key': opts.idempotencyKey,
    };
    const secret = str(config.secret);
    if (secret) headers['x-nanny-signature'] = sign(secret, body);
    await post(String(config.url), body, headers, opts.timeoutMs);
  },
};
