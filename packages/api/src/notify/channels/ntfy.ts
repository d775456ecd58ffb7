/**
 * ntfy: JSON publishing (POST to the server root with `topic` in the body). Priority 5 for critical,
 * 4 for warning, 3 for info and resolves. An access token, if set, goes in `Authorization: Bearer`.
 * `markdown: false`: fleet text is shown as plain text, never rendered (no hidden link targets).
 */
import { oneLine } from '../escape.ts';
import { str, title, urlField } from '../http.ts';
import type { ChannelSpec, Notification } from '../types.ts';

const PRIORITY = { critical: 5, warning: 4, info: 3 } as const;

export function ntfyBody(topic: string, n: Notification): Record<string, unknown> {
  return {
    topic,
    title: title(n),
    message: n.summary,
    markdown: false,
    priority: n.state === 'resolved' ? 3 : PRIORITY[n.severity],
    tags: [
      n.state === 'resolved' ? 'white_check_mark' : n.severity === 'critical' ? 'rotating_light' : 'warning',
      oneLine(n.rule),
    ],
  };
}

export const ntfy: ChannelSpec = {
  type: 'ntfy',
  fields: [
    { name: 'url', required: false, description: 'ntfy server (default https://ntfy.sh)' },
    { name: 'topic', required: true, description: 'topic name' },
    { name: 'token', required: false, description: 'access token' },
  ],
  secretFields: ['token'],
  parse(b, out) {
    const u =
      b.url === undefined ? { url: 'https://ntfy.sh/' } : urlField(b.url, out, 'url', 'an http(s) URL');
    const topic = str(b.topic);
    const errors: string[] = [];
    if ('error' in u) errors.push(u.error);
    if (!topic || !/^[-_A-Za-z0-9]{1,64}$/.test(topic)) errors.push('topic: 1-64 letters, digits, - or _');
    if (errors.length || 'error' in u || !topic) return { ok: false, errors };
    const token = str(b.token);
    return { ok: true, config: token ? { url: u.url, topic, token } : { url: u.url, topic } };
  },
  async send(config, n, opts, out) {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const token = str(config.token);
    if (token) headers.authorization = `Bearer ${token}`;
    await out.post(
      String(config.url),
      JSON.stringify(ntfyBody(String(config.topic), n)),
      headers,
      opts.timeoutMs,
    );
  },
};
