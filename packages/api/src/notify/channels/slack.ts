/** Slack incoming webhook: `text` (shown in notifications) plus one coloured attachment with the details. */
import { RESOLVED_COLOR, SEVERITY_COLOR, httpUrl, post, title } from '../http.ts';
import type { Notification, Notifier } from '../types.ts';

const hex = (c: number): string => `#${c.toString(16).padStart(6, '0')}`;

export function slackBody(n: Notification): Record<string, unknown> {
  const fields = [
    { title: 'Cluster', value: n.cluster.name ?? n.cluster.id, short: true },
    ...(n.node ? [{ title: 'Node', value: n.node, short: true }] : []),
    { title: 'Severity', value: n.severity, short: true },
    { title: 'Started', value: n.started_at, short: true },
    ...(n.resolved_at ? [{ title: 'Resolved', value: n.resolved_at, short: true }] : []),
  ];
  return {
    text: `${title(n)}: ${n.summary}`,
    attachments: [
      {
        color: hex(n.state === 'resolved' ? RESOLVED_COLOR : SEVERITY_COLOR[n.severity]),
        fields,
        footer: 'nannyapi',
        ts: Math.floor(Date.parse(n.sent_at) / 1000),
      },
    ],
  };
}

export const slack: Notifier = {
  type: 'slack',
  fields: [{ name: 'url', required: true, description: 'Slack incoming-webhook URL' }],
  secretFields: ['url'],
  parse(b) {
    const url = httpUrl(b.url);
    return url
      ? { ok: true, config: { url } }
      : { ok: false, errors: ['url: the Slack webhook URL is required'] };
  },
  async send(config, n, opts) {
    await post(
      String(config.url),
      JSON.stringify(slackBody(n)),
      { 'content-type': 'application/json' },
      opts.timeoutMs,
    );
  },
};
