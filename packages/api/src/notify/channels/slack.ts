/**
 * Slack incoming webhook: `text` (shown in notifications) plus one coloured attachment with the
 * details. Every text from the fleet is mrkdwn-escaped (escape.ts), so a guest named `<!channel>`
 * is shown, not obeyed.
 */
import { slackText } from '../escape.ts';
import { RESOLVED_COLOR, SEVERITY_COLOR, title, urlField } from '../http.ts';
import type { ChannelSpec, Notification } from '../types.ts';

const hex = (c: number): string => `#${c.toString(16).padStart(6, '0')}`;

export function slackBody(n: Notification): Record<string, unknown> {
  const fields = [
    { title: 'Cluster', value: slackText(n.cluster.name ?? n.cluster.id), short: true },
    ...(n.node ? [{ title: 'Node', value: slackText(n.node), short: true }] : []),
    { title: 'Severity', value: n.severity, short: true },
    { title: 'Started', value: n.started_at, short: true },
    ...(n.resolved_at ? [{ title: 'Resolved', value: n.resolved_at, short: true }] : []),
  ];
  return {
    text: `${title(n)}: ${slackText(n.summary)}`,
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

export const slack: ChannelSpec = {
  type: 'slack',
  fields: [{ name: 'url', required: true, description: 'Slack incoming-webhook URL' }],
  secretFields: ['url'],
  parse(b, out) {
    const u = urlField(b.url, out, 'url', 'the Slack webhook URL');
    return 'error' in u ? { ok: false, errors: [u.error] } : { ok: true, config: { url: u.url } };
  },
  async send(config, n, opts, out) {
    await out.post(
      String(config.url),
      JSON.stringify(slackBody(n)),
      { 'content-type': 'application/json' },
      opts.timeoutMs,
    );
  },
};
