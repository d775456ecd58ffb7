/** Discord webhook: one embed, coloured by severity (green when resolved). Discord answers 204. */
import { RESOLVED_COLOR, SEVERITY_COLOR, httpUrl, post, title } from '../http.ts';
import type { Notification, Notifier } from '../types.ts';

export function discordBody(n: Notification): Record<string, unknown> {
  const fields = [
    { name: 'Cluster', value: n.cluster.name ?? n.cluster.id, inline: true },
    ...(n.node ? [{ name: 'Node', value: n.node, inline: true }] : []),
    { name: 'Started', value: n.started_at, inline: true },
    ...(n.resolved_at ? [{ name: 'Resolved', value: n.resolved_at, inline: true }] : []),
  ];
  return {
    username: 'nannyapi',
    embeds: [
      {
        title: title(n),
        // Discord limits an embed description to 4096 characters.
        description: n.summary.slice(0, 4000),
        color: n.state === 'resolved' ? RESOLVED_COLOR : SEVERITY_COLOR[n.severity],
        timestamp: n.sent_at,
        fields,
      },
    ],
  };
}

export const discord: Notifier = {
  type: 'discord',
  fields: [{ name: 'url', required: true, description: 'Discord webhook URL' }],
  secretFields: ['url'],
  parse(b) {
    const url = httpUrl(b.url);
    return url
      ? { ok: true, config: { url } }
      : { ok: false, errors: ['url: the Discord webhook URL is required'] };
  },
  async send(config, n, opts) {
    await post(
      String(config.url),
      JSON.stringify(discordBody(n)),
      { 'content-type': 'application/json' },
      opts.timeoutMs,
    );
  },
};
