/**
 * Discord webhook: one embed, coloured by severity (green when resolved). Discord answers 204.
 * Fleet text is markdown-escaped and `allowed_mentions` is empty, so no name can ping anyone.
 */
import { discordText } from '../escape.ts';
import { RESOLVED_COLOR, SEVERITY_COLOR, title, urlField } from '../http.ts';
import type { ChannelSpec, Notification } from '../types.ts';

export function discordBody(n: Notification): Record<string, unknown> {
  const fields = [
    { name: 'Cluster', value: discordText(n.cluster.name ?? n.cluster.id).slice(0, 1000), inline: true },
    ...(n.node ? [{ name: 'Node', value: discordText(n.node).slice(0, 1000), inline: true }] : []),
    { name: 'Started', value: n.started_at, inline: true },
    ...(n.resolved_at ? [{ name: 'Resolved', value: n.resolved_at, inline: true }] : []),
  ];
  return {
    username: 'nannyapi',
    allowed_mentions: { parse: [] },
    embeds: [
      {
        title: title(n),
        // Discord limits an embed description to 4096 characters (escaping may double the length).
        description: discordText(n.summary.slice(0, 2000)),
        color: n.state === 'resolved' ? RESOLVED_COLOR : SEVERITY_COLOR[n.severity],
        timestamp: n.sent_at,
        fields,
      },
    ],
  };
}

export const discord: ChannelSpec = {
  type: 'discord',
  fields: [{ name: 'url', required: true, description: 'Discord webhook URL' }],
  secretFields: ['url'],
  parse(b, out) {
    const u = urlField(b.url, out, 'url', 'the Discord webhook URL');
    return 'error' in u ? { ok: false, errors: [u.error] } : { ok: true, config: { url: u.url } };
  },
  async send(config, n, opts, out) {
    await out.post(
      String(config.url),
      JSON.stringify(discordBody(n)),
      { 'content-type': 'application/json' },
      opts.timeoutMs,
    );
  },
};
